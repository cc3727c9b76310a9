import { describe, expect, it } from 'vitest';
import { learningProgress, type LearningProgressResult } from '../../../lib/analyses/learningProgress.js';
import type { DiffRun } from '../../../lib/diff/ModelDiff.js';
import { chain, config, gaussian, handRun, jsonRoundTrip, makeRun, mat, pairNoise, pairRun, scale, toBF16, vec } from './builders.js';

const run = (r: DiffRun, c = config()): LearningProgressResult => learningProgress.run({ run: r, config: c });

/** A 16x16 weight matrix and a bias, A and B = A + `relative` x ||A|| of noise in the matrix. */
function smallStep(relative: number) {
  const w = gaussian(256, 7, 0.1);
  return pairRun({ 'fc.weight': mat(w, 16, 16), 'fc.bias': vec([0.1, 0.2]) }, { 'fc.weight': mat(pairNoise(w, relative, 8), 16, 16), 'fc.bias': vec([0.1, 0.2]) });
}

describe('learning_progress (#1)', () => {
  it('magnitude is R computed by hand, with the I64 counter and the running_var buffer never pooled', () => {
    const r = run(handRun());
    expect(r.magnitude).toBeCloseTo(Math.sqrt(0.1) / Math.sqrt(27), 14);
    expect(r.trend).toBe('improving');
    expect(r.speed).toBeNull();
    expect(r.reasons.speed).toBe('needs 3 or more checkpoints');
    expect(r.detail.apart.map((a) => a.name)).toEqual(['bn.num_batches_tracked', 'bn.running_var']);
    expect(learningProgress.format(r)).toEqual(['learning_progress: trend=improving, magnitude=0.06086, speed=null (needs 3 or more checkpoints)']);
    expect(r.level).toBeUndefined();
  });

  it('trend is stable below converged_magnitude (1e-3) and improving above', () => {
    const still = run(smallStep(5e-4));
    expect(still.magnitude!).toBeLessThan(1e-3);
    expect(still.trend).toBe('stable');
    const moving = run(smallStep(2e-3));
    expect(moving.magnitude!).toBeGreaterThan(1e-3);
    expect(moving.trend).toBe('improving');
    // the threshold is the config's
    expect(run(smallStep(2e-3), config({ converged_magnitude: 1e-2 })).trend).toBe('stable');
  });

  it('is degrading on a new NaN, even when R is tiny', () => {
    const w = gaussian(16, 1);
    const b = Float64Array.from(w);
    b[5] = NaN;
    const r = run(pairRun({ 'fc.weight': mat(w, 4, 4) }, { 'fc.weight': mat(b, 4, 4) }));
    expect(r.magnitude).toBe(0);
    expect(r.trend).toBe('degrading');
    expect(r.level).toBe('WARNING');
    expect(r.detail.signals).toEqual([{ pair: '0->1', signal: 'new_non_finite', tensor: 'fc.weight', value: 1 }]);
  });

  it('reports which interval of a trajectory degraded', () => {
    const ck = chain([3, 4, 0, 0], [0.1, 0.05]);
    (ck[2].tensors['fc.weight'].data as Float64Array)[3] = Infinity;
    const r = run(makeRun(ck));
    expect(r.trend).toBe('degrading');
    expect(r.detail.signals).toEqual([
      { pair: '1->2', signal: 'new_non_finite', tensor: 'fc.weight', value: 1 },
      { pair: '0->2', signal: 'new_non_finite', tensor: 'fc.weight', value: 1 },
    ]);
  });

  it('is degrading on >= 10x weight-norm growth of one matrix, improving at 9.9x', () => {
    const w1 = gaussian(64, 2);
    const w2 = gaussian(64, 3);
    const make = (c: number) => pairRun({ a: mat(w1, 8, 8), b: mat(w2, 8, 8) }, { a: mat(w1, 8, 8), b: mat(scale(w2, c), 8, 8) });
    const r10 = run(make(10.01));
    expect(r10.trend).toBe('degrading');
    expect(r10.detail.signals[0]).toMatchObject({ signal: 'norm_growth', tensor: 'b' });
    expect(r10.detail.signals[0].value).toBeCloseTo(10.01, 12);
    expect(run(make(9.9)).trend).toBe('improving');
  });

  it('is degrading when B has more dead units than A', () => {
    const w = gaussian(64, 4);
    const dead = Float64Array.from(w);
    for (let j = 0; j < 8; j++) dead[2 * 8 + j] *= 0.01; // row 2 falls to 1 % of its norm
    const alive = Float64Array.from(w);
    for (let j = 0; j < 8; j++) alive[2 * 8 + j] *= 0.5; // same row halves: still alive
    const rDead = run(pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(dead, 8, 8) }));
    expect(rDead.trend).toBe('degrading');
    expect(rDead.detail.dead_units).toMatchObject({ tensors: 1, dead_a: 0, dead_b: 1, newly_dead: 1 });
    expect(rDead.detail.signals).toEqual([{ pair: '0->1', signal: 'dead_units', tensor: null, value: 1, value_a: 0 }]);
    expect(run(pairRun({ 'fc.weight': mat(w, 8, 8) }, { 'fc.weight': mat(alive, 8, 8) })).trend).toBe('improving');
  });

  it('speed on 3 checkpoints with equal intervals is 1 - R_2 / R_1', () => {
    const r = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.025])));
    expect(r.detail.steps.map((s) => s.R)).toEqual([expect.closeTo(0.1, 14), expect.closeTo(0.025, 14)]);
    expect(r.speed).toBeCloseTo(0.75, 12);
    expect(r.detail.intervals.assumed_equal).toBe(true);
    expect(r.detail.intervals.note).toBe('no step or epoch metadata: intervals are assumed equal');
    expect(learningProgress.format(r)[0]).toMatch(/speed=0\.75 \(intervals assumed equal\)$/);
  });

  it('step metadata normalises unequal intervals: R / steps', () => {
    // steps 0, 100, 300: per-step sizes 0.1/100 = 1e-3 and 0.025/200 = 1.25e-4 -> speed = 1 - 0.125
    const meta = [{ step: '0' }, { step: '100' }, { step: '300' }];
    const r = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.025], undefined, meta)));
    expect(r.speed).toBeCloseTo(0.875, 12);
    expect(r.detail.steps.map((s) => s.per_unit)).toEqual([expect.closeTo(1e-3, 15), expect.closeTo(1.25e-4, 15)]);
    expect(r.detail.intervals).toMatchObject({ unit: 'step', positions: [0, 100, 300], assumed_equal: false });
    // the same R_k over epochs 1, 2, 3 (equal) gives 0.75 again
    const e = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.025], undefined, [{ epoch: 1 }, { epoch: 2 }, { epoch: 3 }])));
    expect(e.speed).toBeCloseTo(0.75, 12);
  });

  it('fits a geometric decay over 4 checkpoints, and is 0 when steps grow', () => {
    // R_k = 0.1, 0.05, 0.025 at midpoints 0.5, 1.5, 2.5: exact fit, speed = 1 - 0.25
    expect(run(makeRun(chain([3, 4, 0, 0], [0.1, 0.05, 0.025]))).speed).toBeCloseTo(0.75, 12);
    expect(run(makeRun(chain([3, 4, 0, 0], [0.01, 0.02, 0.04]))).speed).toBe(0);
  });

  it('answers a precision change as stable with speed null, though R exceeds 1e-3', () => {
    const w = gaussian(256, 5, 0.05);
    const r = run(pairRun({ 'fc.weight': mat(w, 16, 16) }, { 'fc.weight': mat(toBF16(w), 16, 16, 'BF16') }));
    expect(r.pair_kind).toBe('precision_change');
    expect(r.magnitude!).toBeGreaterThan(1e-3);
    expect(r.trend).toBe('stable');
    expect(r.speed).toBeNull();
    expect(r.reasons.speed).toBe('precision change (F32 -> BF16 on 1 tensor), not a training step');
    expect(learningProgress.format(r)[0]).toMatch(
      /^learning_progress: trend=stable, magnitude=0\.001\d+, speed=null \(precision change \(F32 -> BF16 on 1 tensor\), not a training step\)$/,
    );
  });

  it('gives no magnitude when the converted tensors are integer codes (R over S would read 0)', () => {
    const w = gaussian(64, 5, 0.05);
    const r = run(pairRun({ 'fc.weight': mat(w, 8, 8), 'fc.bias': vec([1, 2]) }, { 'fc.weight': mat(w.map((x) => Math.round(x * 100)), 8, 8, 'I8'), 'fc.weight_scale': vec(Array(8).fill(0.01)), 'fc.bias': vec([1, 2]) }));
    expect(r.pair_kind).toBe('precision_change');
    expect(r.trend).toBe('stable');
    expect(r.magnitude).toBeNull();
    expect(r.reasons.magnitude).toMatch(/^1 converted tensor is stored as integer codes \(F32 -> I8\)/);
  });

  it('answers null with the reason when B is not a continuation of A', () => {
    const r = run(pairRun({ 'fc.weight': mat(gaussian(400, 1), 20, 20) }, { 'fc.weight': mat(gaussian(400, 2), 20, 20) }));
    expect(r.pair_kind).toBe('not_continuation');
    expect([r.trend, r.magnitude, r.speed]).toEqual([null, null, null]);
    for (const f of ['trend', 'magnitude', 'speed']) expect(r.reasons[f]).toBe('not a continuation: 100 % of the changed parameters were re-initialised');
    expect(learningProgress.format(r)).toEqual([
      'learning_progress: trend=null, magnitude=null, speed=null (not a continuation: 100 % of the changed parameters were re-initialised)',
    ]);
  });

  it('every numeric field moves between two different runs', () => {
    const a = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.05])));
    const b = run(makeRun(chain([3, 4, 0, 0], [0.2, 0.2])));
    expect(a.magnitude).not.toBeCloseTo(b.magnitude!, 6);
    expect(a.speed).toBeCloseTo(0.5, 12);
    expect(b.speed).toBeCloseTo(0, 12);
    expect(jsonRoundTrip(a)).toEqual(a);
    expect(jsonRoundTrip(b)).toEqual(b);
  });
});
