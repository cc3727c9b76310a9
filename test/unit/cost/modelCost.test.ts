/**
 * The cost model on hand-computable layers: FLOPs, bytes, roofline time, conversions of non-native
 * dtypes, conv coverage, regime conditions and confidence.
 */
import { describe, expect, it } from 'vitest';
import type { TensorEntry } from '../../../lib/diff/ModelDiff.js';
import { compareCosts, REGIME_FACTOR } from '../../../lib/cost/compareCosts.js';
import { HARDWARE_PROFILES, type HardwareProfile } from '../../../lib/cost/hardwareProfiles.js';
import { inputShapeProblem, MAX_INPUT_DIM, MAX_INPUT_ELEMENTS, parseInputShape } from '../../../lib/cost/inputShape.js';
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

  it('a [16, 1, 3, 3] first conv on one input channel is an ordinary conv, not depthwise: it reads 1 channel per position', () => {
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const c = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 28, 28] });
    const conv1 = c.layers.find((l) => l.name === 'conv1.weight')!;
    expect(conv1.conv_input).toEqual({ channels: 1, groups: 1, depthwise: false, source: 'input shape' });
    // 784 positions x (1 input channel + 16 output channels) x 4 bytes (F32 activations) = 53312
    expect(conv1.bytes_per_item).toBe(784 * (1 + 16) * 4);
    expect(conv1.bytes_per_item).toBe(53312);
    // FLOPs are 2 x the kernel's 144 elements per position either way
    expect(conv1.flops).toBe(2 * 144 * 784);
    const conv2 = c.layers.find((l) => l.name === 'conv2.weight')!;
    expect(conv2.conv_input).toEqual({ channels: 16, groups: 1, depthwise: false, source: 'previous layer' });
    expect(conv2.bytes_per_item).toBe(196 * (16 + 32) * 4);
  });

  it('a [C, 1, k, k] kernel after a layer of C outputs is depthwise (groups = in = out = C); with 2 channels it is a grouped conv', () => {
    const entries = [e('conv1.weight', [8, 3, 3, 3]), e('conv2.weight', [8, 1, 3, 3]), e('fc.weight', [10, 8 * 49])];
    const c = modelCost(structure(entries), TOY, { batch: 1, inputShape: [3, 28, 28] });
    const dw = c.layers.find((l) => l.name === 'conv2.weight')!;
    expect(dw.conv_input).toEqual({ channels: 8, groups: 8, depthwise: true, source: 'previous layer' });
    expect(dw.bytes_per_item).toBe(dw.positions! * (8 + 8) * 4);
    // a first [16, 1, 3, 3] conv fed 2 channels: groups = in_channels = 2, each giving 8 of the 16 outputs
    // (PyTorch's "depthwise with depth multiplier 8")
    const mult = modelCost(structure([e('conv1.weight', [16, 1, 3, 3]), e('fc.weight', [10, 16 * 784])]), TOY, { batch: 1, inputShape: [2, 28, 28] });
    expect(mult.layers[0].conv_input).toEqual({ channels: 2, groups: 2, depthwise: true, source: 'input shape' });
    expect(mult.layers[0].covered).toBe(true);
    // [16, 2, 3, 3] fed 4 channels: 2 groups of 2 input channels, a grouped conv that is not depthwise
    const grouped = modelCost(structure([e('conv1.weight', [16, 2, 3, 3]), e('fc.weight', [10, 16 * 784])]), TOY, { batch: 1, inputShape: [4, 28, 28] });
    expect(grouped.layers[0].conv_input).toEqual({ channels: 4, groups: 2, depthwise: false, source: 'input shape' });
    expect(grouped.layers[0].bytes_per_item).toBe(784 * (4 + 16) * 4);
  });

  it('without a depth order a [C, 1, k] kernel is taken as depthwise and says so (the FLOPs are the same)', () => {
    // two convs whose shapes chain neither way, and no numbered family: no depth order
    const c = modelCost(structure([e('stem.weight', [12, 1, 5]), e('other.weight', [7, 3, 5])]), TOY, { batch: 1, inputShape: [1, 100] });
    const stem = c.layers.find((l) => l.name === 'stem.weight')!;
    expect(stem.conv_input).toEqual({ channels: 12, groups: 12, depthwise: true, source: 'kernel shape' });
    expect(stem.flops).toBe(2 * 60 * 100);
  });

  it('an input shape that does not fit the model leaves its conv layers not covered, with the reason', () => {
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('bn1.weight', [16]), e('bn1.bias', [16]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const rank = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 28] });
    const notCovered = rank.layers.filter((l) => !l.covered);
    expect(notCovered.map((l) => l.name)).toEqual(['conv1.weight', 'conv2.weight', 'bn1.weight']);
    for (const l of notCovered) expect(l.reason).toBe('not covered: the input shape 1,28 has 1 spatial dimension, but a 2-D conv layer needs C,H,W');
    expect(rank.input_shape_problem).toBe('the input shape 1,28 has 1 spatial dimension, but a 2-D conv layer needs C,H,W');
    const channels = modelCost(structure(entries), TOY, { batch: 1, inputShape: [3, 28, 28] });
    const why = 'the input shape 3,28,28 has 3 channels, but the first conv layer conv1.weight [16, 1, 3, 3] takes 1: 3 would need 3 groups, which do not divide its 16 output channels';
    expect(channels.layers.filter((l) => !l.covered).map((l) => [l.name, l.reason])).toEqual([
      ['conv1.weight', `not covered: ${why}`],
      ['conv2.weight', `not covered: ${why}`],
      ['bn1.weight', `not covered: ${why}`],
    ]);
    // coverage falls back to the flatten bound (49 positions), as without a shape
    const none = modelCost(structure(entries), TOY, { batch: 1, inputShape: null });
    expect(channels.coverage).toBe(none.coverage);
    const fits = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 28, 28] });
    expect([fits.input_shape_problem, fits.coverage]).toEqual([null, 1]);
  });

  it('an input shape that fits no conv layer is ignored for them: coverage, confidence inputs and conv inputs as without a shape', () => {
    // the CNN of the tests above (conv1 [16, 1, 3, 3], conv2 [32, 16, 3, 3], fc [64, 1568] = 32 x 49, head)
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('bn1.weight', [16]), e('bn1.bias', [16]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const none = modelCost(structure(entries), TOY, { batch: 1, inputShape: null });
    // covered: fc 2 x 64 x 1568 + head 2 x 10 x 64 = 201984; uncovered at 49 positions each: conv1 2 x 144, conv2 2 x 4608, bn1 5 x 16
    const covered = 2 * 64 * 1568 + 2 * 10 * 64;
    const lower = 49 * (2 * 144 + 2 * 4608 + 5 * 16);
    expect(none.coverage).toBe(covered / (covered + lower));
    const noneNote = 'conv layers not covered; at least 49 output positions each (the flatten into fc.weight), used for the coverage bound';
    expect(none.positions_note).toBe(noneNote);
    const noShapeInputs = none.layers.filter((l) => l.kind === 'conv').map((l) => l.conv_input);
    // wrong rank (the uncovered convs were costed at 1 position for the coverage before: 0.95), 3 channels for a
    // 1-channel conv1, and fewer positions than fc needs after the last conv (25 or 1 < 49): all as without a shape
    for (const shape of [[1, 28], [3, 28, 28], [1, 5, 5], [1, 1, 1]]) {
      const c = modelCost(structure(entries), TOY, { batch: 1, inputShape: shape });
      expect(c.coverage, shape.join(',')).toBe(none.coverage);
      expect(c.flops).toBe(covered);
      expect(c.positions_note).toBe(noneNote);
      expect(c.layers.filter((l) => l.kind === 'conv').map((l) => l.conv_input)).toEqual(noShapeInputs);
      expect(c.input_shape_problem).not.toBeNull();
      expect(c.layers.filter((l) => !l.covered).map((l) => l.reason)).toEqual(Array(3).fill(`not covered: ${c.input_shape_problem}`));
    }
    const small = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 5, 5] });
    expect(small.input_shape_problem).toBe(
      'the input shape 1,5,5 has 25 positions per channel, but fc.weight [64, 1568] after the last conv conv2.weight takes 1568 inputs = 32 channels x 49 positions, and same padding and downsampling never enlarge a map',
    );
    // 7 x 7 = 49 positions is the smallest shape that fits: no downsampling, both convs at 49 positions
    const fit = modelCost(structure(entries), TOY, { batch: 1, inputShape: [1, 7, 7] });
    expect(fit.input_shape_problem).toBeNull();
    expect(fit.layers.filter((l) => l.kind === 'conv').map((l) => l.positions)).toEqual([49, 49]);
    expect(fit.coverage).toBe(1);
    expect(fit.positions_note).toBe('same padding; downsampling 1x in positions spread evenly over 2 conv stage(s), ending at 49 positions per channel as fc.weight (1568 inputs = 32 channels x 49) implies');
  });

  it('with a depth order the groups come from it, with or without an input shape: a [16, 1, 3, 3] first conv is an ordinary conv on its 1 input channel', () => {
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const s = structure(entries);
    expect(s.depth_order?.layers).toEqual(['conv1.weight', 'conv2.weight', 'fc.weight', 'head.weight']);
    const c = modelCost(s, TOY, { batch: 1, inputShape: null });
    const by = Object.fromEntries(c.layers.map((l) => [l.name, l.conv_input]));
    expect(by['conv1.weight']).toEqual({ channels: 1, groups: 1, depthwise: false, source: 'first layer' });
    expect(by['conv2.weight']).toEqual({ channels: 16, groups: 1, depthwise: false, source: 'previous layer' });
    // a [16, 1, 3, 3] conv after a 16-output conv is still depthwise (groups = in = out = 16), shape or not
    const dw = modelCost(structure([e('conv1.weight', [16, 3, 3, 3]), e('conv2.weight', [16, 1, 3, 3]), e('fc.weight', [10, 16 * 49])]), TOY, { batch: 1, inputShape: null });
    expect(dw.layers.map((l) => l.conv_input)).toEqual([{ channels: 3, groups: 1, depthwise: false, source: 'first layer' }, { channels: 16, groups: 16, depthwise: true, source: 'previous layer' }, null]);
  });

  it('the positions note names why no final size is known: no linear layer after the last conv, or one whose inputs are not a multiple of its channels', () => {
    const convs = [e('c1.weight', [8, 1, 3, 3]), e('c2.weight', [16, 8, 3, 3])];
    const ordered = (entries: TensorEntry[]) => recognizeStructure({ entries, metadata: {}, orderIsDepth: true });
    const bare = modelCost(ordered(convs), TOY, { batch: 1, inputShape: [1, 10, 10] });
    expect(bare.positions_note).toBe('same padding and no downsampling assumed (no linear layer follows the last conv c2.weight, so nothing tells the final size): an upper bound');
    expect(bare.layers.map((l) => l.positions)).toEqual([100, 100]);
    const odd = modelCost(ordered([...convs, e('fc.weight', [10, 100])]), TOY, { batch: 1, inputShape: [1, 10, 10] });
    expect(odd.positions_note).toBe('same padding and no downsampling assumed (the 100 inputs of fc.weight after the last conv are not a multiple of its 16 output channels, so nothing tells the final size): an upper bound');
    expect(odd.input_shape_problem).toBeNull();
  });

  it('per-op overhead is charged to the ops with a time: covered and counted (time1.ops)', () => {
    const p: HardwareProfile = { ...TOY, op_overhead: 1e-6 };
    const entries = [e('conv1.weight', [16, 1, 3, 3]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64])];
    const none = modelCost(structure(entries), p, { batch: 4, inputShape: null });
    expect([none.ops, none.time1.ops, none.time_batch.ops]).toEqual([4, 2, 2]);
    expect(none.time1.overhead).toBeCloseTo(2e-6, 18);
    const shaped = modelCost(structure(entries), p, { batch: 4, inputShape: [1, 28, 28] });
    expect([shaped.ops, shaped.time1.ops]).toEqual([4, 4]);
    expect(shaped.time1.overhead).toBeCloseTo(4e-6, 18);
  });

  it('an ONNX If counts one branch: the costlier, nested Ifs likewise; the other branch is listed as not counted', () => {
    const entries = [
      e('fc.weight', [16, 16]),
      e('If_1.then_branch.w', [64, 64]),
      e('If_1.else_branch.If_2.then_branch.w', [32, 32]),
      e('If_1.else_branch.If_2.else_branch.w', [32, 32]),
      e('If_1.else_branch.v', [40, 40]),
    ];
    const c = modelCost(structure(entries), TOY, { batch: 1, inputShape: null });
    const counted = c.layers.filter((l) => l.counted).map((l) => l.name);
    // then: 2*64*64 = 8192 FLOPs; else: 2*40*40 + max(2*32*32, 2*32*32) = 5248: then is costed
    expect(counted).toEqual(['fc.weight', 'If_1.then_branch.w']);
    expect(c.flops).toBe(2 * 256 + 2 * 4096);
    expect(c.ops).toBe(2);
    const skipped = c.layers.find((l) => l.name === 'If_1.else_branch.v')!;
    expect([skipped.counted, skipped.time1, skipped.reason]).toEqual([false, null, 'not counted: an ONNX If runs one branch per call, and If_1.then_branch is the one costed']);
    // make the else branch costlier: its own op and one of the two equal inner branches (then_branch on a tie)
    const c2 = modelCost(structure(entries.map((x) => (x.name === 'If_1.else_branch.v' ? e(x.name, [80, 80]) : x))), TOY, { batch: 1, inputShape: null });
    expect(c2.layers.filter((l) => l.counted).map((l) => l.name)).toEqual(['fc.weight', 'If_1.else_branch.If_2.then_branch.w', 'If_1.else_branch.v']);
    expect(c2.flops).toBe(2 * 256 + 2 * 1024 + 2 * 6400);
    expect(c2.layers.find((l) => l.name === 'If_1.else_branch.If_2.else_branch.w')!.reason).toMatch(/If_1\.else_branch\.If_2\.then_branch is the one costed/);
    // the weights of every branch are loaded: they all count in weight_bytes
    expect(c2.weight_bytes).toBe(4 * (256 + 4096 + 1024 + 1024 + 6400));
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

  it('names the problem of a bad input shape: count, non-integer, zero or negative, over 2^20 per dimension, over 2^40 elements', () => {
    expect(inputShapeProblem('1,28,28')).toBeNull();
    expect(inputShapeProblem('')).toBeNull();
    expect(inputShapeProblem(`1,${2 ** 20},${2 ** 20}`)).toBeNull();
    expect(inputShapeProblem('28')).toBe('1 dimension: give C,H,W (images) or C,L (sequences), e.g. 1,28,28');
    expect(inputShapeProblem('1,2,3,4')).toMatch(/^4 dimensions: /);
    expect(inputShapeProblem('1,2.5,3')).toBe('dimension 2 "2.5" is not an integer');
    expect(inputShapeProblem('1,0,28')).toBe('dimension 2 is 0: every dimension must be at least 1');
    expect(inputShapeProblem('-1,28,28')).toBe('dimension 1 is -1: every dimension must be at least 1');
    expect(inputShapeProblem(`1,${2 ** 20 + 1}`)).toBe('dimension 2 is 1048577: at most 1048576 (2^20) per dimension');
    // 2 x 2^20 x 2^20 = 2^41 elements
    expect(inputShapeProblem(`2,${2 ** 20},${2 ** 20}`)).toBe('2.20e+12 elements per sample: at most 2^40 (1099511627776)');
    expect([MAX_INPUT_DIM, MAX_INPUT_ELEMENTS]).toEqual([1048576, 1099511627776]);
    expect(() => parseInputShape('1,0,28')).toThrow('input shape "1,0,28": dimension 2 is 0: every dimension must be at least 1 (expected C,H,W or C,L, e.g. 1,28,28)');
  });
});
