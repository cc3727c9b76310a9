/**
 * SIMD levels: conversions are bit-exact against the scalar reference over all 65,536 F16 and BF16
 * patterns; reductions agree with the scalar level and a float64 reference within the documented
 * tolerance (docs/native.md: 2e-7 relative, signed sums relative to the data's scale) at awkward
 * lengths and unaligned offsets.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { PAIR_WIDTH, STATS_WIDTH } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { type DType } from '../../lib/formats/dtype.js';
import { bf16Bits, bf16ToNumber, expectClose, expectStatsClose, f16Bits, f16ToNumber, gaussian, ref, refPair, refStats, rng } from './helpers.js';

const levels = addon().simdLevels();
afterAll(() => addon().setSimdLevel(levels.at(-1)!));

/** Documented tolerance of the float32-lane reductions against float64. */
const TOL = 2e-7;

describe('conversions', () => {
  const all = new Uint16Array(65536).map((_, i) => i);

  it('levels list starts with scalar and includes the current level', () => {
    expect(levels[0]).toBe('scalar');
    expect(levels).toContain(addon().simdLevel());
  });

  for (const [name, code, decode] of [
    ['F16', 2, f16ToNumber],
    ['BF16', 3, bf16ToNumber],
  ] as const) {
    it(`${name}: every level is bit-identical to scalar over all 65,536 patterns`, () => {
      const scalar = new Uint32Array(addon().convertToF32(all, code, 'scalar').buffer);
      for (const level of levels) {
        const got = new Uint32Array(addon().convertToF32(all, code, level).buffer);
        let mismatches = 0;
        for (let i = 0; i < 65536; i++) if (got[i] !== scalar[i]) mismatches++;
        expect(mismatches, level).toBe(0);
      }
      // The scalar reference itself: values exact, NaNs quieted with the payload kept.
      const f = new Float32Array(scalar.buffer);
      for (let i = 0; i < 65536; i++) {
        const want = decode(i);
        if (Number.isNaN(want)) {
          expect(Number.isNaN(f[i])).toBe(true);
          if (name === 'F16') expect(scalar[i]).toBe((((i & 0x8000) << 16) | 0x7fc00000 | ((i & 0x3ff) << 13)) >>> 0);
          else expect(scalar[i]).toBe((i << 16) >>> 0);
        } else {
          expect(Object.is(f[i], want) || f[i] === want).toBe(true);
        }
      }
    });

    it(`${name}: odd lengths and unaligned sources convert the same`, () => {
      for (const n of [0, 1, 7, 15, 17, 33]) {
        const host = new Uint16Array(n + 1);
        for (let i = 0; i < n; i++) host[i + 1] = (i * 2654435761) >>> 16;
        const src = host.subarray(1);
        const want = new Uint32Array(addon().convertToF32(src, code, 'scalar').buffer);
        for (const level of levels) {
          expect(Array.from(new Uint32Array(addon().convertToF32(src, code, level).buffer)), `${level} n=${n}`).toEqual(Array.from(want));
        }
      }
    });
  }

  it('rejects a level above the CPU maximum and unknown dtypes', () => {
    expect(() => addon().convertToF32(all, 1, 'scalar')).toThrow(/dtype/);
    expect(() => addon().setSimdLevel('sse9' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

function randomData(dtype: DType, n: number, seed: number): { bytes: ArrayBufferView; values: number[] } {
  const g = gaussian(rng(seed));
  if (dtype === 'F32') {
    const a = new Float32Array(n).map(() => 0.5 + g());
    return { bytes: a, values: Array.from(a) };
  }
  if (dtype === 'F16') {
    const bits = new Uint16Array(n).map(() => f16Bits(0.5 + g()));
    return { bytes: bits, values: Array.from(bits, f16ToNumber) };
  }
  const bits = new Uint16Array(n).map(() => bf16Bits(0.5 + g()));
  return { bytes: bits, values: Array.from(bits, bf16ToNumber) };
}

describe('reductions across levels, awkward lengths, unaligned offsets', () => {
  const lengths = [0, 1, 15, 16, 17, 1023, 4097, 1_000_003];
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`${dtype} stats`, () => {
      for (const n of lengths) {
        const { bytes, values } = randomData(dtype, n, n + 11);
        const want = refStats(values);
        for (const misalign of [0, 1, 2, 3]) {
          const r = ref(bytes, dtype, n, misalign);
          const outs: Float64Array[] = [];
          for (const level of levels) {
            addon().setSimdLevel(level);
            const out = new Float64Array(STATS_WIDTH);
            addon().statsSync([r], out);
            expectStatsClose(out, want, TOL, `${dtype} n=${n} +${misalign} ${level} vs float64`);
            outs.push(out);
          }
          for (let l = 1; l < outs.length; l++) expectStatsClose(outs[l], outs[0], TOL, `${dtype} n=${n} ${levels[l]} vs scalar`);
        }
      }
    });

    it(`${dtype} pair`, () => {
      for (const n of lengths) {
        const { bytes: ba, values: va } = randomData(dtype, n, n + 5);
        const { bytes: bb, values: vb } = randomData(dtype, n, n + 6);
        const wantA = refStats(va),
          wantB = refStats(vb),
          wantP = refPair(va, vb, 0, n === 0 ? 1 : 0);
        const misalign = n % 4;
        for (const level of levels) {
          addon().setSimdLevel(level);
          const out = new Float64Array(PAIR_WIDTH);
          addon().pairSync([{ a: ref(ba, dtype, n, misalign), b: ref(bb, dtype, n, (misalign + 1) % 4), epsilon: 0 }], out);
          expectStatsClose(out.subarray(0, STATS_WIDTH), wantA, TOL, `${dtype} n=${n} ${level} A`);
          expectStatsClose(out.subarray(STATS_WIDTH, 2 * STATS_WIDTH), wantB, TOL, `${dtype} n=${n} ${level} B`);
          const p = out.subarray(2 * STATS_WIDTH);
          const scale = Math.sqrt(wantP[2] + wantA[8] ** 2 + wantB[8] ** 2);
          // counts exact; sums relative to their own value, the signed diffSum and dot to the data's scale
          expect([p[0], p[1], p[7], p[8]]).toEqual([wantP[0], wantP[1], wantP[7], wantP[8]]);
          expectClose([p[2], p[5], p[6]], [wantP[2], wantP[5], wantP[6]], TOL, 0, `${dtype} n=${n} ${level} diffSq/maxAbs/sumAbs`);
          expectClose([p[3]], [wantP[3]], TOL, scale ** 2, `${dtype} n=${n} ${level} dot`);
          expectClose([p[4]], [wantP[4]], TOL, wantP[6], `${dtype} n=${n} ${level} diffSum`);
        }
      }
    });
  }
});

describe('zero counting', () => {
  it('counts +0 and -0 exactly in blocks with and without zeros, at every level', () => {
    const n = 50_000;
    const a = new Float32Array(n).map((_, i) => 1 + (i % 97));
    for (let i = 0; i < n; i += 1013) a[i] = i % 2 ? -0 : 0;
    a.fill(0, 20_000, 24_200); // whole blocks of zeros
    a[n - 1] = 0; // in the scalar tail
    const h = new Uint16Array(n).map((_, i) => (a[i] === 0 ? (Object.is(a[i], -0) ? 0x8000 : 0) : 0x3c00));
    const want = Array.from(a).filter((v) => v === 0).length;
    for (const level of levels) {
      addon().setSimdLevel(level);
      const out = new Float64Array(STATS_WIDTH);
      for (const [r, label] of [
        [ref(a, 'F32', n, 1), 'F32'],
        [ref(h, 'F16', n, 3), 'F16'],
      ] as const) {
        addon().statsSync([r], out);
        expect(out[9], `${label} ${level}`).toBe(want);
      }
      const p = new Float64Array(PAIR_WIDTH);
      addon().pairSync([{ a: ref(a, 'F32'), b: ref(h, 'F16'), epsilon: 0 }], p);
      expect([p[9], p[STATS_WIDTH + 9]], level).toEqual([want, want]);
    }
  });
});
