/**
 * Per-tensor statistics: known answers for every slot and every dtype, on tiny inputs.
 */
import { describe, expect, it } from 'vitest';

import { STATS_WIDTH, StatsSlot } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { type DType } from '../../lib/formats/dtype.js';
import { bf16Bits, expectStatsClose, f16Bits, f16ToNumber, ref, refStats } from './helpers.js';

function statsOf(r: ReturnType<typeof ref>): Float64Array {
  const out = new Float64Array(STATS_WIDTH);
  addon().statsSync([r], out);
  return out;
}

function e4m3ToNumber(v: number): number {
  const sign = v & 0x80 ? -1 : 1;
  const exp = (v >> 3) & 15;
  const mant = v & 7;
  if (exp === 15 && mant === 7) return NaN;
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

describe('stats: every slot on a small F32 tensor', () => {
  it('matches the hand-computed answer', () => {
    const out = statsOf(ref(new Float32Array([1, 2, 3, -4, 0, NaN, Infinity]), 'F32'));
    expect(out[StatsSlot.count]).toBe(7);
    expect(out[StatsSlot.finite]).toBe(5);
    expect(out[StatsSlot.mean]).toBeCloseTo(0.4, 14);
    expect(out[StatsSlot.std]).toBeCloseTo(Math.sqrt(5.84), 14);
    expect(out[StatsSlot.min]).toBe(-4);
    expect(out[StatsSlot.max]).toBe(3);
    expect(out[StatsSlot.absMax]).toBe(4);
    expect(out[StatsSlot.l1]).toBe(10);
    expect(out[StatsSlot.l2]).toBeCloseTo(Math.sqrt(30), 14);
    expect(out[StatsSlot.zeros]).toBe(1);
    expect(out[StatsSlot.nan]).toBe(1);
    expect(out[StatsSlot.inf]).toBe(1);
    expect(out[StatsSlot.sum]).toBe(2);
  });

  it('gives NaN moments for empty tensors and tensors without finite elements', () => {
    const empty = statsOf(ref(new Float32Array(0), 'F32'));
    expect(Array.from(empty.subarray(0, 2))).toEqual([0, 0]);
    expect(empty[StatsSlot.zeros]).toBe(0);
    expect(empty[StatsSlot.mean]).toBeNaN();
    expect(empty[StatsSlot.sum]).toBeNaN();
    const bad = statsOf(ref(new Float32Array([NaN, -Infinity, Infinity]), 'F32'));
    expect([bad[StatsSlot.count], bad[StatsSlot.finite], bad[StatsSlot.nan], bad[StatsSlot.inf]]).toEqual([3, 0, 1, 2]);
    for (const s of [StatsSlot.mean, StatsSlot.std, StatsSlot.min, StatsSlot.max, StatsSlot.absMax, StatsSlot.l1, StatsSlot.l2, StatsSlot.sum]) {
      expect(bad[s]).toBeNaN();
    }
  });

  it('counts -0 as a zero', () => {
    const out = statsOf(ref(new Float32Array([-0, 0, 1]), 'F32'));
    expect(out[StatsSlot.zeros]).toBe(2);
  });
});

interface Case {
  dtype: DType;
  data: ArrayBufferView;
  values: number[];
  count?: number;
}

const q8Block = (scaleBits: number, qs: number[]): Uint8Array => {
  const b = new Uint8Array(34);
  b[0] = scaleBits & 0xff;
  b[1] = scaleBits >> 8;
  for (let i = 0; i < 32; i++) b[2 + i] = qs[i] & 0xff;
  return b;
};

function q8Case(): Case {
  const q1 = Array.from({ length: 32 }, (_, i) => i - 16);
  const q2 = Array.from({ length: 32 }, (_, i) => (i % 2 ? 127 : -128));
  const bytes = new Uint8Array(68);
  bytes.set(q8Block(f16Bits(0.5), q1), 0);
  bytes.set(q8Block(f16Bits(2 ** -3), q2), 34);
  return { dtype: 'Q8_0', data: bytes, values: [...q1.map((q) => 0.5 * q), ...q2.map((q) => q / 8)], count: 64 };
}

const f16Values = [1, -2, 0.5, 0, -0, 65504, 2 ** -24, NaN, Infinity, -3.5];
const bf16Values = [1, -2, 0.5, 0, 3.5, NaN, -Infinity, 2 ** 100, -(2 ** -130)];
const e4m3Bytes = [0x38, 0xc0, 0x7e, 0x7f, 0x01, 0x00, 0x80, 0xff, 0x3c];
const e5m2Bytes = [0x3c, 0xc0, 0x7c, 0x7e, 0x01, 0x00, 0xfc, 0x7b];

const cases: Case[] = [
  { dtype: 'F64', data: new Float64Array([1.5, -2.25, 0, -0, NaN, -Infinity, 1e100, 3]), values: [1.5, -2.25, 0, -0, NaN, -Infinity, 1e100, 3] },
  // 3e38 overflows the float32 sum of squares: that block is redone in float64.
  { dtype: 'F32', data: new Float32Array([1.5, -2.25, 0, NaN, 3e38, 7]), values: Array.from(new Float32Array([1.5, -2.25, 0, NaN, 3e38, 7])) },
  { dtype: 'F16', data: new Uint16Array(f16Values.map(f16Bits)), values: f16Values },
  { dtype: 'BF16', data: new Uint16Array(bf16Values.map(bf16Bits)), values: bf16Values.map((v) => (Number.isNaN(v) ? NaN : Math.fround(v))) },
  { dtype: 'I64', data: new BigInt64Array([1n, -2n, 0n, 2n ** 60n, -(2n ** 62n), 9007199254740993n]), values: [1, -2, 0, 2 ** 60, -(2 ** 62), 9007199254740992] },
  { dtype: 'I32', data: new Int32Array([1, -2, 0, 2147483647, -2147483648]), values: [1, -2, 0, 2147483647, -2147483648] },
  { dtype: 'I16', data: new Int16Array([1, -2, 0, 32767, -32768]), values: [1, -2, 0, 32767, -32768] },
  { dtype: 'I8', data: new Int8Array([1, -2, 0, 127, -128]), values: [1, -2, 0, 127, -128] },
  { dtype: 'U64', data: new BigUint64Array([1n, 0n, 2n ** 64n - 1n, 2n ** 53n]), values: [1, 0, 2 ** 64, 2 ** 53] },
  { dtype: 'U32', data: new Uint32Array([1, 0, 4294967295]), values: [1, 0, 4294967295] },
  { dtype: 'U16', data: new Uint16Array([1, 0, 65535]), values: [1, 0, 65535] },
  { dtype: 'U8', data: new Uint8Array([1, 0, 255, 7]), values: [1, 0, 255, 7] },
  { dtype: 'BOOL', data: new Uint8Array([0, 1, 1, 0, 2]), values: [0, 1, 1, 0, 1] },
  { dtype: 'F8_E4M3', data: new Uint8Array(e4m3Bytes), values: e4m3Bytes.map(e4m3ToNumber) },
  { dtype: 'F8_E5M2', data: new Uint8Array(e5m2Bytes), values: e5m2Bytes.map((b) => f16ToNumber(b << 8)) },
  q8Case(),
];

describe('stats: known answers for every dtype', () => {
  for (const c of cases) {
    it(`${c.dtype}`, () => {
      const r = ref(c.data, c.dtype, c.count ?? c.values.length);
      r.byteLength = c.data.byteLength;
      const want = refStats(c.values);
      for (const level of addon().simdLevels()) {
        addon().setSimdLevel(level);
        expectStatsClose(statsOf(r), want, 1e-12, `${c.dtype} at ${level}`);
      }
      addon().setSimdLevel(addon().simdLevels().at(-1)!);
    });
  }

  it('F8 and Q8_0 over several blocks (the decode-then-F32 path)', () => {
    const n = 4096 * 3 + 64;
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = (i * 37) & 0x7e; // no NaN pattern
    const want = refStats(Array.from(bytes, e4m3ToNumber));
    expectStatsClose(statsOf(ref(bytes, 'F8_E4M3', n)), want, 1e-7, 'F8_E4M3');
    const blocks = n / 32;
    const q = new Uint8Array(blocks * 34);
    const values: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const qs = Array.from({ length: 32 }, (_, i) => ((b * 31 + i * 7) % 255) - 127);
      const scale = 2 ** -((b % 5) + 2);
      q.set(q8Block(f16Bits(scale), qs), b * 34);
      values.push(...qs.map((v) => v * scale));
    }
    const r = ref(q, 'Q8_0', n);
    r.byteLength = q.byteLength;
    expectStatsClose(statsOf(r), refStats(values), 1e-7, 'Q8_0');
  });
});
