/**
 * Recognising a precision change (SPEC section 3: "every change is a dtype change"), and telling it from
 * a training step that was also cast to another dtype.
 *
 * @module
 */
import type { ModelDiff, PairDiff, TensorDiff, TensorStats } from '../diff/ModelDiff.js';
import { DTYPES, type DType } from '../formats/dtype.js';
import { formatNumber } from './formatNumber.js';
import { QUANT_PARAM_SUFFIXES } from '../quant/quantParamSuffixes.js';

/**
 * Whether one dtype-changed tensor is only converted: its error against A is within what the conversion
 * can cause ({@link castBound}).
 */
export interface CastCheck {
  tensor: string;
  /** `F32 -> F16`. */
  conversion: string;
  /** ||B - A|| / ||A||, B dequantized where it holds integer codes with a recognised convention; null when not measured. */
  rel_l2: number | null;
  /** The largest rel_l2 the conversion alone can cause for this tensor; null when not known. */
  bound: number | null;
  /** true: within the bound (only converted); false: beyond it (the values changed otherwise too); null: not checked. */
  consistent: boolean | null;
  /** How the bound was obtained, or why the tensor was not checked. */
  basis: string;
}

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
  /** The cast check of every dtype-changed tensor, in diff order. */
  checks: CastCheck[];
  /** Dtype-changed tensors whose values moved beyond what their conversion can cause (a training step and a cast). */
  beyondCast: string[];
  /** Dtype-changed tensors that could not be checked (integer codes without a usable convention). */
  unchecked: string[];
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


/**
 * Largest relative error per element of one conversion into (or out of) a dtype. Floats: 2u with u the
 * unit roundoff (2^-p for p significand bits: F32 2^-24, F16 2^-11, BF16 2^-8, F8_E4M3 2^-4, F8_E5M2
 * 2^-3); round to nearest stays within u, truncation within 2u. GGUF Q8_0: a block of 32 stores
 * round(x / d) with d = absmax / 127, an error of at most d / 2 per element, so the block's squared error
 * is at most 32 (absmax / 254)^2 <= 32 / 254^2 of its squared norm (which holds absmax^2): sqrt(32) / 254
 * relative, widened by 2^-10 for the F16 rounding of d.
 */
export const CAST_RELATIVE_ERROR: Readonly<Partial<Record<DType, number>>> = {
  F64: 2 ** -52,
  F32: 2 ** -23,
  F16: 2 ** -10,
  BF16: 2 ** -7,
  F8_E4M3: 2 ** -3,
  F8_E5M2: 2 ** -2,
  Q8_0: (Math.sqrt(32) / 254) * (1 + 2 ** -10),
};

/**
 * Largest absolute error per element below the normal range (the spacing of the subnormals; Q8_0: a block
 * whose F16 scale underflows decodes to 0, an error below 127 x 2^-24).
 */
export const CAST_ABSOLUTE_ERROR: Readonly<Partial<Record<DType, number>>> = {
  F64: 2 ** -1074,
  F32: 2 ** -149,
  F16: 2 ** -24,
  BF16: 2 ** -133,
  F8_E4M3: 2 ** -9,
  F8_E5M2: 2 ** -16,
  Q8_0: 127 * 2 ** -24,
};

function isTiedAlias(t: TensorDiff): boolean {
  if (t.status === 'removed') return (t.aliasOf?.[0] ?? null) !== null;
  if (t.status === 'added') return (t.aliasOf?.[1] ?? null) !== null;
  return false;
}

/**
 * The largest ||B - A||^2 a conversion between the two dtypes of a tensor can cause, and its basis.
 *
 * - Float to float (Q8_0 included): every element moves by at most max(rho |a_i|, s) with rho the larger
 *   {@link CAST_RELATIVE_ERROR} of the two dtypes and s the larger {@link CAST_ABSOLUTE_ERROR}, so
 *   ||B - A||^2 <= rho^2 ||A||^2 + n s^2 over the n positions where both are finite (values made
 *   non-finite by an overflow are counted apart, not here).
 * - Integer codes dequantized with their scales: rounding to a code moves an element by at most half
 *   its quantization step, so ||B_dq - A||^2 <= step_sq / 4 (step_sq = sum of the squared steps); the
 *   bound allows 4x that (one full step per element in RMS) for clipping calibrations and the float
 *   rounding of the dequantized values.
 * - Integer codes without a usable convention: not checked (null).
 */
