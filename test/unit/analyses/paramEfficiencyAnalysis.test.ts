/**
 * #6 --param-efficiency-analysis: pruning potential from the |w| / RMS histogram, utilization from
 * unit norms, efficiency ratio, stable rank in the detail, on matrices with hand-computed answers.
 */
import { describe, expect, it } from 'vitest';
import { countBelow, erf, GAUSSIAN_PRUNING_BASELINE, gaussianSmallShare, judgeUnits, paramEfficiencyAnalysis } from '../../../lib/analyses/paramEfficiencyAnalysis.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import { config, gaussian, jsonRoundTrip, mat, pairRun, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

const run = (a: Record<string, TensorSpec>, b: Record<string, TensorSpec>, pruning_threshold = 0.1, spectral = true) =>
  jsonRoundTrip(paramEfficiencyAnalysis.run({ run: pairRun(a, b, { spectral, lowRank: false }), config: config({ pruning_threshold }) }));

describe('#6 parameter efficiency', () => {
  it('hand-computed shares: a zero weight, a dead unit, the efficiency ratio and a rank-one stable rank', () => {
    // A: rows [1,1,1,1] and [1,1,1,0]: RMS sqrt(7/8) = 0.935, one |w| < 0.0935 -> 1/8; both rows live.
    // B: rows [1,1,1,1] and [0.01,0,0,0]: row norms 2 and 0.01 < 0.1 x median 1.005 -> dead; RMS 0.707,
    //    four |w| < 0.0707 -> 4/8; utilization 4/8.
    const r = run({ 'fc.weight': mat([1, 1, 1, 1, 1, 1, 1, 0], 2, 4) }, { 'fc.weight': mat([1, 1, 1, 1, 0.01, 0, 0, 0], 2, 4) });
    expect(r.detail.a.pruning_potential).toBeCloseTo(1 / 8, 15);
    expect(r.detail.a.utilization).toBe(1);
    expect(r.pruning_potential).toBeCloseTo(0.5, 15);
    expect(r.detail.b.prunable_params).toBeCloseTo(4, 12);
    expect(r.utilization).toBeCloseTo(0.5, 15);
    expect(r.efficiency_ratio).toBeCloseTo(0.5, 15);
    expect(r.detail.b.matrices[0]).toMatchObject({ units: 2, live_units: 1 });
    // B is rank one up to the 0.01: stable rank ||W||_F^2 / sigma_max^2 = 1.0000187
    expect(r.detail.b.matrices[0].stable_rank).toBeCloseTo(1.0000187, 6);
    expect(r.detail.gaussian_baseline).toBe(GAUSSIAN_PRUNING_BASELINE);
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/^param_efficiency_analysis: efficiency_ratio=0\.5, utilization=0\.5, pruning_potential=0\.5 \(gaussian baseline 0\.07966\); stable rank: fc\.weight=1/);
  });

  it('erf agrees with Python math.erf (series below 2.5, continued fraction above) within 1e-14', () => {
    // /usr/bin/python3 -c "from math import erf; print(erf(x))"
    const table: [number, number][] = [
      [0, 0],
      [1e-8, 1.1283791670955126e-8],
      [0.01, 0.011283415555849616],
      [0.1 / Math.SQRT2, 0.07965567455405796],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.4, 0.999311486103355],
      [2.5, 0.999593047982555],
      [2.6, 0.9997639655834707],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [5, 0.9999999999984626],
      [6, 1],
      [-0.3, -0.3286267594591274],
    ];
    for (const [x, y] of table) expect(Math.abs(erf(x) - y)).toBeLessThan(1e-14);
    // the tail where the continued fraction works: 1 - erf(3) = erfc(3) = 2.209049699858544e-5 (scipy.special.erfc)
    expect((1 - erf(3)) / 2.209049699858544e-5 - 1).toBeLessThan(1e-9);
  });

  it('the Gaussian baseline is erf(t / sqrt 2) at any pruning_threshold t', () => {
    // Python: erf(0.05/sqrt(2)) = 0.039877611676744924, erf(0.1/sqrt(2)) = 0.07965567455405796,
    // erf(0.15/sqrt(2)) = 0.11923538474048502, erf(0.25/sqrt(2)) = 0.19741265136584743
    expect(gaussianSmallShare(0.05)).toBeCloseTo(0.039877611676744924, 14);
    expect(GAUSSIAN_PRUNING_BASELINE).toBeCloseTo(0.07965567455405796, 14);
    expect(gaussianSmallShare(0.15)).toBeCloseTo(0.11923538474048502, 14);
    expect(gaussianSmallShare(0.25)).toBeCloseTo(0.19741265136584743, 14);
    const g = mat(gaussian(16, 1), 4, 4);
    const r = run({ 'fc.weight': g }, { 'fc.weight': g }, 0.25);
    expect(r.detail.gaussian_baseline).toBeCloseTo(0.19741265136584743, 14);
    expect(r.detail.pruning_threshold).toBe(0.25);
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/\(gaussian baseline 0\.1974; t=0\.25 falls inside a 0\.1-RMS histogram bin: share interpolated, exact in \[/);
  });

  it('the measured share interpolates within the 0.1-RMS bins instead of snapping to them', () => {
    // countBelow on a hand histogram: bins of 0.1 with counts 10, 20, 30, 0 ..., 40 above; total 100.
    const h = { rms: 1, bin_width: 0.1, counts: [10, 20, 30, ...new Array<number>(37).fill(0)], above: 40, non_finite: 0 };
    expect(countBelow(h, 0.1)).toEqual({ below: 10, total: 100, lower: 10, upper: 10 });
    // inside a bin the histogram vouches only for the whole bins below t and the bin holding it
    expect(countBelow(h, 0.15)).toMatchObject({ lower: 10, upper: 30 });
    expect(countBelow(h, 0.001)).toMatchObject({ lower: 0, upper: 10 });
    expect(countBelow(h, 4)).toMatchObject({ below: 60, lower: 60, upper: 60 });
    expect(countBelow(h, 9)).toMatchObject({ below: 60, lower: 60, upper: 100 });
    // 4 of bin 0's 10 are exact zeros: below any t > 0, only the other 6 are spread over the bin
    expect(countBelow(h, 0.05, 4)).toEqual({ below: 4 + 3, total: 100, lower: 4, upper: 10 });
    expect(countBelow(h, 0.1, 4)).toEqual({ below: 10, total: 100, lower: 10, upper: 10 });
    expect(countBelow(h, 0.05).below).toBeCloseTo(5, 12); // half of bin 0
    expect(countBelow(h, 0.15).below).toBeCloseTo(10 + 10, 12); // bin 0 + half of bin 1
    expect(countBelow(h, 0.25).below).toBeCloseTo(30 + 15, 12); // bins 0, 1 + half of bin 2
    expect(countBelow(h, 0.3).below).toBeCloseTo(60, 12); // 0.3 / 0.1 = 2.9999999999999996 is bin edge 3
    expect(countBelow(h, 9).below).toBe(60); // beyond the 4-RMS range: the binned elements only
    // Through the analysis: B = [0.02, 0.14, 0.26, c, c, c, c, c] with 5c^2 = 8 - 0.0876, so RMS = 1 and
    // |w| / RMS falls in bins 0, 1, 2 and 12. t = 0.05: half of bin 0 -> 0.5 / 8; t = 0.15: 1.5 / 8;
    // t = 0.25: 2.5 / 8; t = 0.1: 1 / 8. (Rounding t / 0.1 to whole bins gave 1/8, 2/8, 3/8 for the first three.)
    const c = Math.sqrt((8 - 0.02 ** 2 - 0.14 ** 2 - 0.26 ** 2) / 5);
    const b = { 'fc.weight': mat([0.02, 0.14, 0.26, c, c, c, c, c], 2, 4) };
    for (const [t, share] of [
      [0.05, 0.5 / 8],
      [0.1, 1 / 8],
      [0.15, 1.5 / 8],
      [0.25, 2.5 / 8],
    ]) {
      const r = run(b, b, t);
      expect(r.pruning_potential).toBeCloseTo(share, 12);
      expect(r.detail.b.matrices[0].small_share).toBeCloseTo(share, 12);
    }
  });

  it('a Gaussian matrix sits at the baseline erf(t / sqrt 2) for t = 0.05, 0.1, 0.15, 0.25', () => {
    // 40000 N(0,1) draws: the share's standard error is sqrt(p (1 - p) / 40000) <= 0.002 for p <= 0.2
    // (measured: 0.04075, 0.0815, 0.1213, 0.1992 against 0.03988, 0.07966, 0.1192, 0.1974), and the
    // in-bin interpolation is within one bin of the exact sample share (0.0406, 0.0815, 0.1219, 0.2005)
    const g = gaussian(200 * 200, 4);
    let sq = 0;
    for (const x of g) sq += x * x;
    const rms = Math.sqrt(sq / g.length);
    for (const t of [0.05, 0.1, 0.15, 0.25]) {
      const r = run({ 'fc.weight': mat(g, 200, 200) }, { 'fc.weight': mat(g, 200, 200) }, t, false);
      expect(Math.abs(r.pruning_potential! - gaussianSmallShare(t))).toBeLessThan(0.006);
      const exact = g.filter((x) => Math.abs(x) < t * rms).length / g.length;
      expect(Math.abs(r.pruning_potential! - exact)).toBeLessThan(0.0025);
    }
  });

  it('a tied alias is not counted: the same model with and without its alias gives identical figures', () => {
    const emb = mat(gaussian(8 * 4, 7), 8, 4);
    const fc = mat(gaussian(4 * 6, 8), 4, 6);
    const withAlias = { 'tok_emb.weight': emb, 'fc.weight': fc, 'lm_head.weight': { ...emb, aliasOf: 'tok_emb.weight' } };
    const without = { 'tok_emb.weight': emb, 'fc.weight': fc };
    const r = run(withAlias, without);
    expect(r.detail.a).toEqual(r.detail.b);
    expect(r.detail.a.matrices.map((m) => m.tensor)).toEqual(['fc.weight']);
    expect(r.detail.a.params).toBe(24);
    // the alias as the only difference: A's figures are B's
    expect(r.efficiency_ratio).toBe(1);
  });

  it('optimizer state and quantization parameters are not weight matrices, whatever their shape', () => {
    const fc = mat(gaussian(4 * 6, 8), 4, 6);
    const a = {
      'fc.weight': fc,
      // the format says optimizer (a name the role rules would not catch)
      'state.0.m': { ...mat(gaussian(24, 9), 4, 6), role: 'optimizer' },
      // a 2-D scale of a quantized tensor
      'q.weight': { ...mat([1, 2, 3, 4], 2, 2, 'I8'), role: 'quantized' },
      'q.weight_scale': mat([0.1, 0.1, 0.1, 0.1], 2, 2),
    };
    const r = run(a, { 'fc.weight': fc });
    expect(r.detail.a.matrices.map((m) => m.tensor)).toEqual(['fc.weight']);
    expect(r.detail.a.skipped).toEqual(['q.weight']);
    expect(r.detail.a.params).toBe(24);
  });

  it('an all-zero matrix is entirely prunable and has no live unit, and the detail says so', () => {
    // B: fc.weight = 1..8 (RMS sqrt(204/8) = 5.05, smallest |w| / RMS = 0.198: none below 0.1), rows
    // norms sqrt(30), sqrt(174): both live; fc2.weight all zeros: 4 prunable, 0 live.
    // pruning = 4 / 12, utilization = 8 / 12; A's fc2.weight = 1..4 (rows sqrt 5, 5: live): ratio 2/3.
    const fc = mat([1, 2, 3, 4, 5, 6, 7, 8], 2, 4);
    const r = run({ 'fc.weight': fc, 'fc2.weight': mat([1, 2, 3, 4], 2, 2) }, { 'fc.weight': fc, 'fc2.weight': mat([0, 0, 0, 0], 2, 2) });
    expect(r.pruning_potential).toBeCloseTo(4 / 12, 15);
    expect(r.utilization).toBeCloseTo(8 / 12, 15);
    expect(r.efficiency_ratio).toBeCloseTo(2 / 3, 15);
    const z = r.detail.b.matrices.find((m) => m.tensor === 'fc2.weight')!;
    expect(z).toMatchObject({ params: 4, small_share: 1, units: 2, live_units: 0, stable_rank: null, sigma_max: 0 });
    expect(z.note).toMatch(/^all zeros: the whole matrix is prunable/);
    expect(r.detail.b.all_zero).toEqual(['fc2.weight']);
    // the stable-rank share is fc.weight's alone (a zero matrix has no rank to share)
    const s = r.detail.b.matrices.find((m) => m.tensor === 'fc.weight')!;
    expect(r.detail.b.stable_rank_share).toBeCloseTo(s.stable_rank! / 2, 12);
    expect(r.reasons).toEqual({});
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/pruning_potential=0\.3333 \(gaussian baseline 0\.07966\); all zeros \(entirely prunable\): fc2\.weight; stable rank: fc\.weight=/);
    // only all-zero matrices: everything prunable, nothing live; the ratio's reason says why
    const only = run({ 'fc2.weight': mat([0, 0, 0, 0], 2, 2) }, { 'fc2.weight': mat([0, 0, 0, 0], 2, 2) });
    expect([only.pruning_potential, only.utilization, only.efficiency_ratio]).toEqual([1, 0, null]);
    expect(only.reasons).toEqual({ efficiency_ratio: 'A has no live unit (its weight matrices are all zeros)' });
  });

  it('an all-NaN matrix has null figures with the reason "non-finite values" and stays out of the totals', () => {
    const fc = mat([1, 2, 3, 4, 5, 6, 7, 8], 2, 4);
    const nan = mat(new Array<number>(4).fill(NaN), 2, 2);
    const r = run({ 'fc.weight': fc, 'fc2.weight': mat([1, 2, 3, 4], 2, 2) }, { 'fc.weight': fc, 'fc2.weight': nan });
    // B's totals are fc.weight's: nothing below 0.1 RMS, both units live
    expect([r.pruning_potential, r.utilization, r.efficiency_ratio]).toEqual([0, 1, 1]);
    expect(r.detail.b.params).toBe(8);
    const m = r.detail.b.matrices.find((x) => x.tensor === 'fc2.weight')!;
    expect(m).toMatchObject({ small_share: null, live_units: null, stable_rank: null, sigma_max: null });
    expect(m.note).toMatch(/^non-finite values/);
    expect(r.detail.b.non_finite).toEqual([{ tensor: 'fc2.weight', values: 4, params: 4, judged: false }]);
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/; non-finite values \(shares over the finite elements\): fc2\.weight 4\/4 not judged; stable rank: fc\.weight=/);
    // B has no other matrix: every field null, and the reason names the non-finite values
    const only = run({ 'fc2.weight': mat([1, 2, 3, 4], 2, 2) }, { 'fc2.weight': nan });
    expect([only.pruning_potential, only.utilization, only.efficiency_ratio]).toEqual([null, null, null]);
    expect(only.reasons.pruning_potential).toBe("B's weight matrices have non-finite values only (1: fc2.weight)");
    expect(only.reasons.utilization).toBe(only.reasons.pruning_potential);
    expect(paramEfficiencyAnalysis.format(only)[0]).toBe("param_efficiency_analysis: efficiency_ratio=null, utilization=null, pruning_potential=null (B's weight matrices have non-finite values only (1: fc2.weight))");
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
    expect(DEFAULT_CONFIG.thresholds.pruning_threshold).toBe(0.1);
  });
});

