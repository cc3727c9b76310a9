/**
 * #1 `--learning-progress`: trend, magnitude, speed (SPEC section 3, row 1).
 *
 * @module
 */
import type { ModelDiff } from '../diff/ModelDiff.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { checkpointIntervals } from './intervals.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { globalUpdate } from './globalUpdate.js';
import { healthSignals, type HealthSignal } from './healthSignals.js';
import { jsonNumber } from './jsonNumber.js';
import { pairKind, type PairKind } from './pairKind.js';
import { integerCodedReason } from './precisionChange.js';
import { tensorSets, type ApartTensor } from './tensorSets.js';
import { trainingHealth } from './trainingHealth.js';

/** `degrading`, `stable` or `improving`. */
export type Trend = 'improving' | 'stable' | 'degrading';

/** The per-interval step sizes behind `speed`. */
export interface ProgressStep {
  from: number;
  to: number;
  /** R of the interval. */
  R: number | null;
  /** Interval length in `unit` (1 when assumed equal). */
  interval: number;
  /** R / interval. */
  per_unit: number | null;
}

/** Detail of #1. */
export interface LearningProgressDetail {
  pair_kind_reason: string | null;
  /** A pair read as training in which dtypes changed too (trained and cast): the sentence the line adds. */
  pair_kind_note: string | null;
  overall: { from: number; to: number; tensors: number; params: number; R: number | null; sum_sq_update: number; sum_sq_a: number; norm_growth: number | null };
  signals: HealthSignal[];
  dead_units: { tensors: number; dead_a: number; dead_b: number; newly_dead: number; per_tensor: { name: string; units: number; dead_a: number; dead_b: number; newly_dead: number }[] } | null;
  intervals: { unit: 'step' | 'epoch' | null; positions: number[] | null; assumed_equal: boolean; note: string };
  steps: ProgressStep[];
  speed_fit: { method: 'log_linear' | 'endpoints'; slope: number | null } | null;
  apart: ApartTensor[];
}

/** Result of #1. */
export interface LearningProgressResult extends AnalysisResult {
  trend: Trend | null;
  /** R of the first against the last input (dimensionless). */
  magnitude: number | null;
  /** Decay of the interval-normalised step size over the run, in [0, 1]. */
  speed: number | null;
  pair_kind: PairKind;
  detail: LearningProgressDetail;
}

const label = (d: ModelDiff) => `${d.from}->${d.to}`;

/**
 * speed: the decay of the interval-normalised step size s_k = R_k / interval_k over the run, in [0, 1].
 *
 * With all s_k > 0, ln s_k is fitted by least squares against the interval midpoints tau_k (in steps or
 * epochs from metadata, else in interval indices): ln s = a + beta tau, and
 * speed = clamp(1 - exp(beta (tau_last - tau_first)), 0, 1), the fraction by which the fitted per-unit
 * step size shrank from the first interval to the last. With 3 checkpoints this is exactly
 * 1 - s_2 / s_1. When an interval has s_k = 0 the endpoints are used: 1 - s_last / s_first.
 */
function decaySpeed(steps: ProgressStep[], mid: number[]): { speed: number | null; method: 'log_linear' | 'endpoints'; slope: number | null; reason: string | null } {
  const s = steps.map((x) => x.per_unit);
  if (s.some((x) => x === null)) return { speed: null, method: 'endpoints', slope: null, reason: 'an interval has no pooled tensors or an all-zero A, so its step size is undefined' };
  const v = s as number[];
  if (v.every((x) => x > 0)) {
    const n = v.length;
    const y = v.map(Math.log);
    const mx = mid.reduce((a, b) => a + b, 0) / n;
    const my = y.reduce((a, b) => a + b, 0) / n;
    let sxy = 0;
    let sxx = 0;
    for (let k = 0; k < n; k++) {
      sxy += (mid[k] - mx) * (y[k] - my);
      sxx += (mid[k] - mx) ** 2;
    }
    const slope = sxx > 0 ? sxy / sxx : 0;
    const speed = 1 - Math.exp(slope * (mid[n - 1] - mid[0]));
    return { speed: Math.min(1, Math.max(0, speed)), method: 'log_linear', slope, reason: null };
  }
  if (v[0] > 0) return { speed: Math.min(1, Math.max(0, 1 - v[v.length - 1] / v[0])), method: 'endpoints', slope: null, reason: null };
  return { speed: null, method: 'endpoints', slope: null, reason: 'the first interval has no change, so there is no step size to decay from' };
}

/**
 * #1 `--learning-progress`.
 *
 * - magnitude = R of the first against the last input (SPEC Notation; {@link globalUpdate}).
 * - trend, first rule that holds: `degrading` (on any interval or first -> last: non-finite values new in
 *   B, a weight matrix or embedding with ||B_t|| / ||A_t|| >= `norm_growth_limit` (10), or more dead units
 *   in B than in A); `stable` (R < `converged_magnitude`, 1e-3); else `improving`.
 * - speed (>= 3 checkpoints): decay of R_k / interval_k, see the docs (`docs/analyses.md`).
 *
 * When tensors were converted to integer codes (F32 -> I8 without dequantization), magnitude is null: R
 * over S does not cover them. A precision change gives trend `stable` (unless it made values non-finite:
 * `degrading`) and speed null; a pair trained and cast (dtype-changed tensors that moved beyond their
 * rounding) is read as training, and the line says a dtype change also happened;
 * a pair that is not a continuation gives all three fields null. Both carry the reason.
 */
