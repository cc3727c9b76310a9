/**
 * Fused pair statistics: equality rules, mixed dtypes, the byte-identical fast path.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { PAIR_WIDTH, PairSlot, STATS_WIDTH, StatsSlot, type RawTensorRef } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { bf16Bits, expectClose, expectStatsClose, f16Bits, gaussian, ref, refPair, refStats, rng } from './helpers.js';

const levels = addon().simdLevels();
afterAll(() => addon().setSimdLevel(levels.at(-1)!));

function pairOf(a: RawTensorRef, b: RawTensorRef, epsilon = 0): Float64Array {
  const out = new Float64Array(PAIR_WIDTH);
  addon().pairSync([{ a, b, epsilon }], out);
  return out;
}

const P = 2 * STATS_WIDTH;
const f32 = (xs: number[]) => new Float32Array(xs);

function checkAll(a: RawTensorRef, b: RawTensorRef, va: number[], vb: number[], epsilon: number, identical = 0, tol = 1e-12) {
  for (const level of levels) {
    addon().setSimdLevel(level);
    const out = pairOf(a, b, epsilon);
    expectStatsClose(out.subarray(0, STATS_WIDTH), refStats(va), tol, `A at ${level}`);
    expectStatsClose(out.subarray(STATS_WIDTH, P), refStats(vb), tol, `B at ${level}`);
    // Signed sums relative to the data's scale (docs/native.md): sum D to sum |D|, A.B to ||A|| ||B||.
    const want = refPair(va, vb, epsilon, identical);
    const wa = refStats(va),
      wb = refStats(vb);
    want.forEach((w, slot) => {
      const floor = slot === PairSlot.diffSum ? want[PairSlot.sumAbs] : slot === PairSlot.dot ? wa[StatsSlot.l2] * wb[StatsSlot.l2] : 1e-300;
      expectClose([out[P + slot]], [w], tol, floor, `pair at ${level} slot ${slot}`);
    });
  }
}

describe('pair: equality rules', () => {
  it('-0 equals +0', () => {
    const out = pairOf(ref(f32([-0, 0, 1]), 'F32'), ref(f32([0, -0, 1]), 'F32'));
    expect(out[P + PairSlot.changed]).toBe(0);
    expect(out[P + PairSlot.bothFinite]).toBe(3);
    expect(out[P + PairSlot.identical]).toBe(0); // different bytes
  });

  it('NaN equals NaN at the same position; infinities equal only with the same sign', () => {
    const a = [NaN, Infinity, -Infinity, Infinity, 1, NaN, 2];
    const b = [NaN, Infinity, -Infinity, -Infinity, NaN, 1, Infinity];
    for (const level of levels) {
      addon().setSimdLevel(level);
      const out = pairOf(ref(f32(a), 'F32'), ref(f32(b), 'F32'));
      // changed: Inf vs -Inf, 1 vs NaN, NaN vs 1, 2 vs Inf
      expect(out[P + PairSlot.changed]).toBe(4);
      // new non-finite: 1 -> NaN, 2 -> Inf
      expect(out[P + PairSlot.newNonFinite]).toBe(2);
      expect(out[P + PairSlot.bothFinite]).toBe(0);
      expect(out[P + PairSlot.maxAbs]).toBe(0);
      expect(out[StatsSlot.nan]).toBe(2);
      expect(out[StatsSlot.inf]).toBe(3);
      expect(out[STATS_WIDTH + StatsSlot.nan]).toBe(2);
      expect(out[STATS_WIDTH + StatsSlot.inf]).toBe(4);
    }
  });

  it('counts |B - A| > epsilon, compared exactly against the float64 epsilon', () => {
    const a = f32([0, 0, 0, 0, 1]);
    const b = f32([0.1, 0.25, -0.3, 0.05, 1]);
    const va = Array.from(a),
      vb = Array.from(b);
    checkAll(ref(a, 'F32'), ref(b, 'F32'), va, vb, 0.25);
    // float32(0.1) = 0.10000000149 > 0.1: changed at epsilon 0.1 even though float32(0.1) == it.
    for (const level of levels) {
      addon().setSimdLevel(level);
      expect(pairOf(ref(a, 'F32'), ref(b, 'F32'), 0.1)[P + PairSlot.changed]).toBe(3);
      expect(pairOf(ref(a, 'F32'), ref(b, 'F32'), 0)[P + PairSlot.changed]).toBe(4);
    }
  });

  it('computes every pair slot on random data (all levels, odd length, unaligned)', () => {
    const g = gaussian(rng(7));
    const n = 9001;
    const a = new Float32Array(n).map(() => g());
    const b = a.map((x, i) => (i % 3 === 0 ? x + 0.01 * g() : x));
    checkAll(ref(a, 'F32', n, 3), ref(b, 'F32', n, 1), Array.from(a), Array.from(b), 0, 0, 2e-7);
  });
});

describe('pair: mixed dtypes', () => {
  // Exactly representable in F16 and BF16.
  const values = [1, -2, 0.5, 0, 3.25, -0.125, 96, -7];
  const shifted = values.map((v, i) => (i % 2 ? v : v + 0.5));
  it('F32 vs F16 and F16 vs F32', () => {
    const a = ref(f32(values), 'F32');
    const b = ref(new Uint16Array(shifted.map(f16Bits)), 'F16');
    checkAll(a, b, values, shifted, 0);
    checkAll(b, a, shifted, values, 0);
  });
  it('F32 vs BF16', () => {
    checkAll(ref(f32(values), 'F32'), ref(new Uint16Array(shifted.map(bf16Bits)), 'BF16'), values, shifted, 0);
  });
  it('F16 vs BF16', () => {
    checkAll(ref(new Uint16Array(values.map(f16Bits)), 'F16'), ref(new Uint16Array(shifted.map(bf16Bits)), 'BF16'), values, shifted, 0);
  });
  it('F8_E5M2 vs F32 (decoded side)', () => {
    const bytes = new Uint8Array([0x3c, 0xc0, 0x38, 0x00]); // 1, -2, 0.5, 0
    checkAll(ref(bytes, 'F8_E5M2'), ref(f32([1, -2, 1, 0]), 'F32'), [1, -2, 0.5, 0], [1, -2, 1, 0], 0);
  });
  it('I8 vs F32 and F64 vs F32 (float64 path)', () => {
    checkAll(ref(new Int8Array([1, -2, 3, 0]), 'I8'), ref(f32([1, -2, 3.5, 0]), 'F32'), [1, -2, 3, 0], [1, -2, 3.5, 0], 0);
    const d = new Float64Array([0.1, 0.2, NaN, 1e30]);
    checkAll(ref(d, 'F64'), ref(f32([0.1, 0.2, NaN, 1]), 'F32'), Array.from(d), Array.from(f32([0.1, 0.2, NaN, 1])), 0);
  });
  it('Q8_0 vs F32', () => {
    const block = new Uint8Array(34);
    const scale = f16Bits(0.25);
    block[0] = scale & 0xff;
    block[1] = scale >> 8;
    const q = Array.from({ length: 32 }, (_, i) => i - 10);
    q.forEach((v, i) => (block[2 + i] = v & 0xff));
    const va = q.map((v) => v * 0.25);
    const vb = va.map((v, i) => (i === 5 ? v + 1 : v));
    const r = ref(block, 'Q8_0', 32);
    checkAll(r, ref(f32(vb), 'F32'), va, vb, 0);
  });
});

describe('pair: byte-identical fast path', () => {
  it('detects identical ranges and credits stats(A) to B', () => {
    const g = gaussian(rng(3));
    const n = 100_003;
    const a = new Float32Array(n).map(() => g());
    a[17] = NaN;
    a[5000] = -Infinity;
    a[6000] = 0;
    for (const level of levels) {
      addon().setSimdLevel(level);
      const out = pairOf(ref(a, 'F32'), ref(a.slice(), 'F32', n, 2));
      const sa = out.subarray(0, STATS_WIDTH);
      expect(Array.from(out.subarray(STATS_WIDTH, P))).toEqual(Array.from(sa));
      expect(out[P + PairSlot.identical]).toBe(1);
      expect(out[P + PairSlot.bothFinite]).toBe(sa[StatsSlot.finite]);
      for (const s of [PairSlot.diffSq, PairSlot.diffSum, PairSlot.maxAbs, PairSlot.sumAbs, PairSlot.changed, PairSlot.newNonFinite]) {
        expect(out[P + s]).toBe(0);
      }
      // dot = sum a^2 over finite a, so the cosine is 1.
      expect(out[P + PairSlot.dot]).toBeCloseTo(sa[StatsSlot.l2] ** 2, 6);
      expectStatsClose(sa, refStats(Array.from(a)), 2e-7, level);
    }
  });

  it('reports not identical when one element in the middle differs, with exact counts', () => {
    const n = 300_000;
    const a = new Uint16Array(n).map((_, i) => f16Bits(Math.sin(i)));
    const b = a.slice();
    b[123_456] = f16Bits(5);
    const out = pairOf(ref(a, 'F16'), ref(b, 'F16'));
    expect(out[P + PairSlot.identical]).toBe(0);
    expect(out[P + PairSlot.changed]).toBe(1);
    expect(out[P + PairSlot.bothFinite]).toBe(n);
    expect(out[STATS_WIDTH + StatsSlot.max]).toBe(5);
  });

  it('gives identical = 0 for equal values of different dtypes', () => {
    const out = pairOf(ref(f32([1, 2]), 'F32'), ref(new Uint16Array([f16Bits(1), f16Bits(2)]), 'F16'));
    expect(out[P + PairSlot.identical]).toBe(0);
    expect(out[P + PairSlot.changed]).toBe(0);
  });

  it('handles empty tensors', () => {
    const out = pairOf(ref(f32([]), 'F32'), ref(f32([]), 'F32'));
    expect(out[P + PairSlot.identical]).toBe(1);
    expect(out[P + PairSlot.bothFinite]).toBe(0);
    expect(out[StatsSlot.count]).toBe(0);
  });

  it('async pair resolves with the same numbers as pairSync', async () => {
    const a = f32([1, 2, 3, 4]);
    const b = f32([1, 2.5, 3, -4]);
    const out = new Float64Array(PAIR_WIDTH * 2);
    await addon().pair(
      [
        { a: ref(a, 'F32'), b: ref(b, 'F32'), epsilon: 0 },
        { a: ref(b, 'F32'), b: ref(a, 'F32'), epsilon: 1 },
      ],
      out,
    );
    expect(Array.from(out.subarray(0, PAIR_WIDTH))).toEqual(Array.from(pairOf(ref(a, 'F32'), ref(b, 'F32'))));
    expect(Array.from(out.subarray(PAIR_WIDTH))).toEqual(Array.from(pairOf(ref(b, 'F32'), ref(a, 'F32'), 1)));
  });
});
