/**
 * The signals of an unhealthy training step, shared by #1 (trend `degrading`) and #2 (status `diverging`).
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { ModelDiff, TensorDiff } from '../diff/ModelDiff.js';
import { deadUnitChange } from './deadUnits.js';
import type { TensorSets } from './tensorSets.js';

/** Non-finite values new in B for one tensor. */
export interface NewNonFinite {
  name: string;
  /** Positions non-finite in B and finite in A (for a tensor on B's side only: all its non-finite values). */
  count: number;
}

/** Unhealthy-step signals of one pair. */
export interface TrainingHealth {
  /** Float tensors (any role, buffers included) with non-finite values new in B. */
  newNonFinite: NewNonFinite[];
  /** The largest ||B_t|| / ||A_t|| over weight matrices and embeddings of S with A_t != 0. */
  maxGrowth: { name: string; growth: number } | null;
  /**
   * Dead units over weight matrices of S that have unit norms on both sides; null when none has
   * (the diff engine computes them only when asked, for matrices of at least 2x2).
   */
  deadUnits: {
    tensors: number;
    deadA: number;
    deadB: number;
    newlyDead: number;
    /** Tensors with a dead unit on either side. */
    perTensor: { name: string; units: number; deadA: number; deadB: number; newlyDead: number }[];
  } | null;
}

/** Non-finite values of `t` that are new in B. */
export function newNonFiniteOf(t: TensorDiff): number {
  if (t.kind !== 'float') return 0;
  if (t.diff) return t.diff.new_non_finite;
  const b = t.stats.b;
  if (!b) return 0;
  const a = t.stats.a;
  return Math.max(0, b.nan + b.inf - (a ? a.nan + a.inf : 0));
}

/**
 * Collects the unhealthy-step signals of one pair: new NaN/Inf (any float tensor, including buffers and
 * tensors added in B), the largest per-tensor weight-norm growth over trainable matrices (weight
 * matrices and embeddings; biases and norm gains start near zero or one and can grow 10x legitimately),
 * and dead units (see {@link deadUnitChange}).
 */
export function trainingHealth(diff: ModelDiff, sets: TensorSets, thresholds: Thresholds): TrainingHealth {
  const newNonFinite: NewNonFinite[] = [];
  for (const t of diff.tensors) {
    const n = newNonFiniteOf(t);
    if (n > 0) newNonFinite.push({ name: t.name, count: n });
  }
  let maxGrowth: TrainingHealth['maxGrowth'] = null;
  let dead: TrainingHealth['deadUnits'] = null;
  for (const p of sets.pooled) {
    if ((p.role === 'weight_matrix' || p.role === 'embedding') && p.growth !== null && p.normA > 0) {
      if (maxGrowth === null || p.growth > maxGrowth.growth) maxGrowth = { name: p.name, growth: p.growth };
    }
    if (p.role !== 'weight_matrix') continue;
    const du = deadUnitChange(p.tensor, thresholds.dead_unit_ratio);
    if (!du) continue;
    dead ??= { tensors: 0, deadA: 0, deadB: 0, newlyDead: 0, perTensor: [] };
    dead.tensors++;
    dead.deadA += du.deadA;
    dead.deadB += du.deadB;
    dead.newlyDead += du.newlyDead;
    if (du.deadA > 0 || du.deadB > 0) dead.perTensor.push({ name: p.name, ...du });
  }
  return { newNonFinite, maxGrowth, deadUnits: dead };
}
