import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../../lib/analyses/formatNumber.js';
import { globalUpdate } from '../../../lib/analyses/globalUpdate.js';
import { checkpointIntervals } from '../../../lib/analyses/intervals.js';
import { median, modifiedZScores } from '../../../lib/analyses/modifiedZScores.js';
import { notContinuation } from '../../../lib/analyses/notContinuation.js';
import { castCheck, dtypeChangeNote, integerCodedReason, precisionChange } from '../../../lib/analyses/precisionChange.js';
import { pairKind } from '../../../lib/analyses/pairKind.js';
import { matrixView, tensorRole } from '../../../lib/structure/tensorRole.js';
import { tensorSets } from '../../../lib/analyses/tensorSets.js';
import { deadUnitChange } from '../../../lib/analyses/deadUnits.js';
import type { InputInfo } from '../../../lib/diff/ModelDiff.js';
import { config, gaussian, handRun, mat, pairNoise, pairOf, pairRun, statsOf, toBF16, vec } from './builders.js';

describe('formatNumber (%.4g)', () => {
  it('prints numbers like the diff lines: integers exact, 4 significant figures, exponent form outside [1e-3, 1e5)', () => {
    expect(formatNumber(0.0543)).toBe('0.0543');
    expect(formatNumber(0.8)).toBe('0.8');
    expect(formatNumber(0.060858061945)).toBe('0.06086');
    expect(formatNumber(1.5e-5)).toBe('1.5e-5');
    expect(formatNumber(12346)).toBe('12346');
    expect(formatNumber(12345.6)).toBe('12350');
    expect(formatNumber(9999.6)).toBe('10000');
    expect(formatNumber(123456.7)).toBe('1.235e5');
    expect(formatNumber(1234)).toBe('1234');
    expect(formatNumber(-0.00012346)).toBe('-1.235e-4');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(null)).toBe('null');
    expect(formatNumber(Infinity)).toBe('inf');
  });
});

describe('modifiedZScores (Iglewicz and Hoaglin 1993)', () => {
  it('uses 0.6745 (x - median) / MAD', () => {
    // median 3, |x - 3| = [2,1,0,1,97] -> MAD 1; z(100) = 0.6745 * 97 = 65.4265
    const z = modifiedZScores([1, 2, 3, 4, 100]);
    expect(median([1, 2, 3, 4, 100])).toBe(3);
    expect(z[4]).toBeCloseTo(65.4265, 10);
    expect(z[0]).toBeCloseTo(-1.349, 10);
  });
  it('falls back to 1.253314 x mean absolute deviation when MAD is 0', () => {
    // median 0, deviations [0,0,0,0,5] -> MAD 0, MeanAD 1: z(5) = 5 / 1.253314
    const z = modifiedZScores([0, 0, 0, 0, 5]);
    expect(z[4]).toBeCloseTo(5 / 1.253314, 10);
    expect(modifiedZScores([2, 2, 2])).toEqual([0, 0, 0]);
  });
});