export const learningProgress: Analysis<LearningProgressResult> = {
  key: 'learning_progress',
  needs: { unitNorms: true, dequant: true },
  run({ run, config }: AnalysisContext): LearningProgressResult {
    const th = config.thresholds;
    const reasons: Record<string, string> = {};
    const sets = tensorSets(run.overall);
    const kind = pairKind(run.overall, sets, th);
    const g = globalUpdate(sets.pooled);
    const health = trainingHealth(run.overall, sets, th);
    const signals = healthSignals(run, th, true);
    const iv = checkpointIntervals(run.inputs);

    const steps: ProgressStep[] = run.pairs.map((d, k) => {
      const R = globalUpdate(tensorSets(d).pooled).R;
      const interval = iv.intervals[k];
      return { from: d.from, to: d.to, R: jsonNumber(R), interval, per_unit: R === null ? null : jsonNumber(R / interval) };
    });
    const mid = iv.positions ? run.pairs.map((_, k) => (iv.positions![k] + iv.positions![k + 1]) / 2) : run.pairs.map((_, k) => k + 0.5);

    let trend: Trend | null;
    let magnitude: number | null = jsonNumber(g.R);
    let speed: number | null = null;
    let fit: LearningProgressDetail['speed_fit'] = null;
    const degrading = signals.length > 0;

    if (kind.kind === 'not_continuation') {
      trend = null;
      magnitude = null;
      for (const f of ['trend', 'magnitude', 'speed']) reasons[f] = kind.reason!;
    } else if (g.tensors === 0) {
      trend = null;
      magnitude = null;
      for (const f of ['trend', 'magnitude']) reasons[f] = 'no floating-point tensors present in both inputs with equal shape';
      reasons.speed = reasons.trend;
    } else {
      const coded = integerCodedReason(kind.precision);
      if (coded !== null) magnitude = null;
      if (coded !== null) reasons.magnitude = coded;
      else if (magnitude === null) reasons.magnitude = 'A is all zeros over the compared tensors: the relative update R is undefined';
      if (kind.kind === 'precision_change') trend = degrading ? 'degrading' : 'stable';
      else trend = degrading ? 'degrading' : g.R !== null && g.R < th.converged_magnitude ? 'stable' : 'improving';

      if (kind.kind === 'precision_change') reasons.speed = kind.reason!;
      else if (run.inputs.length < 3) reasons.speed = 'needs 3 or more checkpoints';
      else {
        const odd = run.pairs.map((d) => ({ d, k: pairKind(d, tensorSets(d), th) })).find((x) => x.k.kind !== 'training');
        if (odd) reasons.speed = `interval ${label(odd.d)} is a ${odd.k.reason}`;
        else {
          const r = decaySpeed(steps, mid);
          speed = r.speed === null ? null : jsonNumber(r.speed);
          fit = { method: r.method, slope: jsonNumber(r.slope) };
          if (speed === null) reasons.speed = r.reason ?? 'the step sizes do not define a decay';
        }
      }
    }

    const level: AnalysisLevel | undefined = trend === 'degrading' ? 'WARNING' : undefined;
    const du = health.deadUnits;
    return {
      trend,
      magnitude,
      speed,
      pair_kind: kind.kind,
      reasons,
      ...(level ? { level } : {}),
      detail: {
        pair_kind_reason: kind.reason,
        pair_kind_note: kind.note,
        overall: {
          from: run.overall.from,
          to: run.overall.to,
          tensors: g.tensors,
          params: g.params,
          R: jsonNumber(g.R),
          sum_sq_update: g.sumSqD,
          sum_sq_a: g.sumSqA,
          norm_growth: jsonNumber(g.growth),
        },
        signals,
        dead_units: du
          ? {
              tensors: du.tensors,
              dead_a: du.deadA,
              dead_b: du.deadB,
              newly_dead: du.newlyDead,
              per_tensor: du.perTensor.map((t) => ({ name: t.name, units: t.units, dead_a: t.deadA, dead_b: t.deadB, newly_dead: t.newlyDead })),
            }
          : null,
        intervals: { unit: iv.unit, positions: iv.positions, assumed_equal: iv.assumedEqual, note: iv.note },
        steps,
        speed_fit: fit,
        apart: sets.apart,
      },
    };
  },
  format(r: LearningProgressResult): string[] {
    const speed = r.speed !== null && r.detail.intervals.assumed_equal ? `${formatNumber(r.speed)} (intervals assumed equal)` : r.speed;
    const line = formatFields('learning_progress', [['trend', r.trend], ['magnitude', r.magnitude], ['speed', speed]], r.reasons);
    return [r.detail.pair_kind_note ? `${line}; ${r.detail.pair_kind_note}` : line];
  },
};
