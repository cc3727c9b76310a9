/**
 * Depth order of the weight layers (SPEC section 3, Notation): the file's own order where the format
 * keeps module order (a PyTorch state dict, GGUF), else numbered names, else the chain of matrix
 * dimensions; otherwise unknown.
 *
 * @module
 */
import { naturalCompare } from '../diff/naturalCompare.js';
import type { DepthOrder, Layer } from './ModelStructure.js';
import { nameSegments } from './numberedBlocks.js';

/** Kinds ordered by depth (weight layers). */
export const WEIGHT_LAYER_KINDS = new Set(['linear', 'conv', 'recurrent', 'attention']);

/** The numbers in a module path, outermost first (`blocks.1.mlp.2` -> [1, 2]; `fc2` -> [2]; `conv2d_12` -> [12]). */
function numbersOf(module: string): number[] {
  const out: number[] = [];
  for (const seg of nameSegments(module)) {
    const m = /^(\d+)$/.exec(seg) ?? /(\d+)$/.exec(seg);
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/** The text of the path up to and including its first numbered segment, digits removed (`fc1` -> `fc`; `blocks.0.attn` -> `blocks.`). */
function familyOf(module: string): string | null {
  const segs = nameSegments(module);
  for (let i = 0; i < segs.length; i++) {
    if (/^\d+$/.test(segs[i])) return segs.slice(0, i).join('.') + '.';
    const m = /^(.*?)(\d+)$/.exec(segs[i]);
    if (m) return [...segs.slice(0, i), m[1]].join('.');
  }
  return null;
}

function compareNumbers(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * The depth order of the weight layers (kinds linear, conv, recurrent, attention; not embeddings,
 * norms or inferred tied heads), first rule that gives one:
 *
 * 1. `file order`: the format keeps module order (`orderIsDepth`: PyTorch state dicts, GGUF).
 * 2. `numbered blocks`: every non-head layer carries a number and all share one family (the path up to
 *    the first numbered segment: `blocks.<i>.`, `fc<i>`, `conv2d_<i>`); sorted by the numbers in the
 *    path, ties in natural name order. Heads (by name) come last.
 * 3. `shape chain`: each non-head layer's input width equals the previous one's output width
 *    (channels for conv kernels; a linear layer after a conv may take C * H * W inputs, a flatten, when
 *    no layer matches exactly), with exactly one candidate at every step, one possible first layer and
 *    every layer used; heads come last.
 *
 * @returns the order, or a reason why none was found.
 */
export function depthOrder(layers: readonly Layer[], orderIsDepth: boolean, fileOrder: readonly string[]): { order: DepthOrder | null; reason: string | null } {
  const weight = layers.filter((l) => WEIGHT_LAYER_KINDS.has(l.kind) && l.weight !== null);
  if (weight.length === 0) return { order: null, reason: 'no weight layers' };
  if (orderIsDepth) {
    const pos = new Map(fileOrder.map((n, i) => [n, i]));
    const sorted = [...weight].sort((a, b) => (pos.get(a.weight!) ?? 0) - (pos.get(b.weight!) ?? 0));
    return { order: { source: 'file order', layers: sorted.map((l) => l.name) }, reason: null };
  }
  const heads = weight.filter((l) => l.head).sort((a, b) => naturalCompare(a.name, b.name));
  const body = weight.filter((l) => !l.head);
  const families = new Set(body.map((l) => familyOf(l.module || l.name)));
  if (body.length > 0 && !families.has(null) && families.size === 1) {
    const sorted = [...body].sort((a, b) => compareNumbers(numbersOf(a.module || a.name), numbersOf(b.module || b.name)) || naturalCompare(a.name, b.name));
    return { order: { source: 'numbered blocks', layers: [...sorted, ...heads].map((l) => l.name) }, reason: null };
  }
  const chain = shapeChain(body);
  if (chain) return { order: { source: 'shape chain', layers: [...chain, ...heads].map((l) => l.name) }, reason: null };
  return {
    order: null,
    reason: 'depth order unknown: the file does not keep module order (safetensors sorts names), the layer names are not numbered in one family and the layer dimensions do not chain',
  };
}

/** Input and output widths of a layer for chaining: channels for conv kernels, [out, in] for matrices. */
function widths(l: Layer): { in: number[]; out: number } | null {
  if (l.kind === 'conv' && l.conv) {
    const ins = [l.conv.in_channels];
    if (l.conv.depthwise) ins.push(l.conv.out_channels);
    return { in: ins, out: l.conv.out_channels };
  }
  if (l.kind === 'linear') return { in: [l.in], out: l.out };
  return null;
}

function shapeChain(body: readonly Layer[]): Layer[] | null {
  if (body.length === 0) return null;
  const w = body.map(widths);
  if (w.some((x) => x === null)) return null;
  const ws = w as { in: number[]; out: number }[];
  const exact = (p: number, q: number): boolean => ws[q].in.includes(ws[p].out);
  // a flatten: a linear layer after a conv takes C * H * W inputs
  const flatten = (p: number, q: number): boolean => body[p].kind === 'conv' && body[q].kind === 'linear' && ws[q].in[0] % ws[p].out === 0 && ws[q].in[0] > ws[p].out;
  const feeds = (p: number, q: number): boolean => exact(p, q) || flatten(p, q);
  const starts = body.map((_, q) => q).filter((q) => !body.some((_, p) => p !== q && feeds(p, q)));
  if (starts.length !== 1) return null;
  const order = [starts[0]];
  const used = new Set(order);
  while (order.length < body.length) {
    const last = order[order.length - 1];
    const free = body.map((_, q) => q).filter((q) => !used.has(q));
    // an exact width match wins over a flatten
    let next = free.filter((q) => exact(last, q));
    if (next.length === 0) next = free.filter((q) => flatten(last, q));
    if (next.length !== 1) return null;
    order.push(next[0]);
    used.add(next[0]);
  }
  return order.map((i) => body[i]);
}
