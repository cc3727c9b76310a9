/**
 * #4 --gradient-analysis on hand-built checkpoints: the update path (ratio of r_t over depth thirds,
 * only exploding and dead claimed), the Adam path (bias-corrected exp_avg RMS, healthy band), the depth
 * order requirement and the pair kinds.
 */
import { describe, expect, it } from 'vitest';
import { gradientAnalysis } from '../../../lib/analyses/gradientAnalysis.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import { config, gaussian, jsonRoundTrip, makeRun, mat, pairRun, toBF16, vec, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

/** w moved by a large update (r = 0.5): a training step, far beyond any rounding. */
const pairNoiseLike = (w: Float64Array) => Float64Array.from(w, (x, i) => x + 0.5 * Math.sin(i + 1));

const run = (r: ReturnType<typeof makeRun>, c = DEFAULT_CONFIG) => jsonRoundTrip(gradientAnalysis.run({ run: r, config: c }));

/** A 4x4 matrix of norm ||A|| = 4 (all ones) and B = A + r * 4 * e_0 (so r_t = r exactly). */
function layer(r: number): [TensorSpec, TensorSpec] {
  const a = new Array(16).fill(1);
  const b = [...a];
  b[0] += r * 4;
  return [mat(a, 4, 4), mat(b, 4, 4)];
}

function mlp(rs: [number, number, number], extraB: Record<string, TensorSpec> = {}) {
  const [f1a, f1b] = layer(rs[0]);
  const [f2a, f2b] = layer(rs[1]);
  const [ha, hb] = layer(rs[2]);
  return pairRun({ 'fc1.weight': f1a, 'fc2.weight': f2a, 'head.weight': ha, 'fc1.bias': vec([0, 0, 0, 0]) }, { 'fc1.weight': f1b, 'fc2.weight': f2b, 'head.weight': hb, 'fc1.bias': vec([0.1, 0, 0, 0]), ...extraB });
}

describe('#4 update path', () => {
  it('norm = ||B - A|| over S, ratio = r_t of the first third / the last third in depth order, health not claimed', () => {
    const r = run(mlp([0.2, 0.1, 0.05]));
    expect(r.source).toBe('update');
    expect(r.ratio).toBeCloseTo(0.2 / 0.05, 12);
    // ||D||^2 = (0.8)^2 + (0.4)^2 + (0.2)^2 + (0.1)^2 (the bias)
    expect(r.norm).toBeCloseTo(Math.sqrt(0.64 + 0.16 + 0.04 + 0.01), 12);
    expect(r.flow_health).toBe('no_exploding_or_dead');
    expect(r.detail.depth_order).toEqual({ source: 'numbered blocks', input: 0 });
    expect(r.detail.layers.map((l) => l.tensor)).toEqual(['fc1.weight', 'fc2.weight', 'head.weight']);
    expect(gradientAnalysis.format(r)[0]).toMatch(/^gradient_analysis: flow_health=no_exploding_or_dead, norm=0\.922, ratio=4, source=the update B - A/);
  });

  it('exploding: a weight matrix grown 10x; dead: one frozen while the others move', () => {
    const exploded = run(mlp([0.1, 10, 0.1]));
    expect(exploded.flow_health).toBe('exploding');
    expect(exploded.level).toBe('WARNING');
    expect(exploded.detail.flagged).toEqual(['fc2.weight']);
    expect(gradientAnalysis.format(exploded)[0]).toMatch(/^gradient_analysis: flow_health=exploding \(fc2\.weight\), /);
    const dead = run(mlp([0.1, 0, 0.1]));
    expect(dead.flow_health).toBe('dead');
    expect(dead.detail.flagged).toEqual(['fc2.weight']);
  });

  it('needs a depth order: unordered names with dimensions that do not chain give null flow_health and ratio with the reason', () => {
    const [a, b] = layer(0.1);
    const r = run(pairRun({ 'x.weight': a, 'y.weight': a }, { 'x.weight': b, 'y.weight': b }));
    expect(r.flow_health).toBeNull();
    expect(r.ratio).toBeNull();
    expect(r.reasons.ratio).toMatch(/depth order unknown/);
    expect(r.norm).not.toBeNull();
  });

  it('a training pair whose weights became integer codes: no norm over the biases alone, the reason says why', () => {
    const w = gaussian(16, 3);
    const s = Math.max(...w.map(Math.abs)) / 127;
    const codes = Array.from(pairNoiseLike(w), (x) => Math.max(-127, Math.min(127, Math.round(x / s))));
    const r = run(pairRun({ 'fc1.weight': mat(w, 4, 4), 'fc1.bias': vec([0, 0, 0, 0]) }, { 'fc1.weight': { ...mat(codes, 4, 4, 'I8'), quant: { scale: [s], offset: [0], axis: null } }, 'fc1.weight_scale': { data: [s], shape: [] }, 'fc1.bias': vec([0.1, 0, 0, 0]) }));
    expect([r.flow_health, r.norm, r.ratio]).toEqual([null, null, null]);
    expect(r.reasons.norm).toBe('1 converted tensor is stored as integer codes (F32 -> I8), not comparable as values without dequantization: see --quantization-analysis');
  });

  it('a precision change is not a training step', () => {
    const w = gaussian(16, 3);
    const r = run(pairRun({ 'fc1.weight': mat(w, 4, 4) }, { 'fc1.weight': mat(toBF16(w), 4, 4, 'BF16') }));
    expect([r.flow_health, r.norm, r.ratio]).toEqual([null, null, null]);
    expect(r.reasons.norm).toMatch(/precision change/);
  });

  it('interval-normalised norms per interval in the detail (epoch metadata)', () => {
    const [a, b] = layer(0.2);
    const c = { tensors: { 'fc1.weight': b, 'fc2.weight': b } };
    const r = run(makeRun([{ tensors: { 'fc1.weight': a, 'fc2.weight': a }, metadata: { epoch: 1 } }, { ...c, metadata: { epoch: 3 } }]));
    expect(r.detail.interval_unit).toBe('epoch');
    expect(r.detail.intervals[0]).toMatchObject({ length: 2, norm_per_unit: (Math.SQRT2 * 0.8) / 2 });
  });

  it('no field is a constant', () => {
    const checked = expectFieldsMove('gradient_analysis', run(mlp([0.2, 0.1, 0.05])), run(mlp([0.1, 0.1, 0.2])));
    expect(checked).toEqual(['norm', 'ratio']);
  });
});