describe('tensorRole', () => {
  it('recognises weight matrices, embeddings, norm gains, biases and non-parameters', () => {
    expect(tensorRole('fc1.weight', [128, 784])).toBe('weight_matrix');
    expect(tensorRole('conv1.weight', [16, 1, 3, 3])).toBe('weight_matrix');
    expect(tensorRole('last_layer.weight', [1, 32])).toBe('weight_matrix');
    expect(tensorRole('tok_emb.weight', [86, 64])).toBe('embedding');
    expect(tensorRole('transformer.wte.weight', [50257, 768])).toBe('embedding');
    expect(tensorRole('blocks.0.ln1.weight', [64])).toBe('norm_gain');
    expect(tensorRole('bn1.weight', [16])).toBe('norm_gain');
    expect(tensorRole('batch_norm_3.w_0', [8])).toBe('norm_gain');
    expect(tensorRole('blocks.0.attn.in_proj_bias', [192])).toBe('bias');
    expect(tensorRole('batch_norm_3.b_0', [8])).toBe('bias');
    expect(tensorRole('prelu.weight', [8])).toBe('vector');
    expect(tensorRole('logit_scale', [])).toBe('scalar');
    expect(tensorRole('bn1.running_var', [16])).toBe('buffer');
    expect(tensorRole('bn1.num_batches_tracked', [])).toBe('buffer');
    expect(tensorRole('batch_norm_3.w_2', [8])).toBe('buffer');
    expect(tensorRole('h.0.attn.bias', [1, 1, 1024, 1024])).toBe('buffer');
    expect(tensorRole('/layernorm1/Constant_output_0', [])).toBe('constant');
    expect(tensorRole('optimizer.state.0.exp_avg', [128, 784])).toBe('optimizer_state');
    const names = new Set(['fc1.weight', 'fc1.weight_scale', 'conv/filters', 'conv/filters.q_min']);
    expect(tensorRole('fc1.weight_scale', [128], names)).toBe('quant_scale');
    expect(tensorRole('conv/filters.q_min', [], names)).toBe('quant_scale');
    expect(tensorRole('layer_scale', [64], names)).toBe('vector');
  });
  it('views conv kernels as [out, in*kh*kw] (PyTorch) or output-last (TF metadata)', () => {
    expect(matrixView([32, 16, 3, 3], { format: 'pt' })).toEqual([32, 144]);
    expect(matrixView([3, 3, 16, 32], { format: 'tfjs-weights' })).toEqual([32, 144]);
    expect(matrixView([128, 136], { format: 'tfjs-weights' })).toEqual([136, 128]);
    expect(matrixView([64], {})).toBeNull();
  });
});

describe('tensorSets and globalUpdate', () => {
  it('pools float parameters only and computes R by hand', () => {
    const run = handRun();
    const sets = tensorSets(run.overall);
    expect(sets.pooled.map((p) => p.name).sort()).toEqual(['l1.bias', 'l1.weight']);
    expect(sets.apart).toEqual([
      expect.objectContaining({ name: 'bn.num_batches_tracked', reason: 'integer', rel_l2: 8 }),
      expect.objectContaining({ name: 'bn.running_var', reason: 'buffer', rel_l2: 4 }),
    ]);
    const g = globalUpdate(sets.pooled);
    expect(g.sumSqD).toBeCloseTo(0.1, 14);
    expect(g.sumSqA).toBe(27);
    expect(g.R).toBeCloseTo(Math.sqrt(0.1) / Math.sqrt(27), 14);
    expect(g.R).toBeCloseTo(0.060858061945018, 12);
    // Var over the 6 pooled elements: D = [0,.1,0,0,0,.3] -> 0.1/6 - (0.4/6)^2; A = [1,0,0,1,3,4] -> 27/6 - 1.5^2
    expect(g.varD).toBeCloseTo(0.1 / 6 - (0.4 / 6) ** 2, 14);
    expect(g.varA).toBeCloseTo(2.25, 14);
    expect(g.varRatio).toBeCloseTo((0.1 / 6 - (0.4 / 6) ** 2) / 2.25, 14);
    expect(g.growth).toBeCloseTo(Math.sqrt(2.01 + 27.49) / Math.sqrt(27), 14);
  });
  it('keeps tied aliases and optimizer state out of S', () => {
    const w = gaussian(16, 1);
    const run = pairRun(
      { 'tok_emb.weight': mat(w, 4, 4), 'lm_head.weight': { ...mat(w, 4, 4), aliasOf: 'tok_emb.weight' }, 'optimizer.state.0.exp_avg': vec([1, 2]) },
      { 'tok_emb.weight': mat(w, 4, 4), 'lm_head.weight': { ...mat(w, 4, 4), aliasOf: 'tok_emb.weight' }, 'optimizer.state.0.exp_avg': vec([3, 2]) },
    );
    const sets = tensorSets(run.overall);
    expect(sets.pooled.map((p) => p.name)).toEqual(['tok_emb.weight']);
    expect(sets.apart.map((a) => [a.name, a.reason])).toEqual([
      ['lm_head.weight', 'alias'],
      ['optimizer.state.0.exp_avg', 'optimizer_state'],
    ]);
  });
  it('marks a tensor that moved from zero with r = null, not Infinity', () => {
    const run = pairRun({ 'fc.bias': vec([0, 0, 0]) }, { 'fc.bias': vec([0.1, 0, -0.2]) });
    const [p] = tensorSets(run.overall).pooled;
    expect(p.fromZero).toBe(true);
    expect(p.r).toBeNull();
    expect(globalUpdate([p]).R).toBeNull();
  });
});

