/**
 * Recognising a precision change (SPEC section 3: "every change is a dtype change").
 *
 * @module
 */
import type { ModelDiff, TensorDiff } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';

/** Whether a pair is a precision change, and which conversions it holds. */
export interface PrecisionChange {
  isPrecisionChange: boolean;
  /** Distinct conversions, e.g. `F32 -> F16`, in order of first appearance. */
  conversions: string[];
  /** Tensors whose dtype changed. */
  tensors: number;
  /** Tensors added or removed as the scale / zero point of a dtype-changed tensor. */
  scaleTensors: string[];
  /**
   * Dtype-changed tensors stored as integer codes on one side (F32 -> I8 / U8 quantized weights): their raw
   * values are not comparable with floats, so they are outside S and R does not cover them.
   */
  integerCoded: string[];
}

/**
 * The reason a figure pooled over S (R, stability) does not describe a pair in which tensors were
 * converted to integer codes; null when there are none.
 */
export function integerCodedReason(p: PrecisionChange): string | null {
  if (p.integerCoded.length === 0) return null;
  const n = p.integerCoded.length;
  return `${n} converted tensor${n === 1 ? ' is' : 's are'} stored as integer codes (${p.conversions.join(', ')}), not comparable as values without dequantization: see --quantization-analysis`;
}

const SCALE_SUFFIXES = ['.q_scale', '.q_min', '_scale', '.scale', '_zero_point', '.zero_point'];

function isTiedAlias(t: TensorDiff): boolean {
  if (t.status === 'removed') return (t.aliasOf?.[0] ?? null) !== null;
  if (t.status === 'added') return (t.aliasOf?.[1] ?? null) !== null;
  return false;
}

/**
 * A pair is a precision change when at least one tensor changed dtype and every other difference is
 * part of that: no tensor changed values at equal dtype, none changed shape, and the only tensors added or
 * removed are tied aliases or the scales / zero points of a dtype-changed tensor or of its module, as
 * quantized exports store them (`<name>_scale`, `<name>.scale`, `<name>.q_scale`, `<name>.q_min`,
 * `<name>_zero_point`, `<name>.zero_point`, with `<name>` the tensor, e.g. `fc1.weight.scale`, or its module,
 * e.g. `fc1.scale` beside `fc1.weight` in a torch dynamic-quantized state dict). Such a pair
 * is a conversion, not a training step: #1 and #2 say so instead of reading rounding error as learning,
 * and #26 (`--quantization-analysis`) measures it.
 */
export function precisionChange(diff: ModelDiff): PrecisionChange {
  const changedDtype = diff.tensors.filter((t) => t.status === 'dtype_changed');
  const converted = new Set<string>();
  for (const t of changedDtype) {
    converted.add(t.name);
    const dot = t.name.lastIndexOf('.');
    if (dot > 0) converted.add(t.name.slice(0, dot));
  }
  const integerCoded = changedDtype
    .filter((t) => t.dtype.some((d) => d !== null && DTYPES[d].kind !== 'float') && t.dtype.some((d) => d !== null && DTYPES[d].kind === 'float'))
    .map((t) => t.name);
  const conversions: string[] = [];
  for (const t of changedDtype) {
    const c = `${t.dtype[0]} -> ${t.dtype[1]}`;
    if (!conversions.includes(c)) conversions.push(c);
  }
  const scaleTensors: string[] = [];
  let only = changedDtype.length > 0;
  for (const t of diff.tensors) {
    if (t.status === 'dtype_changed' || t.status === 'unchanged') continue;
    if ((t.status === 'added' || t.status === 'removed') && (isTiedAlias(t) || isScaleOf(t.name, converted))) {
      if (!isTiedAlias(t)) scaleTensors.push(t.name);
      continue;
    }
    only = false;
  }
  return { isPrecisionChange: only, conversions, tensors: changedDtype.length, scaleTensors: only ? scaleTensors : [], integerCoded };
}

function isScaleOf(name: string, converted: ReadonlySet<string>): boolean {
  return SCALE_SUFFIXES.some((s) => name.endsWith(s) && converted.has(name.slice(0, -s.length)));
}
