/**
 * The cost model on hand-computable layers: FLOPs, bytes, roofline time, conversions of non-native
 * dtypes, conv coverage, regime conditions and confidence.
 */
import { describe, expect, it } from 'vitest';
import type { TensorEntry } from '../../../lib/diff/ModelDiff.js';
import { compareCosts, REGIME_FACTOR } from '../../../lib/cost/compareCosts.js';
import { HARDWARE_PROFILES, type HardwareProfile } from '../../../lib/cost/hardwareProfiles.js';
import { parseInputShape } from '../../../lib/cost/inputShape.js';
import { modelCost } from '../../../lib/cost/modelCost.js';
import { byteLengthOf, type DType } from '../../../lib/formats/dtype.js';
import { recognizeStructure } from '../../../lib/structure/recognizeStructure.js';

function e(name: string, shape: number[], dtype: DType = 'F32', extra: Partial<TensorEntry> = {}): TensorEntry {
  const count = shape.reduce((p, d) => p * d, 1);
  return { name, dtype, shape, count, bytes: byteLengthOf(dtype, count), ...extra };
}

const structure = (entries: TensorEntry[], metadata: Record<string, unknown> = {}) => recognizeStructure({ entries, metadata, orderIsDepth: false });

/** 1 GFLOP/s for F32, 2 for BF16, F16 converted, 1 GB/s, no cache, no overhead: times are counts in ns. */
const TOY: HardwareProfile = {
  name: 'cpu',
  description: 'toy',
  peak: { F64: 0.5e9, F32: 1e9, F16: 1e9, BF16: 2e9, F8: 1e9, INT8: 4e9 },
  native: { F64: true, F32: true, F16: false, BF16: true, F8: false, INT8: true },
  bandwidth: 1e9,
  llc_bytes: 0,
  op_overhead: 0,
  sources: [],
};

describe('modelCost', () => {
  it('a linear layer: 2 m n FLOPs, weight + activation bytes, the larger roofline term', () => {
    const c = modelCost(structure([e('fc.weight', [4, 8])]), TOY, { batch: 100, inputShape: null });
    const l = c.layers[0];
    expect([l.flops, l.fixed_bytes, l.bytes_per_item]).toEqual([64, 128, (8 + 4) * 4]);
    expect(l.time1).toEqual({ roofline: 176e-9, bound: 'memory' });
    // at batch 100: 6400 FLOPs (6.4 us) against 128 + 4800 bytes (4.9 us): compute-bound
    expect(l.time_batch!.bound).toBe('compute');
    expect(l.time_batch!.roofline).toBeCloseTo(6400e-9, 18);
    expect(c.coverage).toBe(1);
    expect(c.flops).toBe(64);
  });

  it('a dtype without native arithmetic is converted (F32 rate, F32 activations, an F32 copy written and read): never faster', () => {
    const f32 = modelCost(structure([e('fc.weight', [64, 64])]), TOY, { batch: 512, inputShape: null });
    const f16 = modelCost(structure([e('fc.weight', [64, 64], 'F16')]), TOY, { batch: 512, inputShape: null });
    const bf16 = modelCost(structure([e('fc.weight', [64, 64], 'BF16')]), TOY, { batch: 512, inputShape: null });
    expect(f16.non_native).toEqual(['F16']);
    expect(f16.layers[0].fixed_bytes).toBe(2 * 4096 + 8 * 4096);
    expect(f16.time1.roofline).toBeGreaterThan(f32.time1.roofline);
    expect(f16.time_batch.roofline).toBeGreaterThanOrEqual(f32.time_batch.roofline);
    // BF16 is native here: half the bytes at batch 1 (memory-bound), twice the rate at batch 512
    expect(f32.time1.roofline / bf16.time1.roofline).toBeCloseTo(2, 12);
    expect(f32.time_batch.roofline / bf16.time_batch.roofline).toBeCloseTo(2, 12);
  });

  it('conv layers need an input shape; with one, positions follow from the flatten into the first linear layer', () => {
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const none = modelCost(structure(entries), TOY, { batch: 1, inputShape: null });
    expect(none.layers.filter((l) => !l.covered).map((l) => l.name)).toEqual(['conv1.weight', 'conv2.weight']);
    // coverage counts the uncovered convs at >= 49 positions (32 channels x 49 = 1568): an upper bound
    const covered = 2 * 64 * 1568 + 2 * 10 * 64;
    expect(none.coverage).toBeCloseTo(covered / (covered + 2 * 144 * 49 + 2 * 4608 * 49), 12);
    const shaped = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 28, 28] });
    const pos = Object.fromEntries(shaped.layers.map((l) => [l.name, l.positions]));
    expect(pos).toMatchObject({ 'conv1.weight': 784, 'conv2.weight': 196, 'fc.weight': 1 });
    expect(shaped.layers.find((l) => l.name === 'conv2.weight')!.flops).toBe(2 * 4608 * 196);
    expect(shaped.coverage).toBe(1);
  });

  it('an embedding reads one row per token, a tied head multiplies by the whole matrix, attention scores cost 4 T d', () => {
    const s = structure([e('tok_emb.weight', [100, 16]), e('pos_emb.weight', [8, 16]), e('blocks.0.attn.in_proj_weight', [48, 16]), e('blocks.0.attn.out_proj.weight', [16, 16])]);
    const c = modelCost(s, TOY, { batch: 1, inputShape: null });
    const by = Object.fromEntries(c.layers.map((l) => [l.name, l]));
    expect(by['tok_emb.weight']).toMatchObject({ flops: 0, bytes_per_item: 16 * 4 + 16 * 4 });
    expect(by['tok_emb.weight (tied head)']).toMatchObject({ flops: 2 * 100 * 16, fixed_bytes: 100 * 16 * 4 });
    expect(by['blocks.0.attn (attention scores)']).toMatchObject({ flops: 4 * 8 * 16, bytes_per_item: 2 * 8 * 16 * 4, covered: true });
  });
});

