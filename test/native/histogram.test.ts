/**
 * histogram: counts per bin of x or |x| over [lo, hi), with the counts below, above and non-finite,
 * for every dtype path, against a JavaScript reference.
 */
import { describe, expect, it } from 'vitest';

import { addon } from '../../lib/native/loadAddon.js';
import { f16Bits, f16ToNumber, gaussian, ref, rng } from './helpers.js';

function refHist(x: ArrayLike<number>, lo: number, hi: number, bins: number, abs: boolean): number[] {
  const out = new Array<number>(bins + 3).fill(0);
  const w = (hi - lo) / bins;
  for (let i = 0; i < x.length; i++) {
    let v = x[i];
    if (!Number.isFinite(v)) {
      out[bins + 2]++;
      continue;
    }
    if (abs) v = Math.abs(v);
    if (v < lo) out[bins]++;
    else if (v >= hi) out[bins + 1]++;
    else out[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return out;
}

describe('histogram', () => {
  it('counts |x| of a Gaussian in units of its RMS: the first 0.1-RMS bin holds about erf(0.1/sqrt 2) = 7.97 %', async () => {
    const g = gaussian(rng(5));
    const n = 400_000;
    const x = new Float32Array(n).map(() => g());
    x[17] = NaN;
    x[18] = -Infinity;
    let sq = 0;
    for (const v of x) if (Number.isFinite(v)) sq += v * v;
    const rms = Math.sqrt(sq / (n - 2));
    const out = new Float64Array(43);
    await addon().histogram([{ ref: ref(x, 'F32'), lo: 0, hi: 4 * rms, bins: 40, abs: true }], out);
    expect(Array.from(out)).toEqual(refHist(x, 0, 4 * rms, 40, true));
    expect(out[42]).toBe(2);
    expect(out[0] / (n - 2)).toBeCloseTo(0.0797, 2);
  });

  it('signed values, several jobs and dtypes (F16, I8, F64) with values on the range edges', async () => {
    const h = Uint16Array.from([-2, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3].map(f16Bits));
    const i8 = Int8Array.from([-128, -5, 0, 5, 127]);
    const f64 = Float64Array.from([1e-300, 0.25, 0.75, 1]);
    const out = new Float64Array(4 + 3 + 2 + 3 + 4 + 3);
    await addon().histogram(
      [
        { ref: ref(h, 'F16'), lo: -1, hi: 2, bins: 4 },
        { ref: ref(i8, 'I8'), lo: -10, hi: 10, bins: 2 },
        { ref: ref(f64, 'F64'), lo: 0, hi: 1, bins: 4, abs: true },
      ],
      out,
    );
    const hv = Array.from(h, f16ToNumber);
    expect(Array.from(out.subarray(0, 7))).toEqual(refHist(hv, -1, 2, 4, false));
    expect(Array.from(out.subarray(0, 7))).toEqual([2, 1, 2, 1, 1, 2, 0]);
    expect(Array.from(out.subarray(7, 12))).toEqual([1, 2, 1, 1, 0]);
    expect(Array.from(out.subarray(12))).toEqual([1, 1, 0, 1, 0, 1, 0]);
  });

  it('is deterministic and chunk-order independent over a large tensor', async () => {
    const n = 3_000_001;
    const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.37));
    const o1 = new Float64Array(13);
    await addon().histogram([{ ref: ref(x, 'F32'), lo: -1, hi: 1, bins: 10 }], o1);
    expect(Array.from(o1)).toEqual(refHist(x, -1, 1, 10, false));
  });

  it('rejects bad ranges and bin counts', async () => {
    const x = new Float32Array(4);
    const out = new Float64Array(100);
    await expect(addon().histogram([{ ref: ref(x, 'F32'), lo: 1, hi: 1, bins: 4 }], out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(addon().histogram([{ ref: ref(x, 'F32'), lo: 0, hi: NaN, bins: 4 }], out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(addon().histogram([{ ref: ref(x, 'F32'), lo: 0, hi: 1, bins: 0 }], out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(addon().histogram([{ ref: ref(x, 'F32'), lo: 0, hi: 1, bins: 200 }], new Float64Array(5))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
