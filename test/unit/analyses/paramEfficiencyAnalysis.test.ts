/**
 * #6 --param-efficiency-analysis: pruning potential from the |w| / RMS histogram, utilization from
 * unit norms, efficiency ratio, stable rank in the detail, on matrices with hand-computed answers.
 */
import { describe, expect, it } from 'vitest';
import { GAUSSIAN_PRUNING_BASELINE, paramEfficiencyAnalysis } from '../../../lib/analyses/paramEfficiencyAnalysis.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import { gaussian, jsonRoundTrip, mat, pairRun, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

const run = (a: Record<string, TensorSpec>, b: Record<string, TensorSpec>) => jsonRoundTrip(paramEfficiencyAnalysis.run({ run: pairRun(a, b), config: DEFAULT_CONFIG }));

describe('#6 parameter efficiency', () => {
  it('hand-computed shares: a zero weight, a dead unit, the efficiency ratio and a rank-one stable rank', () => {
    // A: rows [1,1,1,1] and [1,1,1,0]: RMS sqrt(7/8) = 0.935, one |w| < 0.0935 -> 1/8; both rows live.
    // B: rows [1,1,1,1] and [0.01,0,0,0]: row norms 2 and 0.01 < 0.1 x median 1.005 -> dead; RMS 0.707,
    //    four |w| < 0.0707 -> 4/8; utilization 4/8.
    const r = run({ 'fc.weight': mat([1, 1, 1, 1, 1, 1, 1, 0], 2, 4) }, { 'fc.weight': mat([1, 1, 1, 1, 0.01, 0, 0, 0], 2, 4) });
    expect(r.detail.a.pruning_potential).toBeCloseTo(1 / 8, 15);
    expect(r.detail.a.utilization).toBe(1);
    expect(r.pruning_potential).toBeCloseTo(0.5, 15);
    expect(r.utilization).toBeCloseTo(0.5, 15);
    expect(r.efficiency_ratio).toBeCloseTo(0.5, 15);
    expect(r.detail.b.matrices[0]).toMatchObject({ units: 2, live_units: 1 });
    // B is rank one up to the 0.01: stable rank ||W||_F^2 / sigma_max^2 = 1.0000187
    expect(r.detail.b.matrices[0].stable_rank).toBeCloseTo(1.0000187, 6);
    expect(r.detail.gaussian_baseline).toBe(GAUSSIAN_PRUNING_BASELINE);
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/^param_efficiency_analysis: efficiency_ratio=0\.5, utilization=0\.5, pruning_potential=0\.5 \(gaussian baseline 0\.0797\); stable rank: fc\.weight=1/);
  });

  it('a Gaussian matrix sits at the baseline erf(0.1 / sqrt 2) = 0.0797', () => {
    const g = gaussian(200 * 200, 4);
    const r = run({ 'fc.weight': mat(g, 200, 200) }, { 'fc.weight': mat(g, 200, 200) });
    expect(r.pruning_potential!).toBeGreaterThan(0.075);
    expect(r.pruning_potential!).toBeLessThan(0.085);
    expect(Math.abs(GAUSSIAN_PRUNING_BASELINE - 0.0797)).toBeLessThan(1e-4);
  });

  it('integer-coded matrices are not judged: null with the reason; embeddings and biases are not weight matrices', () => {
    const r = run({ 'fc.weight': mat([1, 2, 3, 4], 2, 2), 'emb.weight': mat([0, 0, 0, 1], 2, 2) }, { 'fc.weight': mat([1, 2, 3, 4], 2, 2, 'I8'), 'emb.weight': mat([0, 0, 0, 1], 2, 2) });
    expect(r.utilization).toBeNull();
    expect(r.reasons.utilization).toMatch(/integer-coded/);
    expect(r.efficiency_ratio).toBeNull();
    expect(r.detail.a.matrices.map((m) => m.tensor)).toEqual(['fc.weight']);
  });

  it('no field is a constant', () => {
    const a = { 'fc.weight': mat([1, 1, 1, 1, 1, 1, 1, 0], 2, 4) };
    const checked = expectFieldsMove(
      'param_efficiency_analysis',
      run(a, { 'fc.weight': mat([1, 1, 1, 1, 0.01, 0, 0, 0], 2, 4) }),
      run(a, { 'fc.weight': mat([1, 1, 0.01, 1, 1, 1, 1, 1], 2, 4) }),
    );
    expect(checked).toEqual(['efficiency_ratio', 'utilization', 'pruning_potential']);
  });
});
