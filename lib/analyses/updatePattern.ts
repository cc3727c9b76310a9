/**
 * The per-tensor update pattern of #28 (`--change-summary`), also used to recognise a pair that is
 * not a continuation.
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { PooledTensor } from './tensorSets.js';
import { castCheck } from './precisionChange.js';

/** Update patterns in SPEC order (#28): the first that holds names the tensor's update. */
export const UPDATE_PATTERNS = [
  'precision_change',
  'uniform_rescale',
  'blow_up',
  'reinitialisation',
  'pruning',
  'sparse_update',
  'low_rank_update',
  'dense_update',
] as const;

/** One of {@link UPDATE_PATTERNS}. */
export type UpdatePattern = (typeof UPDATE_PATTERNS)[number];

/** A tensor's pattern and the figures the rules looked at (null where a figure is undefined). */
export interface UpdateClassification {
  name: string;
  pattern: UpdatePattern;
  count: number;
  /** A was all zeros: rescale, blow-up and re-initialisation are undefined and skipped. */
  from_zero: boolean;
  r: number | null;
  growth: number | null;
  cosine: number | null;
  /** Least-squares scale c = (A . B) / ||A||^2 of the fit B = cA. */
  scale: number | null;
  /** ||B - cA||^2 / ||D||^2: the share of the update that the rescale does not explain. */
  rescale_residual: number | null;
  /** (zeros_B - zeros_A) / n. */
  new_zero_share: number;
  /** Elements changed beyond epsilon / n. */
  changed_share: number;
  /** Share of ||D||_F^2 in the best rank-`low_rank_rank` approximation (from the diff engine), if computed. */
  low_rank_energy: number | null;
  low_rank_rank: number | null;
}

/**
 * Classifies the update of one tensor of S; null when the tensor did not change.
 *
 * Rules, first that holds (SPEC #28; thresholds from `[thresholds]`):
 * 1. `precision_change`: the dtype changed and the values moved no further than the conversion can
 *    cause ({@link castCheck}); a tensor trained and cast goes on to the rules below.
 * 2. `uniform_rescale`: n >= 16 and ||B - cA||^2 / ||D||^2 < `rescale_residual` (1e-4), with
 *    c = (A . B) / ||A||^2 and ||B - cA||^2 = ||B||^2 (1 - cos^2). The residual is taken relative to the
 *    update D, not to B: 1 - cos^2 alone is below 1e-4 for every update with r_t < 1 %, which would call
 *    ordinary small training steps rescales.
 * 3. `blow_up`: ||B|| / ||A|| >= `norm_growth_limit` (10).
 * 4. `reinitialisation`: n >= 16, |cos(A, B)| < max(`reinit_cosine` (0.1), 3 / sqrt(n)) and
 *    r_t >= `reinit_ratio` (0.5). 3 / sqrt(n) is three standard deviations of the cosine of two
 *    independent random vectors; below 16 elements the test cannot tell a trained vector from a new one.
 * 5. `pruning`: (zeros_B - zeros_A) / n >= `pruning_share` (1 %).
 * 6. `sparse_update`: changed elements / n < `sparse_share` (10 %).
 * 7. `low_rank_update`: the rank-k share of ||D||_F^2, k = min(64, min(m, n) / 4), is >= `low_rank_energy`
 *    (0.999): the rank that holds 99.9 % of the update's energy is at most k (a LoRA-style update).
 *    Needs `TensorDiff.lowRank` from the diff engine (2-D changed matrices).
 * 8. `dense_update` otherwise.
 *
 * A tensor whose A is all zeros (moved from zero) skips rules 2-4, which need ||A|| > 0.
 */
export function classifyUpdate(p: PooledTensor, th: Thresholds): UpdateClassification | null {
  const t = p.tensor;
  const d = t.diff;
  if (!d || t.status === 'unchanged') return null;
  const n = p.count;
  const a = t.stats.a!;
  const b = t.stats.b!;
  const scale = p.normA > 0 && Number.isFinite(d.dot) ? d.dot / (p.normA * p.normA) : null;
  const rescaleResidual =
    p.cosine !== null && p.normD > 0 ? (p.normB * p.normB * Math.max(0, 1 - p.cosine * p.cosine)) / (p.normD * p.normD) : null;
  const newZeroShare = n > 0 ? (b.zeros - a.zeros) / n : 0;
  const changedShare = n > 0 ? d.changed / n : 0;
  const lowRankEnergy = t.lowRank && Number.isFinite(t.lowRank.energy) ? t.lowRank.energy : null;
  const base = {
    name: p.name,
    count: n,
    from_zero: p.fromZero,
    r: p.r,
    growth: p.growth,
    cosine: p.cosine,
    scale,
    rescale_residual: rescaleResidual,
    new_zero_share: newZeroShare,
    changed_share: changedShare,
    low_rank_energy: lowRankEnergy,
    low_rank_rank: t.lowRank ? t.lowRank.rank : null,
  };
  const pattern = ((): UpdatePattern => {
    // a cast whose error is within its rounding; a tensor trained and cast is classified by its update
    if (t.status === 'dtype_changed' && castCheck(t).consistent !== false) return 'precision_change';
    if (!p.fromZero) {
      if (n >= 16 && rescaleResidual !== null && rescaleResidual < th.rescale_residual) return 'uniform_rescale';
      if (p.growth !== null && p.growth >= th.norm_growth_limit) return 'blow_up';
      if (
        n >= 16 &&
        p.cosine !== null &&
        p.r !== null &&
        Math.abs(p.cosine) < Math.max(th.reinit_cosine, 3 / Math.sqrt(n)) &&
        p.r >= th.reinit_ratio
      ) {
        return 'reinitialisation';
      }
    }
    if (newZeroShare >= th.pruning_share) return 'pruning';
    if (changedShare < th.sparse_share) return 'sparse_update';
    if (lowRankEnergy !== null && lowRankEnergy >= th.low_rank_energy) return 'low_rank_update';
    return 'dense_update';
  })();
  return { ...base, pattern };
}