describe('builder consistency', () => {
  it('computes stats and pair values that agree with each other', () => {
    const a = [1, -2, NaN, 4];
    const b = [1, -1, NaN, Infinity];
    const s = statsOf(a);
    expect([s.finite, s.nan, s.mean, s.l2]).toEqual([3, 1, 1, Math.sqrt(21)]);
    const p = pairOf(a, b);
    // both-finite positions 0,1: D = [0, 1]; position 3 is new non-finite; NaN==NaN at 2
    expect([p.both_finite, p.l2_diff, p.changed, p.new_non_finite]).toEqual([2, 1, 2, 1]);
    expect(p.rel_l2).toBeCloseTo(1 / Math.sqrt(21), 14);
  });
});

describe('checkpointIntervals', () => {
  const info = (metadata: Record<string, unknown>, i: number): InputInfo => ({
    path: `c${i}`, format: 'safetensors', tensors: 0, params: 0, bytes: 0, metadata, orderIsDepth: false, order: [], entries: [],
  });
  it('reads step metadata given as strings (safetensors __metadata__)', () => {
    const iv = checkpointIntervals([{ step: '0' }, { step: '100' }, { step: '300' }].map(info));
    expect(iv).toMatchObject({ unit: 'step', positions: [0, 100, 300], intervals: [100, 200], assumedEqual: false });
  });
  it('falls back to epoch numbers, then to equal intervals with a note', () => {
    expect(checkpointIntervals([{ epoch: 1 }, { epoch: 2 }, { epoch: 4 }].map(info)).intervals).toEqual([1, 2]);
    const partial = checkpointIntervals([{ step: '5' }, {}, { step: '9' }].map(info));
    expect(partial.assumedEqual).toBe(true);
    expect(partial.intervals).toEqual([1, 1]);
    expect(partial.note).toMatch(/step metadata missing on c1.*assumed equal/);
    const decreasing = checkpointIntervals([{ step: 9 }, { step: 5 }].map(info));
    expect(decreasing.note).toMatch(/does not increase \(9 then 5\)/);
    expect(checkpointIntervals([{}, {}].map(info)).note).toBe('no step or epoch metadata: intervals are assumed equal');
  });
  it('never reads file names', () => {
    const iv = checkpointIntervals([info({}, 0), { ...info({}, 1), path: 'model_step_500.safetensors' }]);
    expect(iv.unit).toBeNull();
  });
});