/** A checkpoint with Adam state: exp_avg of each of the three matrices filled with `m[i]`, step 10, beta1 0.9. */
function adamRun(m: [number, number, number]) {
  const [a] = layer(0);
  const model = { 'fc1.weight': a, 'fc2.weight': a, 'head.weight': a };
  const state: Record<string, TensorSpec> = {};
  m.forEach((v, i) => {
    state[`optimizer.state.${i}.exp_avg`] = { ...mat(new Array(16).fill(v), 4, 4), role: 'optimizer' };
    state[`optimizer.state.${i}.exp_avg_sq`] = { ...mat(new Array(16).fill(v * v), 4, 4), role: 'optimizer' };
  });
  const optimizer = { path: 'optimizer', type: 'adam', param_groups: [{ lr: 1e-3, betas: [0.9, 0.999], params: [0, 1, 2] }], state_keys: ['step', 'exp_avg', 'exp_avg_sq'], step: 10 };
  return makeRun([{ tensors: model }, { tensors: { ...model, ...state }, metadata: { optimizer }, orderIsDepth: true }]);
}

describe('#4 Adam path', () => {
  const c = 1 - 0.9 ** 10;

  it('uses the bias-corrected first moment and says so; ratio = RMS of the first third / the last third', () => {
    const r = run(adamRun([2e-3, 1e-3, 1e-3]));
    expect(r.source).toBe('adam_exp_avg');
    expect(r.detail.adam).toMatchObject({ input: 1, step: 10, beta1: 0.9 });
    expect(r.detail.adam!.bias_correction).toBeCloseTo(c, 15);
    expect(r.ratio).toBeCloseTo(2, 12);
    // norm = ||m_hat|| = sqrt(16 (4e-6 + 1e-6 + 1e-6)) / c
    expect(r.norm).toBeCloseTo(Math.sqrt(16 * 6e-6) / c, 12);
    expect(r.flow_health).toBe('healthy');
    expect(gradientAnalysis.format(r)[0]).toMatch(/source=Adam exp_avg of ckpt1\.safetensors at step 10, healthy band \[0\.001, 1000\]/);
  });

  it('vanishing below the band, exploding above it or with non-finite moments, dead for an all-zero moment', () => {
    expect(run(adamRun([1e-9, 1e-3, 1e-3])).flow_health).toBe('vanishing');
    expect(run(adamRun([10, 1e-3, 1e-3])).flow_health).toBe('exploding');
    expect(run(adamRun([NaN, 1e-3, 1e-3])).flow_health).toBe('exploding');
    expect(run(adamRun([1e-3, 0, 1e-3])).flow_health).toBe('dead');
    // the band is configurable
    expect(run(adamRun([2e-3, 1e-3, 1e-3]), config({ gradient_ratio_max: 1.5 })).flow_health).toBe('exploding');
  });

  it('state that does not line up with the parameters falls back to the update and names the problem', () => {
    const r0 = adamRun([1, 1, 1]);
    (r0.inputs[1].metadata.optimizer as { param_groups: { params: number[] }[] }).param_groups[0].params = [0, 1];
    const r = run(r0);
    expect(r.source).toBe('update');
    expect(r.detail.adam_note).toMatch(/param_groups list 2 parameters, the model has 3/);
  });

  it('step 0: exp_avg holds no gradient, so norm, ratio and flow_health are null with the reason; beta1 outside [0, 1): no norm, the ratio stands', () => {
    const r0 = adamRun([2e-3, 1e-3, 1e-3]);
    (r0.inputs[1].metadata.optimizer as { step: number }).step = 0;
    const r = run(r0);
    expect(r.source).toBe('adam_exp_avg');
    expect([r.flow_health, r.norm, r.ratio]).toEqual([null, null, null]);
    expect(r.reasons.norm).toMatch(/^step 0: the optimizer has not taken a step/);
    expect(r.reasons.flow_health).toBe(r.reasons.norm);
    expect(r.detail.adam!.bias_correction).toBeNull();
    expect(r.detail.adam!.note).toBe(r.reasons.norm);
    expect(gradientAnalysis.format(r)[0]).toMatch(/^gradient_analysis: flow_health=null, norm=null, ratio=null \(step 0: /);
    const b1 = adamRun([2e-3, 1e-3, 1e-3]);
    (b1.inputs[1].metadata.optimizer as { param_groups: { betas: number[] }[] }).param_groups[0].betas = [1, 0.999];
    const rb = run(b1);
    expect(rb.norm).toBeNull();
    expect(rb.reasons.norm).toMatch(/^beta1 = 1 in the optimizer's betas is outside \[0, 1\)/);
    expect(rb.ratio).toBeCloseTo(2, 12);
    // every null field has its reason
    for (const f of ['flow_health', 'norm', 'ratio'] as const) if (rb[f] === null) expect(rb.reasons[f]).toBeTruthy();
  });

  it('non-finite moments: exploding names the layer, and the norm is null with the count instead of a norm over the finite rest', () => {
    const r = run(adamRun([NaN, 1e-3, 1e-3]));
    expect(r.flow_health).toBe('exploding');
    expect(r.detail.flagged).toEqual(['fc1.weight']);
    expect(r.norm).toBeNull();
    expect(r.reasons.norm).toBe('exp_avg holds 16 non-finite values (fc1.weight): the norm is not finite');
    expect(gradientAnalysis.format(r)[0]).toMatch(/^gradient_analysis: flow_health=exploding \(fc1\.weight\), norm=null/);
    const dead = run(adamRun([1e-3, 0, 1e-3]));
    expect(dead.detail.flagged).toEqual(['fc2.weight']);
  });

  it('optimizer state that is not Adam: the update path, and the line names the file and the optimizer instead of "no optimizer state"', () => {
    const r0 = adamRun([1, 1, 1]);
    (r0.inputs[1].metadata.optimizer as { type: string }).type = 'sgd';
    const r = run(r0);
    expect(r.source).toBe('update');
    expect(r.detail.adam_note).toBe('ckpt1.safetensors: optimizer state of type sgd, not Adam (no exp_avg)');
    expect(gradientAnalysis.format(r)[0]).toContain('source=the update B - A (optimizer state not used: ckpt1.safetensors: optimizer state of type sgd, not Adam (no exp_avg): only exploding and dead are claimed)');
    const plain = run(mlp([0.2, 0.1, 0.05]));
    expect(plain.detail.adam_note).toBe('no optimizer state in checkpoint');
    expect(gradientAnalysis.format(plain)[0]).toContain('(no optimizer state: only exploding');
  });

  it('no field is a constant', () => {
    expectFieldsMove('gradient_analysis', run(adamRun([2e-3, 1e-3, 1e-3])), run(adamRun([1e-3, 1e-3, 4e-3])));
  });

});
