/**
 * #27 `--sort-by-change-magnitude`: the order of the diff lines (SPEC section 3, row 27).
 *
 * @module
 */
import type { SortKey } from '../config/Config.js';
import { DTYPES } from '../formats/dtype.js';
import type { TensorDiff } from '../diff/ModelDiff.js';
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';

/** One tensor in the ordering with the value it was sorted by. */
export interface OrderingEntry {
  name: string;
  status: TensorDiff['status'];
  /** The sort value; null when the tensor has none (no pair statistics, or NaN / infinite). */
  value: number | null;
  /** rel_l2 is infinite: A is all zeros (the tensor moved from zero); sorted first. */
  from_zero: boolean;
}

/** Result of #27. */
export interface SortResult extends AnalysisResult {
  /** Every tensor name of the first -> last diff, most changed first. */
  ordering: string[];
  key: SortKey;
  direction: 'descending' | 'ascending';
  detail: { from: number; to: number; top_k: number; entries: OrderingEntry[] };
}

/** Sort direction of each key: most change first. A lower cosine similarity is more change. */
const DIRECTION: Record<SortKey, 'descending' | 'ascending'> = {
  rel_l2: 'descending',
  l2_diff: 'descending',
  max_abs: 'descending',
  mean_abs: 'descending',
  changed: 'descending',
  cosine: 'ascending',
  name: 'ascending',
};

function rawValue(t: TensorDiff, key: SortKey): number | null {
  if (key === 'name' || !t.diff) return null;
  // Integer codes against float weights: only the dequantized comparison means anything.
  const [da, db] = t.dtype;
  const codes = da !== null && db !== null && DTYPES[da].kind !== DTYPES[db].kind;
  const d = t.dequant?.diff ?? (codes ? null : t.diff);
  if (!d) return null;
  const v = d[key];
  return Number.isNaN(v) ? null : v;
}

/**
 * #27: orders the tensors of the first -> last diff by `output.sort_key` (`--sort-key`; default `rel_l2`),
 * most change first: descending for rel_l2, l2_diff, max_abs, mean_abs and changed, ascending for cosine,
 * alphabetical for name. Tensors moved from zero (infinite rel_l2) come first; tensors without the value
 * (added, removed, shape changed, or a NaN cosine) come last in diff order; ties keep diff order.
 */
export const sortByChangeMagnitude: Analysis<SortResult> = {
  key: 'sort_by_change_magnitude',
  needs: {},
  run({ run, config }: AnalysisContext): SortResult {
    const key = config.output.sort_key;
    const direction = DIRECTION[key];
    const sign = direction === 'descending' ? -1 : 1;
    const items = run.overall.tensors.map((t, i) => ({ t, i, v: rawValue(t, key) }));
    items.sort((x, y) => {
      if (key === 'name') return x.t.name < y.t.name ? -1 : x.t.name > y.t.name ? 1 : x.i - y.i;
      if (x.v === null || y.v === null) return x.v === null && y.v === null ? x.i - y.i : x.v === null ? 1 : -1;
      if (x.v === y.v) return x.i - y.i;
      return sign * (x.v < y.v ? -1 : 1);
    });
    const entries: OrderingEntry[] = items.map(({ t, v }) => ({
      name: t.name,
      status: t.status,
      value: jsonNumber(v),
      from_zero: key === 'rel_l2' && v === Infinity,
    }));
    return {
      ordering: entries.map((e) => e.name),
      key,
      direction,
      reasons: {},
      detail: { from: run.overall.from, to: run.overall.to, top_k: config.output.top_k, entries },
    };
  },
  format(r: SortResult): string[] {
    const changed = r.detail.entries.filter((e) => e.status !== 'unchanged');
    const shown = changed.slice(0, r.detail.top_k).map((e) => {
      if (r.key === 'name') return e.name;
      return `${e.name}=${e.from_zero ? 'inf (from zero)' : e.value === null ? e.status : formatNumber(e.value)}`;
    });
    const more = changed.length - shown.length;
    return [`sort_by_change_magnitude: ordering=[${shown.join(', ')}${more > 0 ? `, +${more} more` : ''}] (by ${r.key}, ${r.direction})`];
  },
};
