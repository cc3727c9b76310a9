/**
 * Dead units of a weight matrix from its per-unit norms.
 *
 * @module
 */
import type { TensorDiff } from '../diff/ModelDiff.js';
import { median } from './modifiedZScores.js';

/** Dead units of one weight matrix on both sides. */
export interface DeadUnitChange {
  /** Units (output rows / channels). */
  units: number;
  deadA: number;
  deadB: number;
  /** Units dead in B that were alive in A. */
  newlyDead: number;
}

/** Marks dead units: finite norm that is 0 or below `ratio` x the median finite unit norm. */
function deadMask(norms: Float64Array, ratio: number): boolean[] {
  const finite: number[] = [];
  for (const x of norms) if (Number.isFinite(x)) finite.push(x);
  const med = median(finite);
  return Array.from(norms, (x) => Number.isFinite(x) && (x === 0 || x < ratio * med));
}

/**
 * Dead units of a weight matrix in A and in B from `TensorDiff.unitNorms` (per output unit L2 norms,
 * computed by the diff engine for weight matrices of at least 2x2 in the layout's own output axis).
 *
 * A unit is dead when its norm is 0 or below `ratio` (`thresholds.dead_unit_ratio`, default 0.1) times the
 * median unit norm of the same tensor on the same side: a neuron or channel whose incoming weights
 * collapsed relative to its peers contributes (almost) nothing. Units with a non-finite norm are not
 * dead (they are counted as NaN/Inf elsewhere).
 *
 * @returns null when unit norms are missing on a side or the unit counts differ.
 */
export function deadUnitChange(t: TensorDiff, ratio: number): DeadUnitChange | null {
  const a = t.unitNorms?.a ?? null;
  const b = t.unitNorms?.b ?? null;
  if (!a || !b || a.length !== b.length || a.length === 0) return null;
  const da = deadMask(a, ratio);
  const db = deadMask(b, ratio);
  let deadA = 0;
  let deadB = 0;
  let newlyDead = 0;
  for (let i = 0; i < da.length; i++) {
    if (da[i]) deadA++;
    if (db[i]) deadB++;
    if (db[i] && !da[i]) newlyDead++;
  }
  return { units: a.length, deadA, deadB, newlyDead };
}