describe('compareCosts', () => {
  const s = structure([e('fc.weight', [256, 256])]);
  const s16 = structure([e('fc.weight', [256, 256], 'F16')]);

  it('no condition: the regime is the bound and confidence equals coverage', () => {
    const c = compareCosts(modelCost(s, TOY, { batch: 1, inputShape: null }), modelCost(s, TOY, { batch: 1, inputShape: null }), TOY);
    expect([c.regime, c.conditions, c.confidence, c.speed_ratio]).toEqual(['memory-bound', [], 1, 1]);
  });

  it('each low-confidence condition multiplies the confidence by 0.3', () => {
    const cached: HardwareProfile = { ...TOY, llc_bytes: 1 << 30, op_overhead: 1 };
    const c = compareCosts(modelCost(s, cached, { batch: 1, inputShape: null }), modelCost(s16, cached, { batch: 1, inputShape: null }), cached);
    expect(c.regime).toBe('low confidence');
    expect(c.conditions.map((x) => x.kind)).toEqual(['fits_in_cache', 'not_native', 'overhead_bound']);
    expect(c.confidence).toBeCloseTo(REGIME_FACTOR ** 3, 15);
    // the roofline ratio keeps the conversion penalty; the overhead hides it
    expect(c.roofline_speedup).toBeLessThan(1);
    expect(c.speed_ratio).toBeGreaterThan(0.99);
  });
});

describe('hardware profiles and the input shape', () => {
  it('a100 carries the datasheet figures; cpu has no native F16 and native BF16 / INT8', () => {
    const a = HARDWARE_PROFILES.a100;
    expect([a.peak.F32, a.peak.BF16, a.peak.F16, a.peak.INT8, a.bandwidth, a.llc_bytes]).toEqual([19.5e12, 312e12, 312e12, 624e12, 2039e9, 40e6]);
    const c = HARDWARE_PROFILES.cpu;
    expect([c.native.F32, c.native.BF16, c.native.F16, c.native.INT8]).toEqual([true, true, false, true]);
    expect(c.peak.BF16).toBeGreaterThan(c.peak.F32);
    expect(c.llc_bytes).toBe(32 * 1024 * 1024);
  });

  it('parses C,H,W and C,L; empty is unknown; anything else is a usage error', () => {
    expect(parseInputShape('1,28,28')).toEqual([1, 28, 28]);
    expect(parseInputShape(' 3 , 512 ')).toEqual([3, 512]);
    expect(parseInputShape('')).toBeNull();
    expect(() => parseInputShape('1,0,28')).toThrow(/input shape/);
    expect(() => parseInputShape('28')).toThrow(/C,H,W/);
  });
});