/** Phi^-1(p) of the standard normal by bisection on Phi(x) = (1 + erf(x / sqrt 2)) / 2 (to 1e-13). */
function normalQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  while (hi - lo > 1e-13) {
    const mid = (lo + hi) / 2;
    if ((1 + erf(mid / Math.SQRT2)) / 2 < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

describe('#6 what the 0.1-RMS histogram can vouch for', () => {
  // 1000 weights in 20 rows of 50: 90 at +-0.075 (|w| / RMS = 0.075, in bin 0, placed at i * 11 so every
  // row has some), 910 at +-c with c chosen so that the RMS is exactly 1 (c / RMS = 1.0481, bin 10).
  // Exact shares: 0 below any t <= 0.075, 0.09 from 0.075 up to 1.0481. The baseline at t = 0.001 is
  // erf(0.001 / sqrt 2) = 7.9788e-4.
  const c = Math.sqrt((1000 - 90 * 0.075 ** 2) / 910);
  const data = Array.from({ length: 1000 }, (_, i) => (i % 11 === 0 && i / 11 < 90 ? 0.075 : c) * (i % 2 ? -1 : 1));
  const b = { 'fc.weight': mat(data, 20, 50) };

  it('a threshold inside the first bin: the interpolated share is above the baseline while the truth (0) is below, so no side is claimed', () => {
    const r = run(b, b, 0.001);
    // linear interpolation: 0.01 of bin 0's 0.09 = 9e-4 > 7.9788e-4; a Gaussian-shaped interpolation,
    // 0.09 x erf(0.001 / sqrt 2) / erf(0.1 / sqrt 2) = 9.0150e-4, is no better: the histogram cannot
    // see where in the bin the elements lie
    expect(r.pruning_potential).toBeCloseTo(9e-4, 15);
    expect(r.pruning_potential!).toBeGreaterThan(r.detail.gaussian_baseline);
    expect(r.detail.b.pruning_bounds).toEqual([0, 0.09]);
    expect(r.detail.baseline_comparable).toBe(false);
    expect(r.detail.histogram_bin_width).toBe(0.1);
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(
      /^param_efficiency_analysis: efficiency_ratio=1, utilization=1, pruning_potential=9e-4 \(gaussian baseline 7\.979e-4; t=0\.001 is below the histogram's resolution of 0\.1 RMS: share approximate, exact in \[0, 0\.09\], above or below the baseline not decided\); stable rank: /,
    );
    // at t = 0.1, a bin edge, the share is exact (0.09) and above the baseline 0.07966: nothing is said
    const edge = run(b, b, 0.1);
    expect(edge.pruning_potential).toBeCloseTo(0.09, 15);
    expect(edge.detail.b.pruning_bounds).toEqual([0.09, 0.09]);
    expect(edge.detail.baseline_comparable).toBe(true);
    expect(paramEfficiencyAnalysis.format(edge)[0]).toMatch(/pruning_potential=0\.09 \(gaussian baseline 0\.07966\); stable rank: /);
    // t = 0.15 inside bin 1 (empty): the bounds are equal, the share exact, no clause
    const empty = run(b, b, 0.15);
    expect(empty.detail.b.pruning_bounds).toEqual([0.09, 0.09]);
    expect(empty.detail.baseline_comparable).toBe(true);
    expect(paramEfficiencyAnalysis.format(empty)[0]).toMatch(/pruning_potential=0\.09 \(gaussian baseline 0\.1192\); stable rank: /);
  });

  it('a bin whose bounds exclude the baseline keeps the comparison, with the bounds said', () => {
    // t = 0.5 inside bin 5 (empty here): exact 0.09 < 0.3829; and t = 1.03 inside bin 10, which holds the
    // 910 others: bounds [0.09, 1] contain erf(1.03 / sqrt 2) = 0.6970, so not decided
    const mid = run(b, b, 0.5);
    expect(mid.detail.b.pruning_bounds).toEqual([0.09, 0.09]);
    const late = run(b, b, 1.03);
    expect(late.detail.b.pruning_bounds).toEqual([0.09, 1]);
    expect(late.pruning_potential).toBeCloseTo(0.09 + 0.3 * 0.91, 12);
    expect(late.detail.baseline_comparable).toBe(false);
    expect(paramEfficiencyAnalysis.format(late)[0]).toMatch(/\(gaussian baseline 0\.697; t=1\.03 falls inside a 0\.1-RMS histogram bin: share interpolated, exact in \[0\.09, 1\], above or below the baseline not decided\)/);
    // a sparse matrix: 500 exact zeros (every other weight) and 500 at +-sqrt 2 (RMS 1). The zeros are
    // below any t > 0, so at t = 0.05 the share is exactly 0.5, far above the baseline 0.03988; spreading
    // them evenly over bin 0 would have said 0.25
    const sparse = { 'fc.weight': mat(Array.from({ length: 1000 }, (_, i) => (i % 2 ? 0 : Math.SQRT2 * (i % 4 ? -1 : 1))), 20, 50) };
    const s = run(sparse, sparse, 0.05);
    expect(s.pruning_potential).toBe(0.5);
    expect(s.detail.b.pruning_bounds).toEqual([0.5, 0.5]);
    expect(s.detail.baseline_comparable).toBe(true);
    expect(paramEfficiencyAnalysis.format(s)[0]).toMatch(/pruning_potential=0\.5 \(gaussian baseline 0\.03988\); stable rank: /);
  });

  it('a Gaussian by construction (the 20000 quantiles of N(0, 1)): the exact share is in the bounds, and so is the baseline between bin edges', () => {
    const n = 20000;
    const q = Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));
    // interleave signs row by row so every row has the whole range
    const g = Array.from({ length: n }, (_, i) => q[(i % 100) * 200 + Math.floor(i / 100)]);
    let sq = 0;
    for (const x of g) sq += x * x;
    const rms = Math.sqrt(sq / n);
    const m = { 'fc.weight': mat(g, 200, 100) };
    for (const t of [0.001, 0.05, 0.1, 0.15, 0.25]) {
      const r = run(m, m, t, false);
      const exact = g.filter((x) => Math.abs(x) < t * rms).length / n;
      const [lo, hi] = r.detail.b.pruning_bounds!;
      expect(lo).toBeLessThanOrEqual(exact);
      expect(hi).toBeGreaterThanOrEqual(exact);
      // measured (interpolated - exact) x n: -0.06, -1, 0, -2, -5 elements at t = 0.001, 0.05, 0.1, 0.15,
      // 0.25: spreading a bin evenly under-reads the Gaussian's falling density within bins 1 and 2 (a
      // Gaussian-shaped interpolation would be exact here, but on the real models it is no better: docs)
      expect(Math.abs(r.pruning_potential! - exact) * n).toBeLessThan(6);
      expect(Math.abs(r.pruning_potential! - gaussianSmallShare(t))).toBeLessThan(3e-4);
      // a Gaussian's share is inside any bin's bounds: only at a bin edge can it be compared
      expect(r.detail.baseline_comparable).toBe(t === 0.1);
    }
  });
});

describe('#6 non-finite values inside a judged matrix', () => {
  // B: rows [0.01, 1, 1, 1, 1, 1], [1 x 6], [NaN x 6], [1 x 6]. The 18 finite elements have RMS
  // sqrt(17.0001 / 18) = 0.9718: one (0.01) below 0.1 RMS -> pruning 1 / 18. Units: norms 2.236, 2.449,
  // (the NaN row), 2.449: three live, the NaN row neither live nor dead -> utilization 18 / 18 = 1
  // (counting the NaN row dead gave 18 / 24 = 0.75).
  const fin = [0.01, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const bData = [...fin.slice(0, 12), ...new Array<number>(6).fill(NaN), 1, 1, 1, 1, 1, 1];
  const aData = [...fin.slice(0, 12), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const pairOf = (bNorms?: number[]) => {
    const p = pairRun({ 'fc.weight': mat(aData, 4, 6) }, { 'fc.weight': mat(bData, 4, 6) }, { spectral: true, lowRank: false });
    if (bNorms) p.overall.tensors[0].unitNorms!.b = Float64Array.from(bNorms);
    return jsonRoundTrip(paramEfficiencyAnalysis.run({ run: p, config: config() }));
  };

  it('a NaN row: not a dead unit, its elements out of the pruning share, both listed with counts', () => {
    const r = pairOf();
    expect(r.pruning_potential).toBeCloseTo(1 / 18, 15);
    expect(r.utilization).toBe(1);
    expect(r.efficiency_ratio).toBe(1);
    expect(r.detail.b).toMatchObject({ params: 24, pruning_over: 18, utilization_over: 18, non_finite: [{ tensor: 'fc.weight', values: 6, params: 24, judged: true }] });
    expect(r.detail.b.prunable_params).toBeCloseTo(1, 12);
    const m = r.detail.b.matrices[0];
    expect(m).toMatchObject({ non_finite_values: 6, units: 4, live_units: 3, units_apart: 1 });
    expect(m.small_share).toBeCloseTo(1 / 18, 15);
    expect(m.note).toBe(
      '6 non-finite values of 24 (in at most 4 of 4 units): small-weight share over the 18 finite elements; unit norms over the finite elements; 1 unit looking dead set apart (may be the non-finite ones: neither live nor dead, out of the utilization); stable rank with non-finite values read as 0',
    );
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(
      /^param_efficiency_analysis: efficiency_ratio=1, utilization=1, pruning_potential=0\.05556 \(gaussian baseline 0\.07966\); non-finite values \(shares over the finite elements\): fc\.weight 6\/24; units neither live nor dead \(non-finite\): fc\.weight 1\/4; stable rank: fc\.weight=/,
    );
    // A is finite: listed nowhere
    expect(r.detail.a.non_finite).toEqual([]);
    expect(r.detail.a.matrices[0]).toMatchObject({ non_finite_values: 0, units_apart: 0, live_units: 4 });
    expect(r.detail.a.matrices[0].note).toBeUndefined();
  });

  it("the engine's norms skip non-finite elements (the NaN row's norm is 0): the same figures", () => {
    const r = pairOf([Math.sqrt(5.0001), Math.sqrt(6), 0, Math.sqrt(6)]);
    expect(r.utilization).toBe(1);
    expect(r.detail.b.matrices[0]).toMatchObject({ live_units: 3, units_apart: 1 });
    expect(r.detail.b.utilization_over).toBe(18);
  });

  it('judgeUnits: at most one unit set apart per non-finite value, only among those looking dead', () => {
    // median of [2, 2, 2, 0, 0.01] is 2: units 0 and 0.01 look dead
    expect(judgeUnits(Float64Array.from([2, 2, 2, 0, 0.01]), 0.1, 0)).toEqual({ live: 3, apart: 0, dead: 2 });
    expect(judgeUnits(Float64Array.from([2, 2, 2, 0, 0.01]), 0.1, 1)).toEqual({ live: 3, apart: 1, dead: 1 });
    expect(judgeUnits(Float64Array.from([2, 2, 2, 0, 0.01]), 0.1, 5)).toEqual({ live: 3, apart: 2, dead: 0 });
    // a NaN norm is apart and uses up one of the non-finite values
    expect(judgeUnits(Float64Array.from([2, NaN, 2, 0]), 0.1, 1)).toEqual({ live: 2, apart: 1, dead: 1 });
    expect(judgeUnits(Float64Array.from([2, NaN, 2, 0]), 0.1, 2)).toEqual({ live: 2, apart: 2, dead: 0 });
  });

  it('a stray NaN in a live unit (like mlp_final_naninf): utilization stays 1, the count is said; on A it is said "in A"', () => {
    const f = [1, 2, 3, 4, 5, 6, 7, 8];
    const nan = [1, 2, 3, NaN, 5, 6, 7, 8];
    // the engine's norms over the finite elements: sqrt(1 + 4 + 9) for the row holding the NaN
    const p = pairRun({ 'fc.weight': mat(nan, 2, 4) }, { 'fc.weight': mat(f, 2, 4) }, { spectral: true, lowRank: false });
    p.overall.tensors[0].unitNorms!.a = Float64Array.from([Math.sqrt(14), Math.sqrt(174)]);
    const r = jsonRoundTrip(paramEfficiencyAnalysis.run({ run: p, config: config() }));
    expect(r.detail.a).toMatchObject({ params: 8, pruning_over: 7, utilization_over: 8, utilization: 1, non_finite: [{ tensor: 'fc.weight', values: 1, params: 8, judged: true }] });
    expect(r.detail.a.matrices[0]).toMatchObject({ live_units: 2, units_apart: 0 });
    expect(paramEfficiencyAnalysis.format(r)[0]).toMatch(/\(gaussian baseline 0\.07966\); non-finite values in A \(shares over the finite elements\): fc\.weight 1\/8; stable rank: /);
    // every unit of B apart: no utilization, and the reason says why
    const allApart = pairRun({ 'fc.weight': mat(f, 2, 4) }, { 'fc.weight': mat([1, 2, NaN, 4, 5, NaN, 7, 8], 2, 4) }, { spectral: true, lowRank: false });
    allApart.overall.tensors[0].unitNorms!.b = Float64Array.from([NaN, NaN]);
    const x = jsonRoundTrip(paramEfficiencyAnalysis.run({ run: allApart, config: config() }));
    expect(x.utilization).toBeNull();
    expect(x.reasons.utilization).toBe("B's units are all set apart (non-finite values: neither live nor dead)");
    expect(x.pruning_potential).toBe(0);
  });
});
