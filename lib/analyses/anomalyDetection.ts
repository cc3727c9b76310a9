/**
 * #3 `--anomaly-detection`: type, severity, affected and the list (SPEC section 3, row 3).
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { ModelDiff } from '../diff/ModelDiff.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';
import { median, modifiedZScores } from './modifiedZScores.js';
import { tensorRole, type TensorRole } from '../structure/tensorRole.js';
import { tensorSets, type PooledTensor } from './tensorSets.js';
import { newNonFiniteOf } from './trainingHealth.js';

/** Anomaly types in order of precedence (the result's `type` is the first one found). */
export const ANOMALY_TYPES = ['nan_inf_values', 'gradient_explosion', 'gradient_vanishing', 'weight_distribution_shift'] as const;

/** One of {@link ANOMALY_TYPES}. */
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** `critical` > `high` > `medium`. */
export type AnomalySeverity = 'critical' | 'high' | 'medium';

/** Fewest weight matrices with a non-zero shift for which the modified z-score is computed. */
export const MIN_SHIFT_POPULATION = 5;

/** One anomalous tensor on one pair. */
export interface Anomaly {
  tensor: string;
  /** `from->to` input indices. */
  pair: string;
  role: TensorRole;
  /** The first of `types` in precedence order. */
  type: AnomalyType;
  types: AnomalyType[];
  severity: AnomalySeverity;
  /** Non-finite values new in B. */
  new_non_finite: number | null;
  r: number | null;
  growth: number | null;
  /** std_B / std_A. */
  std_ratio: number | null;
  /** RMS-normalised shift and its modified z-score among the model's weight matrices. */
  shift: number | null;
  shift_zscore: number | null;
}

/** The figures of one judged tensor (weight matrix or embedding), anomalous or not. */
export interface JudgedTensor {
  tensor: string;
  role: TensorRole;
  r: number | null;
  growth: number | null;
  std_ratio: number | null;
  shift: number | null;
  shift_zscore: number | null;
}

/** What was judged on one pair. */
export interface AnomalyPairDetail {
  pair: string;
  /** Median r_t over the weight matrices, and whether it counts as moving (>= converged_magnitude). */
  median_r: number | null;
  median_moves: boolean;
  /** Whether the shift outlier test ran, and why not. */
  shift_tested: boolean;
  shift_note: string;
  judged: JudgedTensor[];
}

/** Result of #3. */
export interface AnomalyResult extends AnalysisResult {
  /** The highest-precedence anomaly type found, `none`, or null when there is nothing to judge. */
  type: AnomalyType | 'none' | null;
  severity: AnomalySeverity | 'none' | null;
  /** Distinct tensors with an anomaly. */
  affected: number | null;
  /** Every anomaly, most severe first. */
  anomalies: Anomaly[];
  /** Tensors whose A is all zeros and B is not (infinite r_t): listed apart, not anomalies. */
  zero_initialised: { tensor: string; pair: string; role: TensorRole; norm_b: number }[];
  detail: { factor: number; top_k: number; pairs: AnomalyPairDetail[] };
}

/** The figure behind an anomaly's primary type, for the CLI line. */
function evidence(a: Anomaly): string {
  switch (a.type) {
    case 'nan_inf_values':
      return `${a.new_non_finite} new non-finite`;
    case 'gradient_explosion':
      return `growth=${formatNumber(a.growth)}, r=${formatNumber(a.r)}`;
    case 'gradient_vanishing':
      return `r=${formatNumber(a.r)}, std_ratio=${formatNumber(a.std_ratio)}`;
    case 'weight_distribution_shift':
      return `shift=${formatNumber(a.shift)}, z=${formatNumber(a.shift_zscore)}`;
  }
}

const SEVERITY_RANK: Record<AnomalySeverity, number> = { critical: 3, high: 2, medium: 1 };

/**
 * The RMS-normalised shift of a tensor's value distribution:
 * shift_t = sqrt((mean_B - mean_A)^2 + (std_B - std_A)^2) / RMS(A), RMS(A) = ||A_t|| / sqrt(n).
 *
 * The numerator is the 2-Wasserstein distance between the Gaussian fits N(mean_A, std_A^2) and
 * N(mean_B, std_B^2) of the two value distributions; dividing by RMS(A) makes it scale-free. Unlike r_t,
 * it ignores where individual values moved and sees only how the distribution moved (a permutation has
 * shift 0; a rescale by c has shift |c - 1|).
 *
 * @returns null when A has no finite non-zero element.
 */
export function rmsNormalisedShift(p: PooledTensor): number | null {
  const a = p.tensor.stats.a!;
  const b = p.tensor.stats.b!;
  if (!(a.finite > 0) || !(p.normA > 0) || ![a.mean, a.std, b.mean, b.std].every(Number.isFinite)) return null;
  const rms = p.normA / Math.sqrt(a.finite);
  return Math.hypot(b.mean - a.mean, b.std - a.std) / rms;
}

