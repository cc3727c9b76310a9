/**
 * Matching the tensors of two models by name and classifying each (SPEC section 2), before any data
 * is read.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import { matlabVariableName, sameShapeIgnoringSingletons } from '../formats/matlab/matlabNames.js';
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
 *
 * A MATLAB file cannot hold every name or rank: when one side is MATLAB, a tensor left unmatched by
 * name is matched through the exporters' variable-name rule (`fc1.weight` is stored as `fc1_weight`)
 * and shown under the other side's name, and shapes that differ only by dimensions of size 1
 * (`[1, 32]` and `[32]`) count as equal. Otherwise a state dict nested under a prefix on one side
 * (`model.`, `module.`) is aligned with the other ({@link alignPrefixes}), and two single-tensor inputs
 * are compared with each other. A tensor matched under another name is shown under A's name.
 */
export function matchTensors(a: ModelFile, b: ModelFile, keep: (name: string) => boolean): TensorMatch[] {
  const matlab = (a.format === 'matlab') !== (b.format === 'matlab');
  const shapesMatch = matlab || (a.format === 'matlab' && b.format === 'matlab') ? sameShapeIgnoringSingletons : sameShape;
  const bIndex = new Map<string, number>();
  b.tensors.forEach((t, i) => {
    if (keep(t.name) && !bIndex.has(t.name)) bIndex.set(t.name, i);
  });
  if (matlab) addMatlabNames(a, b, bIndex);
  else alignPrefixes(a, b, bIndex, keep);
  pairLoneTensors(a, b, bIndex, keep);
  const out: TensorMatch[] = [];
  const seenA = new Set<string>();
  const usedB = new Set<number>();
  a.tensors.forEach((ta, ia) => {
    if (!keep(ta.name) || seenA.has(ta.name)) return;
    seenA.add(ta.name);
    let ib = bIndex.get(ta.name);
    if (ib !== undefined && usedB.has(ib)) ib = undefined;
    const tb = ib === undefined ? null : b.tensors[ib];
    if (ib !== undefined) usedB.add(ib);
    let status: TensorStatus;
    if (!tb) status = 'removed';
    else if (!shapesMatch(ta.shape, tb.shape)) status = 'shape_changed';
    else if (ta.dtype !== tb.dtype) status = 'dtype_changed';
    else status = 'changed';
    // Show the name of the side that is not MATLAB (MATLAB names are sanitised).
    const name = tb && a.format === 'matlab' && b.format !== 'matlab' ? tb.name : ta.name;
    out.push({ name, a: ta, b: tb, index: [ia, ib ?? null], status });
  });
  b.tensors.forEach((tb, ib) => {
    if (!keep(tb.name) || usedB.has(ib)) return;
    usedB.add(ib);
    out.push({ name: tb.name, a: null, b: tb, index: [null, ib], status: 'added' });
  });
  if (!a.orderIsDepth) out.sort((x, y) => naturalCompare(x.name, y.name));
  return out;
}

/**
 * When one side nests the state dict under a prefix (`model.` in a full checkpoint, `module.` from
 * DataParallel, `state_dict.`, `model_state_dict.`), lets A's names find B's tensors with that prefix
 * added or removed. Used only when fewer than half of the tensors match by exact name and the prefix
 * makes at least half of them match.
 */
function alignPrefixes(a: ModelFile, b: ModelFile, bIndex: Map<string, number>, keep: (name: string) => boolean): void {
  const aNames = a.tensors.map((t) => t.name).filter(keep);
  const bNames = [...bIndex.keys()];
  const smaller = Math.min(aNames.length, bNames.length);
  const exact = aNames.filter((n) => bIndex.has(n)).length;
  if (smaller === 0 || exact >= smaller / 2) return;
  const prefixes = (names: string[]) => {
    const out = new Set<string>();
    for (const n of names) {
      const parts = n.split('.');
      if (parts.length > 1) out.add(parts[0] + '.');
      if (parts.length > 2) out.add(parts[0] + '.' + parts[1] + '.');
    }
    return out;
  };
  let best: { prefix: string; side: 'a' | 'b'; matches: number } | null = null;
  for (const p of prefixes(bNames)) {
    const m = aNames.filter((n) => bIndex.has(p + n)).length;
    if (m > (best?.matches ?? exact)) best = { prefix: p, side: 'b', matches: m };
  }
  const aSet = new Set(aNames);
  for (const p of prefixes(aNames)) {
    const m = bNames.filter((n) => aSet.has(p + n)).length;
    if (m > (best?.matches ?? exact)) best = { prefix: p, side: 'a', matches: m };
  }
  if (!best || best.matches < smaller / 2) return;
  if (best.side === 'b') {
    for (const n of aNames) {
      const ib = bIndex.get(best.prefix + n);
      if (!bIndex.has(n) && ib !== undefined) bIndex.set(n, ib);
    }
  } else {
    for (const n of aNames) {
      if (!n.startsWith(best.prefix)) continue;
      const ib = bIndex.get(n.slice(best.prefix.length));
      if (!bIndex.has(n) && ib !== undefined) bIndex.set(n, ib);
    }
  }
}

/**
 * Two inputs holding one tensor each (two `.npy` files, named after their files) are compared with each
 * other whatever their names.
 */
function pairLoneTensors(a: ModelFile, b: ModelFile, bIndex: Map<string, number>, keep: (name: string) => boolean): void {
  const aKept = a.tensors.filter((t) => keep(t.name));
  const bKept = b.tensors.filter((t) => keep(t.name));
  if (aKept.length === 1 && bKept.length === 1 && !bIndex.has(aKept[0].name)) {
    bIndex.set(aKept[0].name, b.tensors.indexOf(bKept[0]));
  }
}

/**
 * Lets A's names find B's tensors through the MATLAB variable-name rule, for names that do not match
 * exactly (either side may be the MATLAB one).
 */
function addMatlabNames(a: ModelFile, b: ModelFile, bIndex: Map<string, number>): void {
  if (b.format === 'matlab') {
    // A (e.g. safetensors) name -> B's sanitised variable.
    const aNames = new Set(a.tensors.map((t) => t.name));
    for (const t of a.tensors) {
      if (bIndex.has(t.name)) continue;
      const ib = bIndex.get(matlabVariableName(t.name));
      if (ib !== undefined && !aNames.has(b.tensors[ib].name)) bIndex.set(t.name, ib);
    }
  } else {
    // A is MATLAB: B's sanitised names point to B's tensors.
    const bySanitised = new Map<string, number>();
    b.tensors.forEach((t, i) => {
      const v = matlabVariableName(t.name);
      if (!bySanitised.has(v)) bySanitised.set(v, i);
    });
    for (const t of a.tensors) {
      if (bIndex.has(t.name)) continue;
      const ib = bySanitised.get(t.name);
      if (ib !== undefined) bIndex.set(t.name, ib);
    }
  }
}

/** True when a matched pair can be compared element by element (both sides, same element count). */
export function isComparable(m: TensorMatch): boolean {
  return m.a !== null && m.b !== null && (m.status === 'changed' || m.status === 'dtype_changed') && m.a.count === m.b.count;
}

/** Kind of a tensor for pooling decisions (float / int / bool), from A when present. */
export function kindOf(m: TensorMatch) {
  return DTYPES[(m.a ?? m.b)!.dtype].kind;
}