describe('precisionChange', () => {
  const w = gaussian(64, 3);
  it('is a precision change when every change is a dtype change (scale tensors of quantized weights allowed)', () => {
    const run = pairRun({ 'fc.weight': mat(w, 8, 8), 'fc.bias': vec([1, 2]) }, { 'fc.weight': mat(toBF16(w), 8, 8, 'BF16'), 'fc.bias': vec([1, 2]) });
    expect(precisionChange(run.overall)).toMatchObject({ isPrecisionChange: true, conversions: ['F32 -> BF16'], tensors: 1 });
    const q = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(w.map(Math.round), 8, 8, 'I8'), 'fc.weight_scale': vec(Array(8).fill(0.01)) });
    expect(precisionChange(q.overall)).toMatchObject({ isPrecisionChange: true, scaleTensors: ['fc.weight_scale'], integerCoded: ['fc.weight'] });
    // torch dynamic quantization: per-tensor scale / zero point, and the module's activation scale
    const dq = pairRun(
      { 'fc1.weight': mat(w, 8, 8), 'fc1.bias': vec([1, 2]) },
      {
        'fc1.weight': mat(w.map(Math.round), 8, 8, 'I8'),
        'fc1.weight.scale': { data: [0.01], shape: [], dtype: 'F64' },
        'fc1.weight.zero_point': { data: [0], shape: [], dtype: 'I64' },
        'fc1.scale': { data: [0.02], shape: [] },
        'fc1.zero_point': { data: [0], shape: [], dtype: 'I64' },
        'fc1.bias': vec([1, 2]),
      },
    );
    const p = precisionChange(dq.overall);
    expect(p.isPrecisionChange).toBe(true);
    expect(p.scaleTensors.sort()).toEqual(['fc1.scale', 'fc1.weight.scale', 'fc1.weight.zero_point', 'fc1.zero_point']);
    expect(integerCodedReason(p)).toBe('1 converted tensor is stored as integer codes (F32 -> I8), not comparable as values without dequantization: see --quantization-analysis');
    expect(integerCodedReason(precisionChange(pairRun({ w: mat(w, 8, 8) }, { w: mat(toBF16(w), 8, 8, 'BF16') }).overall))).toBeNull();
  });
  it('is not one when a value changed at equal dtype or an unrelated tensor appeared', () => {
    const run = pairRun({ 'fc.weight': mat(w, 8, 8), 'fc.bias': vec([1, 2]) }, { 'fc.weight': mat(toBF16(w), 8, 8, 'BF16'), 'fc.bias': vec([1, 3]) });
    expect(precisionChange(run.overall).isPrecisionChange).toBe(false);
    const added = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(toBF16(w), 8, 8, 'BF16'), 'head.weight': mat(w, 8, 8) });
    expect(precisionChange(added.overall).isPrecisionChange).toBe(false);
  });
});

describe('precisionChange: converted or trained and cast', () => {
  const w = gaussian(64, 3);
  const trained = pairNoise(w, 0.05, 11);

  it('a BF16 cast is within its rounding bound (2^-8 relative per element); a trained-then-cast tensor is beyond it', () => {
    const cast = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(toBF16(w), 8, 8, 'BF16') });
    const c = castCheck(cast.overall.tensors[0]);
    expect(c.consistent).toBe(true);
    expect(c.rel_l2!).toBeGreaterThan(0);
    expect(c.rel_l2!).toBeLessThanOrEqual(2 ** -8);
    // the bound: sqrt(rho^2 ||A||^2 + n s^2) / ||A|| with rho = 2^-7 (2u of BF16), s = 2^-133: rho to 1e-12
    expect(c.bound!).toBeCloseTo(2 ** -7, 12);
    expect(precisionChange(cast.overall)).toMatchObject({ isPrecisionChange: true, beyondCast: [], unchecked: [] });

    const both = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(toBF16(trained), 8, 8, 'BF16') });
    const p = precisionChange(both.overall);
    expect(p.isPrecisionChange).toBe(false);
    expect(p.beyondCast).toEqual(['fc.weight']);
    expect(p.checks[0].rel_l2!).toBeCloseTo(0.05, 2);
    const kind = pairKind(both.overall, tensorSets(both.overall), config().thresholds);
    expect(kind.kind).toBe('training');
    expect(kind.note).toMatch(/^trained and cast: a dtype change \(F32 -> BF16 on 1 tensor\) also happened, and its tensor moved beyond what the conversion can cause \(fc\.weight: rel_l2 0\.0\d+, the conversion at most 0\.0078\d*\)$/);
  });

  it('integer codes dequantized with their scale: within half a step per element is a conversion, a trained copy is not', () => {
    const s = Math.max(...w.map(Math.abs)) / 127; // absmax scaling: no clipping
    const codes = Array.from(w, (x) => Math.max(-127, Math.min(127, Math.round(x / s))));
    const quant = { scale: [s], offset: [0], axis: null };
    const q = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': { ...mat(codes, 8, 8, 'I8'), quant }, 'fc.weight_scale': { data: [s], shape: [] } });
    const c = castCheck(q.overall.tensors.find((t) => t.name === 'fc.weight')!);
    expect(c.consistent).toBe(true);
    // rounding error <= s / 2 per element; bound = sqrt(step_sq) / ||A|| = sqrt(64 s^2) / ||A|| (4x the half-step bound)
    expect(c.bound!).toBeCloseTo(Math.sqrt(64 * s * s) / Math.hypot(...w), 12);
    expect(precisionChange(q.overall).isPrecisionChange).toBe(true);

    const codesT = Array.from(trained, (x) => Math.max(-127, Math.min(127, Math.round(x / s))));
    const qt = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': { ...mat(codesT, 8, 8, 'I8'), quant }, 'fc.weight_scale': { data: [s], shape: [] } });
    expect(precisionChange(qt.overall)).toMatchObject({ isPrecisionChange: false, beyondCast: ['fc.weight'] });
  });

  it('integer codes without a convention cannot be checked and do not count against a precision change', () => {
    const q = pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(w.map(Math.round), 8, 8, 'I8') });
    const p = precisionChange(q.overall);
    expect(p).toMatchObject({ isPrecisionChange: true, beyondCast: [], unchecked: ['fc.weight'] });
    expect(p.checks[0].basis).toMatch(/^not checked: integer codes without a recognised/);
    expect(dtypeChangeNote(p)).toBeNull();
  });

  it('a training step beside a tensor that was only cast is training with a plain note', () => {
    const r = pairRun({ 'fc.weight': mat(w, 8, 8), 'fc.bias': vec([1, 2]) }, { 'fc.weight': mat(toBF16(w), 8, 8, 'BF16'), 'fc.bias': vec([1, 3]) });
    const kind = pairKind(r.overall, tensorSets(r.overall), config().thresholds);
    expect(kind.kind).toBe('training');
    expect(kind.note).toBe('a dtype change (F32 -> BF16 on 1 tensor) happened beside the training step');
  });
});