export function castBound(t: TensorDiff): { values: { diff: PairDiff; a: TensorStats } | null; boundSq: number | null; basis: string } {
  const [da, db] = t.dtype;
  if (da === null || db === null) return { values: null, boundSq: null, basis: 'not present on both sides' };
  const coded = DTYPES[da].kind !== 'float' || DTYPES[db].kind !== 'float';
  if (coded) {
    if (!t.dequant) {
      const why = t.dequant_problem ? t.dequant_problem.reason : 'integer codes without a recognised scale / zero-point convention';
      // Integer to integer with equal raw values is a lossless change of the storage type.
      if (DTYPES[da].kind !== 'float' && DTYPES[db].kind !== 'float' && t.diff && t.diff.diff_sq === 0 && t.diff.new_non_finite === 0) {
        return { values: { diff: t.diff, a: t.stats.a! }, boundSq: 0, basis: 'integer to integer with equal values' };
      }
      return { values: null, boundSq: null, basis: `not checked: ${why}` };
    }
    return { values: { diff: t.dequant.diff, a: t.dequant.stats.a }, boundSq: t.dequant.step_sq, basis: 'dequantized codes: RMS error at most one quantization step' };
  }
  if (!t.diff || !t.stats.a) return { values: null, boundSq: null, basis: 'no pair statistics' };
  const rho = Math.max(CAST_RELATIVE_ERROR[da] ?? 0, CAST_RELATIVE_ERROR[db] ?? 0);
  const s = Math.max(CAST_ABSOLUTE_ERROR[da] ?? 0, CAST_ABSOLUTE_ERROR[db] ?? 0);
  const normA = Number.isFinite(t.stats.a.l2) ? t.stats.a.l2 : 0;
  const coarse = (CAST_RELATIVE_ERROR[da] ?? 0) >= (CAST_RELATIVE_ERROR[db] ?? 0) ? da : db;
  const basis = coarse === 'Q8_0' ? 'Q8_0 blocks: at most half a step (absmax / 127) per element' : `rounding to ${coarse}: at most 2u per element (u = ${formatNumber(rho / 2)})`;
  return { values: { diff: t.diff, a: t.stats.a }, boundSq: rho * rho * normA * normA + t.diff.both_finite * s * s, basis };
}

/** The cast check of one dtype-changed tensor. */
export function castCheck(t: TensorDiff): CastCheck {
  const conversion = `${t.dtype[0]} -> ${t.dtype[1]}`;
  const b = castBound(t);
  if (!b.values || b.boundSq === null) return { tensor: t.name, conversion, rel_l2: null, bound: null, consistent: null, basis: b.basis };
  const normA = Number.isFinite(b.values.a.l2) ? b.values.a.l2 : 0;
  const dsq = b.values.diff.diff_sq;
  const rel = normA > 0 && Number.isFinite(dsq) ? Math.sqrt(dsq) / normA : null;
  const bound = normA > 0 ? Math.sqrt(b.boundSq) / normA : null;
  return { tensor: t.name, conversion, rel_l2: rel, bound, consistent: Number.isFinite(dsq) ? dsq <= b.boundSq : null, basis: b.basis };
}

/**
 * A pair is a precision change when at least one tensor changed dtype, every dtype-changed tensor is only
 * converted (its error against A is within what the conversion can cause: {@link castCheck}; a tensor
 * that cannot be checked, integer codes without a usable convention, does not count against it), and
 * every other difference is part of the conversion: no tensor changed values at equal dtype, none changed
 * shape, and the only tensors added or removed are tied aliases or the scales / zero points of a
 * dtype-changed tensor or of its module, as quantized exports store them (`<name>_scale`, `<name>.scale`,
 * `<name>.q_scale`, `<name>.q_min`, `<name>_zero_point`, `<name>.zero_point`, with `<name>` the tensor,
 * e.g. `fc1.weight.scale`, or its module, e.g. `fc1.scale` beside `fc1.weight` in a torch
 * dynamic-quantized state dict). Such a pair is a conversion, not a training step: #1 and #2 say so
 * instead of reading rounding error as learning, and #26 (`--quantization-analysis`) measures it. A pair
 * whose dtype-changed tensors moved beyond their rounding was trained and cast (`beyondCast`).
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
  const checks = changedDtype.map(castCheck);
  const beyondCast = checks.filter((c) => c.consistent === false).map((c) => c.tensor);
  const unchecked = checks.filter((c) => c.consistent === null).map((c) => c.tensor);
  const scaleTensors: string[] = [];
  let only = changedDtype.length > 0 && beyondCast.length === 0;
  for (const t of diff.tensors) {
    if (t.status === 'dtype_changed' || t.status === 'unchanged') continue;
    if ((t.status === 'added' || t.status === 'removed') && (isTiedAlias(t) || isScaleOf(t.name, converted))) {
      if (!isTiedAlias(t)) scaleTensors.push(t.name);
      continue;
    }
    only = false;
  }
  return { isPrecisionChange: only, conversions, tensors: changedDtype.length, scaleTensors: only ? scaleTensors : [], integerCoded, checks, beyondCast, unchecked };
}

/**
 * The sentence a training analysis adds when a pair that is read as training also changed dtypes (a
 * training step and a cast, or a training step beside converted tensors); null when no dtype changed.
 */
export function dtypeChangeNote(p: PrecisionChange): string | null {
  if (p.tensors === 0 || p.isPrecisionChange) return null;
  const what = `${p.conversions.join(', ')} on ${p.tensors} tensor${p.tensors === 1 ? '' : 's'}`;
  if (p.beyondCast.length === 0) return `a dtype change (${what}) happened beside the training step`;
  // the clearest example: the tensor furthest beyond its bound
  const beyond = p.checks.filter((c) => c.consistent === false);
  const first = beyond.reduce((x, y) => ((y.rel_l2 ?? 0) / (y.bound || 1) > (x.rel_l2 ?? 0) / (x.bound || 1) ? y : x));
  const n = beyond.length;
  return `trained and cast: a dtype change (${what}) also happened, and ${n === p.tensors ? (n === 1 ? 'its tensor' : `all ${n} tensors`) : `${n} of them`} moved beyond what the conversion can cause (${first.tensor}: rel_l2 ${formatNumber(first.rel_l2)}, the conversion at most ${formatNumber(first.bound)})`;
}

function isScaleOf(name: string, converted: ReadonlySet<string>): boolean {
  return QUANT_PARAM_SUFFIXES.some((s) => name.endsWith(s) && converted.has(name.slice(0, -s.length)));
}
