/**
 * trajectory, axisNorms and matmul against float64 JavaScript references.
 */
import { describe, expect, it } from 'vitest';

import { addon } from '../../lib/native/loadAddon.js';
import { expectClose, f16Bits, f16ToNumber, gaussian, ref, rng } from './helpers.js';

const g = gaussian(rng(42));
const randF32 = (n: number) => new Float32Array(n).map(() => g());

describe('trajectory', () => {
  it('computes consecutive-update dots over all-finite positions', async () => {
    const n = 50_001;
    const x0 = randF32(n);
    const x1 = x0.map((v) => v + 0.1 * g());
    const x2 = x1.map((v) => v + 0.1 * g());
    x1[10] = NaN;
    x2[20] = Infinity;
    let dot = 0,
      s01 = 0,
      s12 = 0,
      cnt = 0;
    for (let i = 0; i < n; i++) {
      if (![x0[i], x1[i], x2[i]].every(Number.isFinite)) continue;
      const u = x1[i] - x0[i],
        v = x2[i] - x1[i];
      dot += u * v;
      s01 += u * u;
      s12 += v * v;
      cnt++;
    }
    const out = new Float64Array(8);
    const small = [new Float32Array([1, 2]), new Float32Array([2, 4]), new Float32Array([1, 5])];
    await addon().trajectory(
      [
        { x0: ref(x0, 'F32'), x1: ref(x1, 'F32', n, 1), x2: ref(x2, 'F32') },
        { x0: ref(small[0], 'F32'), x1: ref(small[1], 'F32'), x2: ref(small[2], 'F32') },
      ],
      out,
    );
    expectClose(out.subarray(0, 4), [dot, s01, s12, cnt], 1e-12, Math.sqrt(s01 * s12));
    // (1)(-1) + (2)(1) = 1; 1 + 4 = 5; 1 + 1 = 2; 2 positions
    expect(Array.from(out.subarray(4))).toEqual([1, 5, 2, 2]);
  });

  it('accepts mixed dtypes', async () => {
    const out = new Float64Array(4);
    await addon().trajectory(
      [{ x0: ref(new Float32Array([0, 0]), 'F32'), x1: ref(new Uint16Array([f16Bits(1), f16Bits(2)]), 'F16'), x2: ref(new Float64Array([3, 2]), 'F64') }],
      out,
    );
    expect(Array.from(out)).toEqual([1 * 2 + 2 * 0, 1 + 4, 4 + 0, 2]);
  });
});

function refAxisNorms(x: ArrayLike<number>, outer: number, n: number, inner: number): number[] {
  const s = new Array<number>(n).fill(0);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < inner; j++) {
        const v = x[(o * n + i) * inner + j];
        if (Number.isFinite(v)) s[i] += v * v;
      }
  return s.map(Math.sqrt);
}

describe('axisNorms', () => {
  const shapes: [number, number, number][] = [
    [1, 7, 5], // PyTorch Linear [out=7, in=5]
    [1, 300, 4096], // long rows: split over i
    [60, 50, 1], // TF HWIO-like [H*W*I, O]: split over outer with partials
    [3000, 64, 3], // many small slices
    [2, 40000, 2], // long slices with outer > 1
    [5, 0, 3], // empty
  ];
  for (const [outer, n, inner] of shapes) {
    it(`[${outer}, ${n}, ${inner}]`, async () => {
      const count = outer * n * inner;
      const x = randF32(count);
      if (count > 10) x[3] = NaN;
      const out = new Float64Array(n + 2);
      out.fill(-1);
      await addon().axisNorms([{ ref: ref(x, 'F32', count, 2), outer, n, inner }], out);
      expectClose(out.subarray(0, n), refAxisNorms(x, outer, n, inner), 1e-12, 0, `[${outer},${n},${inner}]`);
      expect(out[n]).toBe(-1); // nothing written past the job's n values
    });
  }

  it('concatenates several jobs and reads F16', async () => {
    const a = randF32(12);
    const h = new Uint16Array(6).map((_, i) => f16Bits(i - 2.5));
    const out = new Float64Array(3 + 2);
    await addon().axisNorms(
      [
        { ref: ref(a, 'F32'), outer: 1, n: 3, inner: 4 },
        { ref: ref(h, 'F16'), outer: 3, n: 2, inner: 1 },
      ],
      out,
    );
    expectClose(out.subarray(0, 3), refAxisNorms(a, 1, 3, 4), 1e-12);
    expectClose(out.subarray(3), refAxisNorms(Array.from(h, f16ToNumber), 3, 2, 1), 1e-12);
  });
});