describe('notContinuation', () => {
  it('measures the re-initialised share of the changed parameters', () => {
    const big = gaussian(400, 10);
    const small = gaussian(100, 11);
    // 400 parameters re-drawn independently, 100 parameters trained a little: share = 400 / 500 = 0.8
    const run = pairRun(
      { 'enc.weight': mat(big, 20, 20), 'head.weight': mat(small, 10, 10) },
      { 'enc.weight': mat(gaussian(400, 99), 20, 20), 'head.weight': mat(pairNoise(small, 0.05, 12), 10, 10) },
    );
    const c = notContinuation(tensorSets(run.overall), config().thresholds);
    expect(c).toMatchObject({ notContinuation: true, changedParams: 500, reinitialisedParams: 400, reinitialised: ['enc.weight'] });
    expect(c.share).toBeCloseTo(0.8, 14);
    const c2 = notContinuation(tensorSets(run.overall), config({ not_continuation_share: 0.9 }).thresholds);
    expect(c2.notContinuation).toBe(false);
  });
});

describe('deadUnitChange', () => {
  it('counts units below dead_unit_ratio x the median unit norm', () => {
    // rows norms A: [1, 1, 1, 1]; B: [1, 1, 0.05, 1] -> one newly dead unit
    const a = [1, 0, 0, 1, 1, 0, 0, 1].map((x) => x / Math.SQRT2);
    const b = [...a];
    b[4] *= 0.05;
    b[5] *= 0.05;
    const run = pairRun({ 'fc.weight': mat(a, 4, 2) }, { 'fc.weight': mat(b, 4, 2) });
    expect(deadUnitChange(run.overall.tensors[0], 0.1)).toEqual({ units: 4, deadA: 0, deadB: 1, newlyDead: 1 });
    expect(deadUnitChange(run.overall.tensors[0], 0.04)).toEqual({ units: 4, deadA: 0, deadB: 0, newlyDead: 0 });
  });
});