function judgePair(d: ModelDiff, th: Thresholds, k: number, out: Anomaly[], zero: AnomalyResult['zero_initialised']): AnomalyPairDetail {
  const pair = `${d.from}->${d.to}`;
  const sets = tensorSets(d);
  const names = new Set(d.tensors.map((t) => t.name));
  const found = new Map<string, Anomaly>();
  const add = (tensor: string, role: TensorRole, type: AnomalyType, severity: AnomalySeverity, figures: Partial<Anomaly>) => {
    let a = found.get(tensor);
    if (!a) {
      a = { tensor, pair, role, type, types: [], severity, new_non_finite: null, r: null, growth: null, std_ratio: null, shift: null, shift_zscore: null };
      found.set(tensor, a);
    }
    if (!a.types.includes(type)) a.types.push(type);
    a.types.sort((x, y) => ANOMALY_TYPES.indexOf(x) - ANOMALY_TYPES.indexOf(y));
    a.type = a.types[0];
    if (SEVERITY_RANK[severity] > SEVERITY_RANK[a.severity]) a.severity = severity;
    Object.assign(a, figures);
  };

  // NaN / Inf: every float tensor, whatever its role.
  for (const t of d.tensors) {
    const n = newNonFiniteOf(t);
    if (n > 0) add(t.name, tensorRole(t.name, t.shape[1] ?? t.shape[0] ?? [], names), 'nan_inf_values', 'critical', { new_non_finite: n });
  }

  for (const p of sets.pooled) if (p.fromZero) zero.push({ tensor: p.name, pair, role: p.role, norm_b: p.normB });
  const live = sets.pooled.filter((p) => (p.role === 'weight_matrix' || p.role === 'embedding') && p.normA > 0);
  const matrices = live.filter((p) => p.role === 'weight_matrix');
  const rs = matrices.map((p) => p.r).filter((x): x is number => x !== null && Number.isFinite(x));
  const medianR = rs.length > 0 ? median(rs) : null;
  const moves = medianR !== null && medianR >= th.converged_magnitude;

  // Shift outliers among weight matrices, on log10(shift): shifts are scale-like and span decades.
  const shifts = new Map<string, number | null>(live.map((p) => [p.name, rmsNormalisedShift(p)]));
  const population = matrices.filter((p) => (shifts.get(p.name) ?? 0) > 0);
  const zscores = new Map<string, number>();
  let shiftNote: string;
  if (population.length >= MIN_SHIFT_POPULATION) {
    const z = modifiedZScores(population.map((p) => Math.log10(shifts.get(p.name)!)));
    population.forEach((p, i) => zscores.set(p.name, z[i]));
    shiftNote = `modified z-score of log10(shift) over ${population.length} weight matrices with a non-zero shift`;
  } else {
    shiftNote = `needs ${MIN_SHIFT_POPULATION} or more weight matrices with a non-zero shift, found ${population.length}`;
  }

  const rows: JudgedTensor[] = [];
  for (const p of live) {
    const a = p.tensor.stats.a!;
    const b = p.tensor.stats.b!;
    const stdRatio = a.std > 0 && Number.isFinite(a.std) && Number.isFinite(b.std) ? b.std / a.std : null;
    const shift = shifts.get(p.name) ?? null;
    const z = zscores.get(p.name) ?? null;
    const figures = { r: jsonNumber(p.r), growth: jsonNumber(p.growth), std_ratio: jsonNumber(stdRatio), shift: jsonNumber(shift), shift_zscore: jsonNumber(z) };
    rows.push({ tensor: p.name, role: p.role, ...figures });
    const exploding = (p.r !== null && p.r >= th.norm_growth_limit * k) || (p.growth !== null && p.growth >= th.norm_growth_limit * k);
    if (exploding) {
      add(p.name, p.role, 'gradient_explosion', p.growth !== null && p.growth >= th.critical_growth * k ? 'critical' : 'high', figures);
    }
    const frozen = p.role === 'weight_matrix' && moves && p.r !== null && p.r < th.frozen_ratio / k;
    const collapsed = stdRatio !== null && stdRatio < th.std_collapse_ratio / k;
    if (frozen || collapsed) add(p.name, p.role, 'gradient_vanishing', 'medium', figures);
    if (z !== null && shift !== null && z > th.shift_zscore * k && shift >= th.converged_magnitude * k) {
      add(p.name, p.role, 'weight_distribution_shift', 'medium', figures);
    }
  }
  out.push(...found.values());
  return {
    pair,
    median_r: jsonNumber(medianR),
    median_moves: moves,
    shift_tested: population.length >= MIN_SHIFT_POPULATION,
    shift_note: shiftNote,
    judged: rows,
  };
}

