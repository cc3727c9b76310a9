/**
 * Unhealthy-step signals over every pair of a run (#1 `degrading`, #2 `diverging`).
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { DiffRun, ModelDiff } from '../diff/ModelDiff.js';
import { tensorSets } from './tensorSets.js';
import { trainingHealth } from './trainingHealth.js';

/** One unhealthy-step signal found on a pair. */
export interface HealthSignal {
  /** `from->to` input indices. */
  pair: string;
  signal: 'new_non_finite' | 'norm_growth' | 'dead_units';
  /** The tensor concerned (null for dead units, which are counted over all weight matrices). */
  tensor: string | null;
  /** New non-finite values, the growth factor ||B_t|| / ||A_t||, or dead units in B. */
  value: number;
  /** Dead units in A (for `dead_units`). */
  value_a?: number;
}

/** Every distinct pair of the run: the consecutive pairs, then first -> last when N > 2. */
export function allPairs(run: DiffRun): ModelDiff[] {
  return run.pairs.includes(run.overall) ? [...run.pairs] : [...run.pairs, run.overall];
}

/**
 * The unhealthy-step signals of every consecutive pair and of first -> last ({@link trainingHealth}):
 * each tensor with non-finite values new in B; the largest weight-matrix / embedding growth when it is
 * >= `norm_growth_limit`; and, with `withDeadUnits`, more dead units in B than in A.
 */
export function healthSignals(run: DiffRun, th: Thresholds, withDeadUnits: boolean): HealthSignal[] {
  const out: HealthSignal[] = [];
  for (const d of allPairs(run)) {
    const pair = `${d.from}->${d.to}`;
    const h = trainingHealth(d, tensorSets(d), th);
    for (const n of h.newNonFinite) out.push({ pair, signal: 'new_non_finite', tensor: n.name, value: n.count });
    if (h.maxGrowth && h.maxGrowth.growth >= th.norm_growth_limit) {
      out.push({ pair, signal: 'norm_growth', tensor: h.maxGrowth.name, value: h.maxGrowth.growth });
    }
    if (withDeadUnits && h.deadUnits && h.deadUnits.deadB > h.deadUnits.deadA) {
      out.push({ pair, signal: 'dead_units', tensor: null, value: h.deadUnits.deadB, value_a: h.deadUnits.deadA });
    }
  }
  return out;
}
