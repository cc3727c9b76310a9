import { describe, expect, it } from 'vitest';
import { CONVERGENCE_ACTIONS, convergenceAnalysis, type ConvergenceResult } from '../../../lib/analyses/convergenceAnalysis.js';
import type { DiffRun } from '../../../lib/diff/ModelDiff.js';
import { chain, config, gaussian, handRun, jsonRoundTrip, makeRun, mat, pairRun, scale, toBF16 } from './builders.js';

const run = (r: DiffRun, c = config()): ConvergenceResult => convergenceAnalysis.run({ run: r, config: c });

const ratio = (0.1 / 6 - (0.4 / 6) ** 2) / 2.25; // Var(D) / Var(A) of handRun, see builders.ts

/** Unit directions in 4-D with cos(e1, d2) = -0.9 and cos(d2, d3) = +0.3. */
const e1 = [1, 0, 0, 0];
const d2 = [-0.9, Math.sqrt(1 - 0.81), 0, 0];
const d3 = [0.3 * d2[0], 0.3 * d2[1], Math.sqrt(1 - 0.09), 0];

describe('convergence_analysis (#2)', () => {
  it('stability = 1 / (1 + Var(D)/Var(A)) by hand; the I64 counter and the buffer change nothing', () => {
    const r = run(handRun());
    expect(r.stability).toBeCloseTo(1 / (1 + ratio), 14);
    expect(r.status).toBe('stable');
    expect(r.action).toBe(CONVERGENCE_ACTIONS.stable);
    expect(r.detail.oscillation.note).toBe('needs 3 or more checkpoints');
    const without = run(
      pairRun({ 'l1.weight': mat([1, 0, 0, 1], 2, 2), 'l1.bias': { data: [3, 4] } }, { 'l1.weight': mat([1, 0.1, 0, 1], 2, 2), 'l1.bias': { data: [3, 4.3] } }),
    );
    expect(without.stability).toBe(r.stability);
    expect(convergenceAnalysis.format(r)).toEqual([`convergence_analysis: status=stable, stability=0.9946, action=${CONVERGENCE_ACTIONS.stable}`]);
  });

  it('converged when R of the last interval < 1e-3', () => {
    const r = run(makeRun(chain([3, 4, 0, 0], [0.2, 5e-4])));
    expect(r.detail.last_interval.R).toBeCloseTo(5e-4, 14);
    expect(r.status).toBe('converged');
    expect(r.action).toBe(CONVERGENCE_ACTIONS.converged);
    expect(run(makeRun(chain([3, 4, 0, 0], [0.2, 2e-3]))).status).toBe('stable');
  });

  it('diverging on a new Inf or on >= 10x growth, with level CRITICAL', () => {
    const w = gaussian(16, 1);
    const inf = Float64Array.from(w);
    inf[0] = Infinity;
    const r = run(pairRun({ 'fc.weight': mat(w, 4, 4) }, { 'fc.weight': mat(inf, 4, 4) }));
    expect(r.status).toBe('diverging');
    expect(r.level).toBe('CRITICAL');
    expect(run(pairRun({ 'fc.weight': mat(w, 4, 4) }, { 'fc.weight': mat(scale(w, 50), 4, 4) })).status).toBe('diverging');
  });

  it('oscillating when consecutive updates are anti-parallel', () => {
    const r = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.1], [e1, [-1, 0, 0, 0]])));
    expect(r.detail.update_cosines).toEqual([{ at: 1, cosine: expect.closeTo(-1, 12), tensors: 1 }]);
    expect(r.status).toBe('oscillating');
    expect(r.level).toBe('WARNING');
    expect(r.action).toBe(CONVERGENCE_ACTIONS.oscillating);
    // parallel updates, or a mild -0.1, are not oscillation (threshold -0.2)
    expect(run(makeRun(chain([3, 4, 0, 0], [0.1, 0.1], [e1, e1]))).status).toBe('stable');
    const mild = [-0.1, Math.sqrt(0.99), 0, 0];
    const rm = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.1], [e1, mild])));
    expect(rm.detail.update_cosines[0].cosine).toBeCloseTo(-0.1, 12);
    expect(rm.status).toBe('stable');
  });

  it('convergence_patience sets how many recent interior checkpoints are averaged', () => {
    // cosines -0.9 (at 1) then +0.3 (at 2): patience 1 sees +0.3, patience 2 sees -0.3
    const r4 = makeRun(chain([3, 4, 0, 0], [0.1, 0.1, 0.1], [e1, d2, d3]));
    const p1 = run(r4);
    expect(p1.detail.update_cosines.map((c) => c.cosine)).toEqual([expect.closeTo(-0.9, 12), expect.closeTo(0.3, 12)]);
    expect(p1.status).toBe('stable');
    const p2 = run(r4, config({ convergence_patience: 2 }));
    expect(p2.detail.oscillation.mean_cosine).toBeCloseTo(-0.3, 12);
    expect(p2.status).toBe('oscillating');
  });

  it('answers a precision change as stable with its own action', () => {
    const w = gaussian(256, 5, 0.05);
    const r = run(pairRun({ 'fc.weight': mat(w, 16, 16) }, { 'fc.weight': mat(toBF16(w), 16, 16, 'BF16') }));
    expect(r.status).toBe('stable');
    expect(r.action).toBe(CONVERGENCE_ACTIONS.precision_change);
    expect(r.stability!).toBeGreaterThan(0.99999);
    expect(convergenceAnalysis.format(r)).toEqual([`convergence_analysis: status=stable, stability=1, action=${CONVERGENCE_ACTIONS.precision_change}`]);
    expect(r.pair_kind).toBe('precision_change');
  });

  it('answers null with the reason when B is not a continuation', () => {
    const r = run(pairRun({ 'fc.weight': mat(gaussian(400, 1), 20, 20) }, { 'fc.weight': mat(gaussian(400, 2), 20, 20) }));
    expect([r.status, r.stability, r.action]).toEqual([null, null, null]);
    expect(Object.keys(r.reasons).sort()).toEqual(['action', 'stability', 'status']);
    expect(convergenceAnalysis.format(r)).toEqual([
      'convergence_analysis: status=null, stability=null, action=null (not a continuation: 100 % of the changed parameters were re-initialised)',
    ]);
  });

  it('every numeric field moves between two different runs', () => {
    const a = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.1], [e1, [-1, 0, 0, 0]])));
    const b = run(makeRun(chain([3, 4, 0, 0], [0.1, 0.01], [e1, e1])));
    expect(a.stability).not.toBeCloseTo(b.stability!, 4);
    expect([a.status, b.status]).toEqual(['oscillating', 'stable']);
    expect(jsonRoundTrip(a)).toEqual(a);
  });
});