/**
 * #3 `--anomaly-detection`, on every consecutive pair of inputs (each one training step; with N > 2 the
 * first -> last pair is not judged, because layer distributions legitimately drift apart over a whole
 * run: on the real GPT, step 0 -> 600 makes three MLP matrices shift outliers although every one of its
 * steps is healthy). With the factor
 * k = `anomaly_threshold` (DIFFAI_ANOMALY_THRESHOLD, default 1), upper thresholds are multiplied by k and
 * lower ones divided by k:
 *
 * - `nan_inf_values` (critical): non-finite values new in B, in any float tensor.
 * - `gradient_explosion` (high; critical when ||B_t|| / ||A_t|| >= `critical_growth` k, 1e3): a weight matrix
 *   or embedding with r_t >= `norm_growth_limit` k or ||B_t|| / ||A_t|| >= `norm_growth_limit` k (10).
 * - `gradient_vanishing` (medium): a weight matrix frozen (r_t < `frozen_ratio` / k, 1e-6) while the median
 *   weight matrix moves (median r_t >= `converged_magnitude`, 1e-3), or a weight matrix / embedding whose
 *   std collapsed (std_B / std_A < `std_collapse_ratio` / k, 0.1).
 * - `weight_distribution_shift` (medium): a weight matrix whose RMS-normalised shift ({@link rmsNormalisedShift})
 *   is an outlier among the model's own weight matrices: modified z-score of log10(shift) > `shift_zscore` k
 *   (3.5; Iglewicz and Hoaglin 1993) and shift >= `converged_magnitude` k, computed when at least
 *   {@link MIN_SHIFT_POPULATION} weight matrices have a non-zero shift.
 *
 * Norm gains, biases, vectors, scalars and non-parameters are judged only for NaN/Inf (SPEC: they are not
 * compared with weight matrices). Tensors moved from an all-zero A (infinite r_t) are listed apart.
 */
export const anomalyDetection: Analysis<AnomalyResult> = {
  key: 'anomaly_detection',
  needs: {},
  run({ run, config }: AnalysisContext): AnomalyResult {
    const th = config.thresholds;
    const k = th.anomaly_threshold;
    const anomalies: Anomaly[] = [];
    const zero: AnomalyResult['zero_initialised'] = [];
    const pairs = run.pairs.map((d) => judgePair(d, th, k, anomalies, zero));
    anomalies.sort((x, y) => SEVERITY_RANK[y.severity] - SEVERITY_RANK[x.severity] || ANOMALY_TYPES.indexOf(x.type) - ANOMALY_TYPES.indexOf(y.type));
    const reasons: Record<string, string> = {};
    const anyFloat = run.pairs.some((d) => tensorSets(d).pooled.length > 0) || anomalies.length > 0;
    let type: AnomalyResult['type'] = null;
    let severity: AnomalyResult['severity'] = null;
    let affected: number | null = null;
    if (!anyFloat) {
      for (const f of ['type', 'severity', 'affected']) reasons[f] = 'no floating-point tensors present in both inputs with equal shape';
    } else if (anomalies.length === 0) {
      type = 'none';
      severity = 'none';
      affected = 0;
    } else {
      type = ANOMALY_TYPES.find((t) => anomalies.some((a) => a.types.includes(t)))!;
      severity = anomalies[0].severity;
      affected = new Set(anomalies.map((a) => a.tensor)).size;
    }
    const level: AnalysisLevel | undefined =
      severity === 'critical' ? 'CRITICAL' : severity === 'high' ? 'HIGH' : severity === 'medium' ? 'WARNING' : undefined;
    return {
      type,
      severity,
      affected,
      anomalies,
      zero_initialised: zero,
      reasons,
      ...(level ? { level } : {}),
      detail: { factor: k, top_k: config.output.top_k, pairs },
    };
  },
  format(r: AnomalyResult): string[] {
    if (r.type === null) return [formatFields('anomaly_detection', [['type', r.type], ['severity', r.severity], ['affected', r.affected]], r.reasons)];
    const seen = new Set<string>();
    const first = r.anomalies.filter((a) => !seen.has(a.tensor) && seen.add(a.tensor));
    const shown = first.slice(0, r.detail.top_k).map((a) => `${a.tensor}: ${evidence(a)}`);
    const more = first.length - shown.length;
    const list = shown.length === 0 ? '' : ` (${shown.join(', ')}${more > 0 ? `, +${more} more` : ''})`;
    let line = `anomaly_detection: type=${r.type}, severity=${r.severity}, affected=${r.affected} layer${r.affected === 1 ? '' : 's'}${list}`;
    if (r.zero_initialised.length > 0) {
      const z = new Set(r.zero_initialised.map((x) => x.tensor)).size;
      line += `; ${z} tensor${z === 1 ? '' : 's'} moved from zero (listed apart)`;
    }
    return [line];
  },
};
