/**
 * Recognising a pair that is not a continuation (SPEC section 3): B is not a later checkpoint of A.
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import { classifyUpdate } from './updatePattern.js';
import type { TensorSets } from './tensorSets.js';

/** The re-initialised share of a pair's changed parameters. */
export interface Continuation {
  /** True when the re-initialised share is >= `not_continuation_share`. */
  notContinuation: boolean;
  /** Re-initialised parameters / changed parameters; null when nothing changed. */
  share: number | null;
  changedParams: number;
  reinitialisedParams: number;
  /** Re-initialised tensors, largest first. */
  reinitialised: string[];
}

/**
 * Measures which share of the changed parameters (elements of changed tensors of S) sits in tensors
 * whose update pattern (#28, {@link classifyUpdate}) is `reinitialisation`. At or above
 * `not_continuation_share` (50 %), B is not a continuation of A (two independent trainings, a new
 * model of the same architecture): #1 and #2 then answer null with that reason.
 */
export function notContinuation(sets: TensorSets, th: Thresholds): Continuation {
  let changedParams = 0;
  let reinitialisedParams = 0;
  const reinit: { name: string; count: number }[] = [];
  for (const p of sets.pooled) {
    const c = classifyUpdate(p, th);
    if (!c) continue;
    changedParams += p.count;
    if (c.pattern === 'reinitialisation') {
      reinitialisedParams += p.count;
      reinit.push({ name: p.name, count: p.count });
    }
  }
  const share = changedParams > 0 ? reinitialisedParams / changedParams : null;
  reinit.sort((x, y) => y.count - x.count || (x.name < y.name ? -1 : 1));
  return {
    notContinuation: share !== null && share >= th.not_continuation_share,
    share,
    changedParams,
    reinitialisedParams,
    reinitialised: reinit.map((r) => r.name),
  };
}
