/**
 * The `gram` kernel of the spectral step: M^T (M v) against a float64 reference for every fused
 * dtype and the reference path, at every SIMD level, with NaN / Inf read as 0; a job gives the same
 * bits alone or batched, sync or async; argument errors.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { RawGramJob, RawTensorRef } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { bf16Bits, bf16ToNumber, f16Bits, f16ToNumber, gaussian, ref, rng } from './helpers.js';

/** M^T (M v) in float64, non-finite elements as 0. */
function refGram(x: ArrayLike<number>, rows: number, cols: number, v: Float64Array): Float64Array {
  const out = new Float64Array(cols);
  const at = (r: number, c: number) => (Number.isFinite(x[r * cols + c]) ? x[r * cols + c] : 0);
  for (let r = 0; r < rows; r++) {
    let t = 0;
    for (let c = 0; c < cols; c++) t += at(r, c) * v[c];
    for (let c = 0; c < cols; c++) out[c] += t * at(r, c);
  }
  return out;
}

/** A matrix in every dtype the kernel reads, with one NaN and one -Inf row element when it has > 4 rows. */
function matrices(rows: number, cols: number, seed: number): { ref: RawTensorRef; values: number[]; dtype: string }[] {
  const g = gaussian(rng(seed));
  const x = Array.from({ length: rows * cols }, () => g());
  if (rows > 4) {
    x[2 * cols + (cols >> 1)] = NaN;
    x[3 * cols] = -Infinity;
  }
  const f32 = Float32Array.from(x);
  const f16 = Uint16Array.from(x, f16Bits);
  const bf16 = Uint16Array.from(f32, (v) => (Number.isNaN(v) ? 0x7fc0 : bf16Bits(v)));
  const f64 = Float64Array.from(x);
  const i8 = Int8Array.from(x, (v) => (Number.isFinite(v) ? Math.max(-127, Math.min(127, Math.round(v * 40))) : 0));
  return [
    { ref: ref(f32, 'F32', undefined, 3), values: Array.from(f32), dtype: 'F32' },
    { ref: ref(f16, 'F16', undefined, 1), values: Array.from(f16, f16ToNumber), dtype: 'F16' },
    { ref: ref(bf16, 'BF16', undefined, 1), values: Array.from(bf16, bf16ToNumber), dtype: 'BF16' },
    { ref: ref(f64, 'F64'), values: Array.from(f64), dtype: 'F64' },
    { ref: ref(i8, 'I8'), values: Array.from(i8), dtype: 'I8' },
  ];
}

const before = addon().simdLevel();
afterEach(() => addon().setSimdLevel(before));

describe('gram', () => {
  it.each([
    [1, 1],
    [3, 17],
    [8, 8],
    [13, 33],
    [37, 100],
    [200, 7],
  ])('matches M^T (M v) in float64 for a %i x %i matrix of every dtype at every level', (rows, cols) => {
    const v = Float64Array.from({ length: cols }, gaussian(rng(rows * 31 + cols)));
    for (const m of matrices(rows, cols, rows + cols)) {
      const want = refGram(m.values, rows, cols, v);
      const scale = Math.max(...Array.from(want, Math.abs));
      for (const level of addon().simdLevels()) {
        addon().setSimdLevel(level);
        const out = new Float64Array(cols + 1).fill(7);
        addon().gramSync([{ ref: m.ref, rows, cols, v }], out);
        for (let c = 0; c < cols; c++) expect(Math.abs(out[c] - want[c]), `${m.dtype} ${level} [${c}]`).toBeLessThanOrEqual(1e-13 * scale);
        expect(out[cols]).toBe(7); // nothing written past the jobs' outputs
      }
    }
  });

  it('gives a job the same bits alone or in a batch, sync or async, on repeated calls', async () => {
    const native = addon();
    const g = gaussian(rng(5));
    // 12.6 MB of F32: split into row ranges; plus small jobs
    const big = { rows: 4099, cols: 770 };
    const bigData = Float32Array.from({ length: big.rows * big.cols }, () => g());
    const jobs: RawGramJob[] = [
      { ref: ref(bigData, 'F32'), rows: big.rows, cols: big.cols, v: Float64Array.from({ length: big.cols }, () => g()) },
      ...[5, 9, 40].map((n) => ({ ref: ref(Float32Array.from({ length: n * 6 }, () => g()), 'F32'), rows: n, cols: 6, v: Float64Array.from({ length: 6 }, () => g()) })),
    ];
    const total = jobs.reduce((s, j) => s + j.cols, 0);
    const batched = new Float64Array(total);
    await native.gram(jobs, batched);
    const again = new Float64Array(total);
    native.gramSync(jobs, again);
    expect(again).toEqual(batched);
    let offset = 0;
    for (const job of jobs) {
      const alone = new Float64Array(job.cols);
      await native.gram([job], alone);
      expect(Array.from(alone)).toEqual(Array.from(batched.subarray(offset, offset + job.cols)));
      offset += job.cols;
    }
  });

  it('reports progress over the whole call and accepts no jobs', async () => {
    const native = addon();
    const x = new Float32Array(3000 * 1000).fill(0.5);
    const seen: [number, number][] = [];
    const out = new Float64Array(2000);
    const v = new Float64Array(1000).fill(1);
    await native.gram(
      [
        { ref: ref(x, 'F32'), rows: 3000, cols: 1000, v },
        { ref: ref(x, 'F32'), rows: 3000, cols: 1000, v },
      ],
      out,
      { onProgress: (done, total) => seen.push([done, total]) },
    );
    expect(seen.at(-1)).toEqual([2 * x.byteLength, 2 * x.byteLength]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
    // every row . v = 500, so each column gets 3000 * 500 * 0.5
    expect(out[0]).toBe(750000);
    expect(out[1999]).toBe(750000);
    await native.gram([], new Float64Array(0));
  });

  it('rejects a v of the wrong length and a shape that does not match the count', async () => {
    const native = addon();
    const x = new Float32Array(12);
    expect(() => native.gramSync([{ ref: ref(x, 'F32'), rows: 3, cols: 4, v: new Float64Array(3) }], new Float64Array(4))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('jobs[0].v must be a Float64Array of cols = 4') }),
    );
    await expect(native.gram([{ ref: ref(x, 'F32'), rows: 5, cols: 4, v: new Float64Array(4) }], new Float64Array(4))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining('rows * cols (5 * 4) must equal the element count 12'),
    });
    expect(() => native.gramSync([{ ref: ref(x, 'F32'), rows: 3, cols: 4, v: new Float64Array(4) }], new Float64Array(3))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });
});
