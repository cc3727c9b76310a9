/**
 * Numbered blocks (SPEC #5): the repeated units of a model, named `<prefix>.<int>.` (`blocks.3.`,
 * `model.layers.11.`, `encoder.layer.0.`) or `Layer_<int>` (Keras).
 *
 * @module
 */

/** Splits a tensor name into path segments (`.` and `/` separate them). */
export function nameSegments(name: string): string[] {
  return name.split(/[./]/).filter((s) => s.length > 0);
}

/** The numbered-block family with the most distinct indices, and each name's index in it. */
export interface BlockFamily {
  prefix: string;
  indices: number[];
  /** Block index of a tensor name, or null when it is outside the family. */
  indexOf(name: string): number | null;
}

/**
 * Finds the numbered-block family with the most distinct indices among the names. A family is the
 * literal path before an integer segment that is followed by at least one more segment
 * (`blocks.0.attn.in_proj_weight` gives family `blocks` with index 0), or the segment pattern
 * `Layer_<int>`. Ties go to the family holding more tensors, then to the shorter prefix (so `blocks`
 * wins over `blocks.0.mlp`). Returns null when no name has such a segment.
 */
export function numberedBlocks(names: readonly string[]): BlockFamily | null {
  const families = new Map<string, { indices: Set<number>; tensors: number }>();
  const add = (prefix: string, index: number) => {
    let f = families.get(prefix);
    if (!f) families.set(prefix, (f = { indices: new Set(), tensors: 0 }));
    f.indices.add(index);
    f.tensors++;
  };
  for (const name of names) {
    const segs = nameSegments(name);
    for (let i = 0; i < segs.length; i++) {
      const keras = /^Layer_(\d+)$/i.exec(segs[i]);
      if (keras) add(segs.slice(0, i).concat('Layer_').join('.'), Number(keras[1]));
      else if (i > 0 && i < segs.length - 1 && /^\d+$/.test(segs[i])) add(segs.slice(0, i).join('.'), Number(segs[i]));
    }
  }
  let best: [string, { indices: Set<number>; tensors: number }] | null = null;
  for (const entry of families) {
    if (!best) {
      best = entry;
      continue;
    }
    const [p, f] = entry;
    const [bp, bf] = best;
    if (f.indices.size > bf.indices.size || (f.indices.size === bf.indices.size && (f.tensors > bf.tensors || (f.tensors === bf.tensors && p.length < bp.length)))) best = entry;
  }
  if (!best) return null;
  const [prefix, f] = best;
  const keras = prefix.endsWith('Layer_');
  const head = keras ? prefix.slice(0, -'Layer_'.length) : prefix;
  return {
    prefix: keras ? `${head}Layer_<int>` : `${prefix}.<int>`,
    indices: [...f.indices].sort((a, b) => a - b),
    indexOf(name: string): number | null {
      const segs = nameSegments(name);
      const pre = head === '' ? [] : head.replace(/\.$/, '').split('.');
      if (pre.some((s, i) => segs[i] !== s)) return null;
      const seg = segs[pre.length];
      if (seg === undefined) return null;
      const m = keras ? /^Layer_(\d+)$/i.exec(seg) : /^(\d+)$/.exec(seg);
      if (!m || (!keras && pre.length + 1 >= segs.length)) return null;
      return Number(m[1]);
    },
  };
}
