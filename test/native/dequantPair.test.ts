/**
 * dequantPair: pair statistics of dequantized values against float64 references, for the
 * conventions users have (per-channel int8 with a scale tensor, TF.js uint8 q * scale + min, torch
 * affine (q - zero_point) * scale along an inner axis), plus argument validation.
 */
import { describe, expect, it } from 'vitest';

import { PAIR_WIDTH, PairSlot, STATS_WIDTH } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { expectClose, expectStatsClose, gaussian, ref, refPair, refStats, rng } from './helpers.js';

const P = 2 * STATS_WIDTH;

function check(out: Float64Array, a: number[], b: number[], tol = 1e-12) {
  expectStatsClose(out.subarray(0, STATS_WIDTH), refStats(a), tol, 'A');
  expectStatsClose(out.subarray(STATS_WIDTH, P), refStats(b), tol, 'B');
  expectClose(out.subarray(P, PAIR_WIDTH), refPair(a, b, 0), tol, 1e-300, 'pair');
}

describe('dequantPair', () => {
  it('per-channel symmetric int8 along axis 0 of [rows, cols] (offset 0)', async () => {
    const g = gaussian(rng(7));
    const rows = 37;
    const cols = 301; // 11,137 elements: several kernel pieces, a partial last piece
    const w = Array.from({ length: rows * cols }, () => g() * 0.05);
    const scale = new Float64Array(rows);
    const q = new Int8Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(w[r * cols + c]));
      scale[r] = m / 127;
      for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w[r * cols + c] / scale[r]);
    }
    const deq = Array.from(q, (v, i) => v * scale[Math.floor(i / cols)]);
    const out = new Float64Array(PAIR_WIDTH);
    await addon().dequantPair(
      [{ a: ref(new Float64Array(w), 'F64'), b: ref(q, 'I8'), bAffine: { outer: 1, n: rows, inner: cols, scale, offset: new Float64Array(rows) }, epsilon: 0 }],
      out,
    );
    check(out, w, deq);
    expect(out[P + PairSlot.identical]).toBe(0);
    // the rounding error of symmetric int8 is at most half a step per element
    expect(out[P + PairSlot.maxAbs]).toBeLessThanOrEqual(Math.max(...scale) / 2 + 1e-15);
  });

  it('TF.js uint8: q * scale + min, per tensor (n = 1), with a float32 original and NaN/Inf in A', async () => {
    const q = new Uint8Array([0, 1, 2, 128, 255, 7, 9, 200]);
    const scale = 0.013;
    const min = -1.7;
    const deq = Array.from(q, (v) => v * scale + min);
    const a = new Float32Array(deq.map((x, i) => x + (i % 3 === 0 ? 0.001 : -0.002)));
    a[5] = NaN;
    a[6] = Infinity;
    const out = new Float64Array(PAIR_WIDTH);
    await addon().dequantPair(
      [{ a: ref(a, 'F32'), b: ref(q, 'U8', undefined, 3), bAffine: { outer: 1, n: 1, inner: 8, scale: new Float64Array([scale]), offset: new Float64Array([min]) }, epsilon: 0 }],
      out,
    );
    check(out, Array.from(a), deq);
    expect(out[P + PairSlot.bothFinite]).toBe(6);
  });

  it('torch affine per channel along an inner axis of [outer, n, inner]; A side coded too', async () => {
    const outer = 3;
    const n = 4;
    const inner = 5;
    const g = gaussian(rng(3));
    const zp = [3, -2, 0, 10];
    const s = [0.1, 0.02, 0.5, 0.003];
    const qa = new Int32Array(outer * n * inner).map(() => Math.round(g() * 40));
    const qb = new Uint8Array(outer * n * inner).map(() => Math.floor(Math.abs(g()) * 100));
    const ch = (i: number) => Math.floor(i / inner) % n;
    const va = Array.from(qa, (v, i) => (v - zp[ch(i)]) * s[ch(i)]);
    const vb = Array.from(qb, (v) => v * 0.25 + 1);
    const out = new Float64Array(PAIR_WIDTH);
    await addon().dequantPair(
      [
        {
          a: ref(qa, 'I32'),
          aAffine: { outer, n, inner, scale: Float64Array.from(s), offset: Float64Array.from(s, (x, c) => -zp[c] * x) },
          b: ref(qb, 'U8'),
          bAffine: { outer: 1, n: 1, inner: outer * n * inner, scale: new Float64Array([0.25]), offset: new Float64Array([1]) },
          epsilon: 0,
        },
      ],
      out,
    );
    check(out, va, vb);
  });

  it('without an affine map it equals the plain pair kernel', async () => {
    const g = gaussian(rng(11));
    const a = new Float32Array(10_000).map(() => g());
    const b = a.map((x) => x + 1e-3 * g());
    const out = new Float64Array(PAIR_WIDTH);
    const want = new Float64Array(PAIR_WIDTH);
    await addon().dequantPair([{ a: ref(a, 'F32'), b: ref(b, 'F32'), epsilon: 0 }], out);
    await addon().pair([{ a: ref(a, 'F32'), b: ref(b, 'F32'), epsilon: 0 }], want);
    expectStatsClose(out.subarray(0, STATS_WIDTH), want.subarray(0, STATS_WIDTH), 2e-7, 'A');
    expectStatsClose(out.subarray(STATS_WIDTH, P), want.subarray(STATS_WIDTH, P), 2e-7, 'B');
    for (const slot of [PairSlot.bothFinite, PairSlot.diffSq, PairSlot.dot, PairSlot.maxAbs, PairSlot.sumAbs, PairSlot.changed]) {
      expectClose([out[P + slot]], [want[P + slot]], 2e-7, 0, `pair slot ${slot}`);
    }
    // a signed sum is compared relative to the sum of magnitudes
    expectClose([out[P + PairSlot.diffSum]], [want[P + PairSlot.diffSum]], 2e-7, want[P + PairSlot.sumAbs], 'diffSum');
  });

  it('is deterministic over a tensor of several chunks', async () => {
    const n = 3_000_000;
    const q = new Int8Array(n).map((_, i) => ((i * 7919) % 255) - 127);
    const a = new Float32Array(n).map((_, i) => q[i] * 0.01 + Math.sin(i) * 1e-3);
    const job = { a: ref(a, 'F32'), b: ref(q, 'I8'), bAffine: { outer: 1, n: 1, inner: n, scale: new Float64Array([0.01]), offset: new Float64Array([0]) }, epsilon: 0 };
    const o1 = new Float64Array(PAIR_WIDTH);
    const o2 = new Float64Array(PAIR_WIDTH);
    await addon().dequantPair([job], o1);
    await addon().dequantPair([job], o2);
    expect(Array.from(o1)).toEqual(Array.from(o2));
    expect(o1[P + PairSlot.bothFinite]).toBe(n);
  });

  it('rejects a bad affine map', async () => {
    const q = new Int8Array(6);
    const a = new Float32Array(6);
    const out = new Float64Array(PAIR_WIDTH);
    await expect(
      addon().dequantPair([{ a: ref(a, 'F32'), b: ref(q, 'I8'), bAffine: { outer: 1, n: 4, inner: 2, scale: new Float64Array(4), offset: new Float64Array(4) }, epsilon: 0 }], out),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(
      addon().dequantPair([{ a: ref(a, 'F32'), b: ref(q, 'I8'), bAffine: { outer: 1, n: 2, inner: 3, scale: new Float64Array(3), offset: new Float64Array(2) }, epsilon: 0 }], out),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(
      addon().dequantPair([{ a: ref(a, 'F32'), b: ref(q, 'I8'), bAffine: { outer: 1, n: 1, inner: 6, scale: new Float64Array([NaN]), offset: new Float64Array(1) }, epsilon: 0 }], out),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(addon().dequantPair([{ a: ref(a, 'F32'), b: ref(new Int8Array(5), 'I8'), epsilon: 0 }], out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
