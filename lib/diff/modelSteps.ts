/**
 * Selection shared by the per-(model, tensor) steps of the diff engine (unit norms, spectral norms,
 * histograms): every float weight tensor of every model once, whichever pairs show it.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { ModelFile, TensorDescriptor } from '../formats/TensorDescriptor.js';
import type { TensorMatch } from './matchTensors.js';
import type { ModelDiff, TensorDiff } from './ModelDiff.js';
import { layoutOf } from './unitAxis.js';

/** A pair of models being diffed and its matched tensors (the engine's plan). */
export interface PlanLike {
  from: number;
  to: number;
  matches: readonly TensorMatch[];
}

/** A float weight tensor of a model with its matrix view. */
export interface WeightTensor {
  model: number;
  t: TensorDescriptor;
  /** Rows and columns of the row-major matrix view (TF layout: [prod(others), out]). */
  rows: number;
  cols: number;
}

/**
 * The float weight tensors of the plans, once per (model, tensor): >= 2 dimensions and >= 2 elements
 * (a [1, N] head included), not optimizer state. `keyOf` gives each its
 * key; `sides` says, per plan and match, the keys of A and B (null where a side is not one).
 */
export function weightTensors(models: readonly ModelFile[], plans: readonly PlanLike[]): { list: WeightTensor[]; sides: [string | null, string | null][][] } {
  const list: WeightTensor[] = [];
  const seen = new Set<string>();
  const want = (model: number, t: TensorDescriptor | null): string | null => {
    if (!t || DTYPES[t.dtype].kind !== 'float' || t.role === 'optimizer') return null;
    if (t.shape.length < 2 || t.count < 2) return null;
    const layout = layoutOf(models[model].metadata);
    const key = keyOf(model, t.name);
    if (!seen.has(key)) {
      seen.add(key);
      // [out, rest] (PyTorch) or [rest, out] (TF); a matrix with one row or one column (a Linear(N, 1)
      // head) is a matrix too: stable rank 1, and its weights have a histogram
      const rows = layout === 'output-last' ? t.count / t.shape[t.shape.length - 1] : t.shape[0];
      list.push({ model, t, rows, cols: t.count / rows });
    }
    return key;
  };
  const sides = plans.map((plan) => plan.matches.map((m) => [want(plan.from, m.a), want(plan.to, m.b)] as [string | null, string | null]));
  return { list, sides };
}

/** The key of a (model, tensor). */
export function keyOf(model: number, name: string): string {
  return `${model}\u0000${name}`;
}

/** Calls `set(tensor, a, b)` for every match of every pair with at least one side in `values`. */
export function assignSides<T>(diffs: readonly ModelDiff[], sides: [string | null, string | null][][], values: ReadonlyMap<string, T | null>, set: (t: TensorDiff, a: T | null, b: T | null) => void): void {
  diffs.forEach((d, p) => {
    d.tensors.forEach((t, i) => {
      const [ka, kb] = sides[p][i];
      const a = ka === null ? undefined : values.get(ka);
      const b = kb === null ? undefined : values.get(kb);
      if (a !== undefined || b !== undefined) set(t, a ?? null, b ?? null);
    });
  });
}

/** Statistics of a (model, tensor) from whichever diff holds them: [l2, finite]. */
export function statsLookup(plans: readonly PlanLike[], diffs: readonly ModelDiff[]): Map<string, { l2: number; finite: number }> {
  const out = new Map<string, { l2: number; finite: number }>();
  plans.forEach((plan, p) => {
    plan.matches.forEach((m, i) => {
      const t = diffs[p].tensors[i];
      if (m.a && t.stats.a) out.set(keyOf(plan.from, m.a.name), { l2: t.stats.a.l2, finite: t.stats.a.finite });
      if (m.b && t.stats.b) out.set(keyOf(plan.to, m.b.name), { l2: t.stats.b.l2, finite: t.stats.b.finite });
    });
  });
  return out;
}
