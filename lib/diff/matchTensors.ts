/**
 * Matching the tensors of two models by name and classifying each (SPEC section 2), before any data
 * is read.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { ModelFile, TensorDescriptor } from '../formats/TensorDescriptor.js';
import type { TensorStatus } from './ModelDiff.js';
import { naturalCompare } from './naturalCompare.js';

/** A matched (or one-sided) tensor, before statistics. */
export interface TensorMatch {
  name: string;
  a: TensorDescriptor | null;
  b: TensorDescriptor | null;
  /** Index in each model's tensor order. */
  index: [number | null, number | null];
  /**
   * Status decided from metadata alone; `changed` here means "same shape, values still to compare"
   * and becomes `unchanged` when the pair kernel finds no element beyond epsilon.
   */
  status: TensorStatus;
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/**
 * Matches tensors by name. Display order: A's order when A keeps depth order (a PyTorch state dict),
 * followed by B-only tensors in B's order; otherwise natural name order.
 */
export function matchTensors(a: ModelFile, b: ModelFile, keep: (name: string) => boolean): TensorMatch[] {
  const bIndex = new Map<string, number>();
  b.tensors.forEach((t, i) => {
    if (keep(t.name)) bIndex.set(t.name, i);
  });
  const out: TensorMatch[] = [];
  const seen = new Set<string>();
  a.tensors.forEach((ta, ia) => {
    if (!keep(ta.name) || seen.has(ta.name)) return;
    seen.add(ta.name);
    const ib = bIndex.get(ta.name);
    const tb = ib === undefined ? null : b.tensors[ib];
    let status: TensorStatus;
    if (!tb) status = 'removed';
    else if (!sameShape(ta.shape, tb.shape)) status = 'shape_changed';
    else if (ta.dtype !== tb.dtype) status = 'dtype_changed';
    else status = 'changed';
    out.push({ name: ta.name, a: ta, b: tb, index: [ia, ib ?? null], status });
  });
  b.tensors.forEach((tb, ib) => {
    if (!keep(tb.name) || seen.has(tb.name)) return;
    seen.add(tb.name);
    out.push({ name: tb.name, a: null, b: tb, index: [null, ib], status: 'added' });
  });
  if (!a.orderIsDepth) out.sort((x, y) => naturalCompare(x.name, y.name));
  return out;
}

/** True when a matched pair can be compared element by element (both sides, same element count). */
export function isComparable(m: TensorMatch): boolean {
  return m.a !== null && m.b !== null && (m.status === 'changed' || m.status === 'dtype_changed') && m.a.count === m.b.count;
}

/** Kind of a tensor for pooling decisions (float / int / bool), from A when present. */
export function kindOf(m: TensorMatch) {
  return DTYPES[(m.a ?? m.b)!.dtype].kind;
}
