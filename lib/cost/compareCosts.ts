/**
 * The speed comparison of two models on one hardware profile (SPEC #8 and #15): time ratios at batch 1
 * and at the batch size, the regime and the confidence.
 *
 * @module
 */
import type { ComputeType, HardwareProfile } from './hardwareProfiles.js';
import type { ModelCost } from './modelCost.js';

/** Multiplies the confidence once per low-confidence condition (0.3, 0.09, ...): such a case is never confident. */
export const REGIME_FACTOR = 0.3;
/** Share of the modelled time at batch 1 taken by per-op overhead from which a model is overhead-bound. */
export const OVERHEAD_BOUND_SHARE = 0.5;

/** Why the roofline model may not describe a case. */
export interface RegimeCondition {
  kind: 'fits_in_cache' | 'not_native' | 'overhead_bound';
  detail: string;
}

/** The comparison of A and B. */
export interface CostComparison {
  /** T_A / T_B at batch 1, per-op overhead included (> 1: B is faster). */
  speed_ratio: number;
  /** T_A / T_B at batch 1 from the roofline terms alone (no overhead): the bandwidth / compute speedup. */
  roofline_speedup: number;
  /** The same two ratios at the batch size. */
  speed_ratio_batch: number;
  roofline_speedup_batch: number;
  /** FLOPs per token of B / FLOPs of A (covered ops). */
  flops_ratio: number;
  /** min(coverage of A, coverage of B). */
  coverage: number;
  /** `memory-bound` or `compute-bound` (which term dominates B's roofline time at batch 1), or `low confidence`. */
  regime: 'memory-bound' | 'compute-bound' | 'low confidence';
  /** The bound behind a `low confidence` regime. */
  bound: 'memory-bound' | 'compute-bound';
  conditions: RegimeCondition[];
  /** REGIME_FACTOR ^ (number of conditions). */
  regime_factor: number;
  /** coverage x regime_factor. */
  confidence: number;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toPrecision(3)} MiB`;
}

/**
 * Compares the costs of A and B on `profile`. Low-confidence conditions: the weights of A or B fit in
 * the profile's last-level cache (they are read from cache, faster than the bandwidth the roofline
 * uses; measured here: BF16 made a small GPT slower on this CPU, not 2x faster), a compute type the
 * profile converts, or per-op overhead above half of the modelled time at batch 1.
 */
export function compareCosts(a: ModelCost, b: ModelCost, profile: HardwareProfile): CostComparison {
  const conditions: RegimeCondition[] = [];
  const cached = [a, b].filter((c) => c.fits_in_cache);
  if (cached.length > 0) {
    const big = Math.max(a.weight_bytes, b.weight_bytes);
    conditions.push({ kind: 'fits_in_cache', detail: `weights (${mib(big)} at most) fit in the ${mib(profile.llc_bytes)} last-level cache of ${profile.name}` });
  }
  const nonNative = [...new Set<ComputeType>([...a.non_native, ...b.non_native])];
  if (nonNative.length > 0) conditions.push({ kind: 'not_native', detail: `${nonNative.join(', ')} not native on ${profile.name}: converted to F32, not faster` });
  const overheadShare = Math.max(a.time1.overhead / a.time1.total, b.time1.overhead / b.time1.total);
  if (overheadShare >= OVERHEAD_BOUND_SHARE) {
    const share = 100 * overheadShare;
    conditions.push({ kind: 'overhead_bound', detail: `per-op overhead is ${share >= 99.95 ? share.toPrecision(4) : share.toPrecision(3)} % of the time at batch 1 (${(profile.op_overhead * 1e6).toPrecision(2)} us per op)` });
  }
  const bound = b.time1.memory_bound >= b.time1.compute_bound ? 'memory-bound' : 'compute-bound';
  const coverage = Math.min(a.coverage, b.coverage);
  const factor = REGIME_FACTOR ** conditions.length;
  return {
    speed_ratio: a.time1.total / b.time1.total,
    roofline_speedup: a.time1.roofline / b.time1.roofline,
    speed_ratio_batch: a.time_batch.total / b.time_batch.total,
    roofline_speedup_batch: a.time_batch.roofline / b.time_batch.roofline,
    flops_ratio: a.flops > 0 ? b.flops / a.flops : NaN,
    coverage,
    regime: conditions.length > 0 ? 'low confidence' : bound,
    bound,
    conditions,
    regime_factor: factor,
    confidence: coverage * factor,
  };
}
