/**
 * Decoding of the addon's fixed-width float64 result records into {@link TensorStats} and
 * {@link PairDiff}.
 *
 * @module
 */
import { PairSlot, STATS_WIDTH, StatsSlot } from '../native/AddonTypes.js';
import type { PairDiff, TensorStats } from './ModelDiff.js';

/** The statistics record at `offset` of `out`. */
export function statsFromRecord(out: Float64Array, offset: number): TensorStats {
  const r = (slot: number) => out[offset + slot];
  return {
    count: r(StatsSlot.count),
    finite: r(StatsSlot.finite),
    mean: r(StatsSlot.mean),
    std: r(StatsSlot.std),
    min: r(StatsSlot.min),
    max: r(StatsSlot.max),
    abs_max: r(StatsSlot.absMax),
    l1: r(StatsSlot.l1),
    l2: r(StatsSlot.l2),
    zeros: r(StatsSlot.zeros),
    nan: r(StatsSlot.nan),
    inf: r(StatsSlot.inf),
  };
}

/**
 * The pair values of the pair record at `offset` (stats of A at offset, of B after it, then the pair
 * slots). rel_l2 = ||D|| / ||A||; cosine = (A . B) / (||A|| ||B||), clamped to [-1, 1], NaN when a
 * norm is zero.
 */
export function pairDiffFromRecord(out: Float64Array, offset: number): PairDiff {
  const p = offset + 2 * STATS_WIDTH;
  const l2a = out[offset + StatsSlot.l2];
  const l2b = out[offset + STATS_WIDTH + StatsSlot.l2];
  const diffSq = out[p + PairSlot.diffSq];
  const bothFinite = out[p + PairSlot.bothFinite];
  const l2Diff = Math.sqrt(diffSq);
  const relL2 = l2a > 0 ? l2Diff / l2a : l2Diff > 0 ? Infinity : 0;
  const denom = l2a * l2b;
  const cosine = denom > 0 ? Math.max(-1, Math.min(1, out[p + PairSlot.dot] / denom)) : NaN;
  return {
    rel_l2: relL2,
    cosine,
    max_abs: bothFinite > 0 ? out[p + PairSlot.maxAbs] : 0,
    mean_abs: bothFinite > 0 ? out[p + PairSlot.sumAbs] / bothFinite : 0,
    changed: out[p + PairSlot.changed],
    l2_diff: l2Diff,
    diff_sum: out[p + PairSlot.diffSum],
    diff_sq: diffSq,
    dot: out[p + PairSlot.dot],
    both_finite: bothFinite,
    new_non_finite: out[p + PairSlot.newNonFinite],
    identical: out[p + PairSlot.identical] === 1,
  };
}
