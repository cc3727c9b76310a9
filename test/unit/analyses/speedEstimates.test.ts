/**
 * #8 --inference-speed-estimate and #15 --performance-impact-estimate on hand-computable models: the
 * roofline speedup of a memory-bound F32 -> F16 change on a GPU profile, no speedup for a dtype the CPU
 * converts, conv layers not covered without an input shape, regime and confidence.
 */
import { describe, expect, it } from 'vitest';
import { inferenceSpeedEstimate } from '../../../lib/analyses/inferenceSpeedEstimate.js';
import { performanceImpactEstimate } from '../../../lib/analyses/performanceImpactEstimate.js';
import { HARDWARE_PROFILES } from '../../../lib/cost/hardwareProfiles.js';
import { config, gaussian, jsonRoundTrip, mat, pairRun, vec, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

/** A linear model of `n` square [d, d] layers in dtype `dt`. */
function linear(d: number, n: number, dt: 'F32' | 'F16' | 'BF16' = 'F32'): Record<string, TensorSpec> {
  const t: Record<string, TensorSpec> = {};
  for (let i = 1; i <= n; i++) t[`fc${i}.weight`] = mat(gaussian(d * d, i), d, d, dt);
  return t;
}

describe('#8 inference speed', () => {
  it('a100, F32 -> F16 of a memory-bound model: the roofline speedup is exactly 2 at batch 1; the overhead is added per op', () => {
    const c = config({ hardware_profile: 'a100' });
    const r = jsonRoundTrip(inferenceSpeedEstimate.run({ run: pairRun(linear(64, 3), linear(64, 3, 'F16')), config: c }));
    const p = HARDWARE_PROFILES.a100;
    expect(r.profile).toBe('a100');
    expect(r.detail.roofline_speedup).toBeCloseTo(2, 12);
    // bytes per layer: F32 4*64*64 + (64+64)*4, F16 half of it; three layers, 5 us each
    const t32 = (3 * (4 * 4096 + 512)) / p.bandwidth;
    expect(r.speed_ratio).toBeCloseTo((t32 + 3 * p.op_overhead) / (t32 / 2 + 3 * p.op_overhead), 12);
    expect(r.flops_ratio).toBe(1);
    expect(r.regime).toBe('low confidence');
    expect(r.detail.conditions.map((x) => x.kind)).toEqual(['fits_in_cache', 'overhead_bound']);
    expect(r.confidence).toBeCloseTo(0.09, 12);
    expect(inferenceSpeedEstimate.format(r)[0]).toMatch(/^inference_speed_estimate: speed_ratio=1\.001, flops_ratio=1, bottlenecks=\[fc1\.weight 33\.33 % memory, .*\] at batch_tokens=512, confidence=0\.09, regime=low confidence \(memory-bound; weights fit in cache; per-op overhead dominates\), profile=a100; roofline speedup 2x at batch 1, /);
    // why speed_ratio is 1.001 although the roofline halves: 3 x 5 us of overhead against 50688 / 2039e9 s = 0.02486 us (A) and half of it (B)
    expect(inferenceSpeedEstimate.format(r)[0]).toMatch(/; at batch 1 the per-op overhead \(3 ops x 5 us = 15 us\) is most of the time \(roofline 0\.02486 us for A, 0\.01243 us for B\): it pulls speed_ratio toward 1 from the roofline's 2x$/);
  });

  it('the overhead sentence counts the ops charged: covered ones only, an op not covered has no time', () => {
    const c = config({ hardware_profile: 'a100' });
    const conv = { data: gaussian(72, 1), shape: [8, 1, 3, 3] };
    // 3 linear layers covered + 1 conv not covered (no input shape) on both sides: 3 x 5 us = 15 us, not 4 x 5 us
    const r = inferenceSpeedEstimate.run({ run: pairRun({ ...linear(64, 3), 'c1.weight': conv }, { ...linear(64, 3, 'F16'), 'c1.weight': conv }), config: c });
    expect([r.detail.a.ops, r.detail.a.time1.ops, r.detail.b.time1.ops]).toEqual([4, 3, 3]);
    expect(r.detail.a.time1.overhead).toBeCloseTo(15e-6, 18);
    expect(inferenceSpeedEstimate.format(r)[0]).toContain('; at batch 1 the per-op overhead (3 covered ops x 5 us = 15 us; the 1 not covered has no time and no overhead) is most of the time (');
    // A and B charged differently: A 2 linear layers (10 us), B 3 linear layers + 1 conv not covered (15 us)
    const d = inferenceSpeedEstimate.run({ run: pairRun(linear(64, 2), { ...linear(64, 3, 'F16'), 'c1.weight': conv }), config: c });
    expect(inferenceSpeedEstimate.format(d)[0]).toContain('per-op overhead (2 / 3 covered ops x 5 us = 10 us / 15 us; the 0 / 1 not covered have no time and no overhead) is most');
    const p = performanceImpactEstimate.format(performanceImpactEstimate.run({ run: pairRun({ ...linear(64, 3), 'c1.weight': conv }, { ...linear(64, 3, 'F16'), 'c1.weight': conv }), config: c }))[0];
    expect(p).toContain('; at batch 1 the per-op overhead (3 covered ops x 5 us = 15 us; the 1 not covered has no time and no overhead) is most of the time (');
  });

  it('cpu (default): F16 is converted, so no speedup; BF16 is native', () => {
    const f16 = inferenceSpeedEstimate.run({ run: pairRun(linear(64, 2), linear(64, 2, 'F16')), config: config() });
    expect(f16.profile).toBe('cpu');
    expect(f16.speed_ratio!).toBeLessThan(1);
    expect(f16.detail.roofline_speedup!).toBeLessThan(1);
    expect(f16.detail.roofline_speedup_batch!).toBeLessThanOrEqual(1);
    expect(f16.detail.conditions.map((x) => x.kind)).toContain('not_native');
    const bf16 = inferenceSpeedEstimate.run({ run: pairRun(linear(64, 2), linear(64, 2, 'BF16')), config: config() });
    expect(bf16.detail.roofline_speedup!).toBeCloseTo(2, 12);
  });

  it('a CNN without an input shape reports its conv layers as not covered; with one, the biggest conv is the bottleneck', () => {
    const cnn = { 'conv1.weight': mat(gaussian(16 * 9, 1), 16, 9), 'conv2.weight': mat(gaussian(32 * 144, 2), 32, 144), 'fc.weight': mat(gaussian(64 * 1568, 3), 64, 1568), 'head.weight': mat(gaussian(640, 4), 10, 64) };
    cnn['conv1.weight'].shape = [16, 1, 3, 3];
    cnn['conv2.weight'].shape = [32, 16, 3, 3];
    const none = inferenceSpeedEstimate.run({ run: pairRun(cnn, cnn), config: config() });
    expect(none.detail.not_covered.map((x) => x.name)).toEqual(['conv1.weight', 'conv2.weight']);
    expect(none.detail.coverage).toBeLessThan(0.5);
    expect(inferenceSpeedEstimate.format(none)[0]).toMatch(/; not covered: conv1\.weight, conv2\.weight \(output positions need an input shape \(--input-shape C,H,W\)\)$/);
    const shaped = inferenceSpeedEstimate.run({ run: pairRun(cnn, cnn), config: config({ input_shape: '1,28,28' }) });
    expect(shaped.detail.not_covered).toEqual([]);
    expect(shaped.bottlenecks[0].name).toBe('conv2.weight');
    expect(shaped.detail.coverage).toBe(1);
    expect(shaped.confidence).toBeGreaterThan(none.confidence!);
  });

  it('an input shape that does not fit the CNN: its conv layers are not covered, and the line says why', () => {
    const cnn = { 'conv1.weight': { data: gaussian(144, 1), shape: [16, 1, 3, 3] }, 'conv2.weight': { data: gaussian(4608, 2), shape: [32, 16, 3, 3] }, 'fc.weight': mat(gaussian(64 * 1568, 3), 64, 1568), 'head.weight': mat(gaussian(640, 4), 10, 64) };
    const r = inferenceSpeedEstimate.run({ run: pairRun(cnn, cnn), config: config({ input_shape: '3,28,28' }) });
    const why = 'the input shape 3,28,28 has 3 channels, but the first conv layer conv1.weight [16, 1, 3, 3] takes 1: 3 would need 3 groups, which do not divide its 16 output channels';
    expect(r.detail.input_shape_problem).toBe(why);
    expect(r.detail.not_covered).toEqual([
      { name: 'conv1.weight', reason: `not covered: ${why}` },
      { name: 'conv2.weight', reason: `not covered: ${why}` },
    ]);
    expect(inferenceSpeedEstimate.format(r)[0]).toMatch(new RegExp(`; not covered: conv1\\.weight, conv2\\.weight \\(${why.replace(/[[\]().,]/g, '\\$&')}\\)$`));
  });

  it('a model without a costed layer: every field null with one reason, regime included (no regime sentence about nothing)', () => {
    const bias = { 'fc.bias': vec(gaussian(8, 1)) };
    const r = jsonRoundTrip(inferenceSpeedEstimate.run({ run: pairRun(bias, bias), config: config() }));
    expect([r.speed_ratio, r.flops_ratio, r.confidence, r.regime, r.detail.regime_text]).toEqual([null, null, null, null, null]);
    expect(r.reasons.regime).toBe('no layer recognised in A or B (no weight matrix, conv kernel or embedding)');
    expect(inferenceSpeedEstimate.format(r)[0]).toBe(
      'inference_speed_estimate: speed_ratio=null, flops_ratio=null, bottlenecks=[], confidence=null, regime=null (no layer recognised in A or B (no weight matrix, conv kernel or embedding)), profile=cpu',
    );
    // only B without layers: the reason says which
    expect(inferenceSpeedEstimate.run({ run: pairRun(linear(8, 1), bias), config: config() }).reasons.regime).toBe('no layer recognised in B (no weight matrix, conv kernel or embedding)');
    // layers, but none costed: a conv-only model without an input shape
    const conv = { 'conv.weight': { data: gaussian(72, 2), shape: [8, 1, 3, 3] } };
    expect(inferenceSpeedEstimate.run({ run: pairRun(conv, conv), config: config() }).reasons.regime).toBe('no layer of A or B could be costed: output positions need an input shape (--input-shape C,H,W)');
    const p = performanceImpactEstimate.run({ run: pairRun(bias, bias), config: config() });
    expect([p.regime, p.reasons.regime]).toEqual([null, 'no layer recognised in A or B (no weight matrix, conv kernel or embedding)']);
  });

  it('lists on the line stop at output.top_k with +N more', () => {
    const c = config({ hardware_profile: 'a100' }, { top_k: 1 });
    const r = inferenceSpeedEstimate.run({ run: pairRun(linear(64, 3), { ...linear(64, 3, 'F16'), 'c1.weight': { data: gaussian(72, 1), shape: [8, 1, 3, 3] }, 'c2.weight': { data: gaussian(72, 2), shape: [8, 1, 3, 3] } }), config: c });
    expect(r.bottlenecks).toHaveLength(3);
    const line = inferenceSpeedEstimate.format(r)[0];
    expect(line).toMatch(/bottlenecks=\[fc1\.weight [0-9.]+ % memory, \+2 more\] at batch_tokens=512, /);
    expect(line).toMatch(/; not covered: c1\.weight, \+1 more \(output positions need an input shape/);
  });

  it('no field is a constant', () => {
    const c = config({ hardware_profile: 'a100' });
    const checked = expectFieldsMove(
      'inference_speed_estimate',
      inferenceSpeedEstimate.run({ run: pairRun(linear(64, 3), linear(64, 3, 'F16')), config: c }),
      // one more layer (more FLOPs) and a conv kernel that is not covered without an input shape (less coverage)
      inferenceSpeedEstimate.run({
        run: pairRun(linear(64, 3), { ...linear(64, 3), 'fc4.weight': mat(gaussian(64 * 64, 9), 64, 64), 'conv.weight': { data: gaussian(8 * 64 * 9, 3), shape: [8, 64, 3, 3] } }),
        config: c,
      }),
    );
    expect(checked).toEqual(['speed_ratio', 'flops_ratio', 'confidence']);
  });
});

describe('#15 performance impact', () => {
  it('latency_change = T_B / T_A - 1 at batch 1 and throughput_change = T_A / T_B - 1 at batch_tokens, from the model of #8', () => {
    const c = config({ hardware_profile: 'a100', batch_tokens: 4096 });
    // #8 and #15 need no per-tensor extras (AnalysisNeeds {}): skip them, they take a minute on [512, 512] matrices
    const run = pairRun(linear(512, 2), linear(512, 2, 'F16'), { unitNorms: false, lowRank: false, spectral: false, histograms: false });
    const r = jsonRoundTrip(performanceImpactEstimate.run({ run, config: c }));
    const s = inferenceSpeedEstimate.run({ run, config: c });
    expect(r.latency_change).toBeCloseTo(1 / s.speed_ratio! - 1, 12);
    expect(r.throughput_change).toBeCloseTo(s.detail.speed_ratio_batch! - 1, 12);
    expect(r.detail.roofline_latency_change).toBeCloseTo(-0.5, 12);
    // at 4096 tokens a [512, 512] layer is compute-bound on the A100: 312 / 19.5 = 16x the F32 rate
    expect(r.detail.roofline_throughput_change!).toBeGreaterThan(5);
    expect(r.confidence).toBe(s.confidence);
    expect(performanceImpactEstimate.format(r)[0]).toMatch(/^performance_impact_estimate: latency_change=-?[0-9.e-]+, throughput_change=[0-9.]+, confidence=[0-9.]+, regime=.*, profile=a100; roofline alone: latency -0\.5, throughput at batch 4096 /);
  });

  it('no field is a constant', () => {
    const c = config({ hardware_profile: 'a100' });
    const checked = expectFieldsMove(
      'performance_impact_estimate',
      performanceImpactEstimate.run({ run: pairRun(linear(64, 3), linear(64, 3, 'F16')), config: c }),
      performanceImpactEstimate.run({ run: pairRun(linear(64, 3), linear(64, 3, 'F16')), config: config() }),
    );
    expect(checked).toEqual(['latency_change', 'throughput_change', 'confidence']);
  });
});