function refMatmul(m: ArrayLike<number>, rows: number, cols: number, x: Float64Array, k: number, transpose: boolean): number[] {
  const mv = (r: number, c: number) => {
    const v = m[r * cols + c];
    return Number.isFinite(v) ? v : 0;
  };
  if (!transpose) {
    const out = new Array<number>(rows * k).fill(0);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) for (let j = 0; j < k; j++) out[r * k + j] += mv(r, c) * x[c * k + j];
    return out;
  }
  const out = new Array<number>(k * cols).fill(0);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) for (let j = 0; j < k; j++) out[j * cols + c] += x[r * k + j] * mv(r, c);
  return out;
}

describe('matmul', () => {
  const cases: [number, number, number][] = [
    [7, 5, 1],
    [7, 5, 3],
    [64, 40000, 1], // long rows: column split when transposed
    [3000, 33, 4], // short rows: row split with partials
    [1, 1, 1],
  ];
  for (const [rows, cols, k] of cases) {
    for (const transpose of [false, true]) {
      it(`[${rows}, ${cols}] k=${k} transpose=${transpose}, M = B - A`, async () => {
        const a = randF32(rows * cols);
        const b = a.map((v) => v + g());
        b[0] = NaN; // M[0, 0] reads as 0
        const m = Array.from(b, (v, i) => v - a[i]);
        const x = new Float64Array((transpose ? rows : cols) * k).map(() => g());
        const out = new Float64Array((transpose ? cols : rows) * k);
        await addon().matmul({ a: ref(a, 'F32'), b: ref(b, 'F32', rows * cols, 3), rows, cols, x, k, transpose }, out);
        const want = refMatmul(m, rows, cols, x, k, transpose);
        const norm = Math.sqrt(want.reduce((s, v) => s + v * v, 0) / Math.max(1, want.length));
        expectClose(out, want, 1e-12, norm);
        const sync = new Float64Array(out.length);
        addon().matmulSync({ a: ref(a, 'F32'), b: ref(b, 'F32'), rows, cols, x, k, transpose }, sync);
        expect(Array.from(sync)).toEqual(Array.from(out));
      });
    }
  }

  it('M = A alone, I8 and F16 inputs', async () => {
    const a = new Int8Array([1, -2, 3, 4, 5, -6]);
    const x = new Float64Array([1, 0.5, -1]);
    const out = new Float64Array(2);
    await addon().matmul({ a: ref(a, 'I8'), rows: 2, cols: 3, x, k: 1, transpose: false }, out);
    expect(Array.from(out)).toEqual([1 - 1 - 3, 4 + 2.5 + 6]);
    const h = new Uint16Array([1, 2, 3, 4].map(f16Bits));
    const o2 = new Float64Array(2);
    addon().matmulSync({ a: ref(h, 'F16'), rows: 2, cols: 2, x: new Float64Array([1, 1]), k: 1, transpose: true }, o2);
    expect(Array.from(o2)).toEqual([4, 6]);
  });

  it('rejects shape mismatches', async () => {
    const a = randF32(6);
    await expect(addon().matmul({ a: ref(a, 'F32'), rows: 4, cols: 2, x: new Float64Array(2), k: 1, transpose: false }, new Float64Array(4))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(addon().matmul({ a: ref(a, 'F32'), rows: 2, cols: 3, x: new Float64Array(2), k: 1, transpose: false }, new Float64Array(2))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
