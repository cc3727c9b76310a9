/**
 * Recognising how integer codes are dequantized: the conventions users have, found from the tensors
 * stored beside the codes (SPEC #26; docs/analyses.md, "Quantization conventions").
 *
 * | convention | codes | beside them | value |
 * |---|---|---|---|
 * | `torch_affine` | a torch quantized tensor (`role: quantized`: I8 / U8 / I32) | `<name>.scale` (F64), `<name>.zero_point` (I64), 0-d or [C]; axis in `metadata.quantization[<name>]` | (q - zero_point) * scale |
 * | `tfjs_affine` | U8 / U16 (TF.js weight quantization) | `<name>.q_scale`, `<name>.q_min` (0-d) | q * scale + min |
 * | `per_channel_symmetric` | I8 / U8 / I16 / I32 | `<name>_scale` or `<name>.scale`, [C] or 0-d, and optionally `<name>_zero_point` / `<name>.zero_point` | (q - zero_point) * scale |
 *
 * The channel axis of C scales: the axis the format states (torch), else the single axis of size C,
 * else (a square matrix) the layout's output axis: axis 0 in PyTorch layout, the last axis in TF
 * layout (`format` metadata `tfjs-weights`, `tf`, `keras`). GGUF Q8_0 blocks are a native dtype,
 * decoded by every kernel, and need no encoding here.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { TensorDescriptor } from '../formats/TensorDescriptor.js';
import { layoutOf } from '../diff/unitAxis.js';
import type { RawAffine } from '../native/AddonTypes.js';
import { readValues } from './readValues.js';

/** A recognised encoding of one tensor's integer codes. */
export interface QuantEncoding {
  convention: 'torch_affine' | 'tfjs_affine' | 'per_channel_symmetric';
  /** Channel axis; null for one scale for the whole tensor. */
  axis: number | null;
  /** The tensors holding the parameters (scale first). */
  scale: TensorDescriptor;
  zeroPoint: TensorDescriptor | null;
  min: TensorDescriptor | null;
}

/** What the encoding search needs of a model. */
export interface QuantModel {
  tensors: readonly TensorDescriptor[];
  metadata: Readonly<Record<string, unknown>>;
}

/** True when codes of this dtype can be dequantized (integers; not floats, not BOOL). */
export function isIntegerCoded(t: Pick<TensorDescriptor, 'dtype'>): boolean {
  return DTYPES[t.dtype].kind === 'int';
}

/** What a search for an encoding found: the encoding, or why the parameters stored beside the codes do not fit. */
export type QuantEncodingSearch = { encoding: QuantEncoding; problem?: undefined } | { encoding: null; problem: string };

function shapeText(t: Pick<TensorDescriptor, 'name' | 'shape'>): string {
  return `${t.name} [${t.shape.join(', ')}]`;
}

/** Why `channels` scales fit no axis of `t` (for the problem sentences). */
function axisProblem(t: TensorDescriptor, p: TensorDescriptor, stated: number | undefined): string {
  if (stated !== undefined) return `${p.name} has ${p.count} values, but axis ${stated} of ${shapeText(t)} (the axis the file states) has ${t.shape[stated] ?? 'no'} entries`;
  return `${p.name} has ${p.count} values, which match no axis of ${shapeText(t)} (one value per tensor, or one per channel of an axis)`;
}

/**
 * The encoding of an integer-coded tensor, or why none fits. `encoding: null` with `problem`: quantization
 * parameters are stored beside the codes but do not fit them (a scale of an integer dtype, a scale or
 * zero point whose length matches no axis); `null`: no parameters at all (the codes are not comparable).
 */
export function searchQuantEncoding(t: TensorDescriptor, model: QuantModel): QuantEncodingSearch | null {
  if (!isIntegerCoded(t)) return null;
  const byName = new Map(model.tensors.map((x) => [x.name, x]));
  const get = (n: string) => byName.get(n) ?? null;
  const layout = layoutOf(model.metadata as Record<string, unknown>);
  const quantMeta = ((model.metadata.quantization ?? {}) as Record<string, { axis?: number } | undefined>)[t.name];
  const notFloat = (p: TensorDescriptor) => `${p.name} is ${p.dtype}: a quantization scale must be floating point`;
  const fail = (problem: string): QuantEncodingSearch => ({ encoding: null, problem });

  const torchScale = get(`${t.name}.scale`);
  const torchZero = get(`${t.name}.zero_point`);
  if (t.role === 'quantized' || (quantMeta && torchScale)) {
    if (!torchScale) return fail(`${t.name} is a quantized tensor without ${t.name}.scale`);
    if (DTYPES[torchScale.dtype].kind !== 'float') return fail(notFloat(torchScale));
    const axis = channelAxis(t.shape, torchScale.count, layout, quantMeta?.axis);
    if (axis === undefined) return fail(axisProblem(t, torchScale, quantMeta?.axis));
    if (torchZero && torchZero.count !== torchScale.count) return fail(`${torchZero.name} has ${torchZero.count} values, ${torchScale.name} ${torchScale.count}: they must match`);
    return { encoding: { convention: 'torch_affine', axis, scale: torchScale, zeroPoint: torchZero, min: null } };
  }
  const qScale = get(`${t.name}.q_scale`);
  const qMin = get(`${t.name}.q_min`);
  if (qScale && qMin) {
    if (DTYPES[qScale.dtype].kind !== 'float') return fail(notFloat(qScale));
    const axis = channelAxis(t.shape, qScale.count, layout, undefined);
    if (axis === undefined) return fail(axisProblem(t, qScale, undefined));
    if (qMin.count !== qScale.count) return fail(`${qMin.name} has ${qMin.count} values, ${qScale.name} ${qScale.count}: they must match`);
    return { encoding: { convention: 'tfjs_affine', axis, scale: qScale, zeroPoint: null, min: qMin } };
  }
  const scale = get(`${t.name}_scale`) ?? torchScale;
  if (scale) {
    if (DTYPES[scale.dtype].kind !== 'float') return fail(notFloat(scale));
    const zero = get(`${t.name}_zero_point`) ?? torchZero;
    const axis = channelAxis(t.shape, scale.count, layout, undefined);
    if (axis === undefined) return fail(axisProblem(t, scale, undefined));
    if (zero && zero.count !== scale.count) return fail(`${zero.name} has ${zero.count} values, ${scale.name} ${scale.count}: they must match`);
    return { encoding: { convention: 'per_channel_symmetric', axis, scale, zeroPoint: zero, min: null } };
  }
  return null;
}

/**
 * The encoding of an integer-coded tensor, or null when no convention fits (then its values cannot be
 * compared with floats, and the analyses say so; {@link searchQuantEncoding} says why).
 */
export function findQuantEncoding(t: TensorDescriptor, model: QuantModel): QuantEncoding | null {
  return searchQuantEncoding(t, model)?.encoding ?? null;
}

/**
 * The axis along which `channels` scales apply; null for a single scale; undefined when no axis fits.
 */
export function channelAxis(shape: readonly number[], channels: number, layout: 'output-first' | 'output-last', stated: number | undefined): number | null | undefined {
  if (channels === 1) return null;
  if (stated !== undefined) return shape[stated] === channels ? stated : undefined;
  const fits = shape.map((d, i) => (d === channels ? i : -1)).filter((i) => i >= 0);
  if (fits.length === 1) return fits[0];
  if (fits.length === 0) return undefined;
  const out = layout === 'output-last' ? shape.length - 1 : 0;
  return fits.includes(out) ? out : fits[0];
}

/**
 * The affine map of the dequantization kernel for an encoding: the tensor viewed as [outer, n, inner]
 * around the channel axis, scale[c] and offset[c] with value = q * scale + offset (torch: offset =
 * -zero_point * scale; TF.js: offset = min), or why it cannot be used: a non-finite scale or offset
 * makes the dequantized values of its channel non-finite (`non_finite_elements` counts them).
 */
export function affineMap(t: TensorDescriptor, e: QuantEncoding): { affine: RawAffine; problem?: undefined } | { affine: null; problem: string; non_finite_elements: number } {
  const scale = readValues(e.scale);
  const zero = e.zeroPoint ? readValues(e.zeroPoint) : null;
  const min = e.min ? readValues(e.min) : null;
  const n = scale.length;
  const offset = new Float64Array(n);
  for (let c = 0; c < n; c++) offset[c] = min ? min[c] : zero ? -zero[c] * scale[c] : 0;
  let outer = 1;
  let inner = 1;
  if (e.axis === null) inner = t.count;
  else {
    for (let k = 0; k < e.axis; k++) outer *= t.shape[k];
    for (let k = e.axis + 1; k < t.shape.length; k++) inner *= t.shape[k];
  }
  let bad = 0;
  let badScale = 0;
  for (let c = 0; c < n; c++) {
    if (!Number.isFinite(scale[c])) badScale++;
    if (!Number.isFinite(scale[c]) || !Number.isFinite(offset[c])) bad++;
  }
  if (bad > 0) {
    const what = badScale > 0 ? `${e.scale.name} has ${badScale} non-finite value${badScale === 1 ? '' : 's'}` : `${(e.min ?? e.zeroPoint ?? e.scale).name} gives ${bad} non-finite offset${bad === 1 ? '' : 's'}`;
    return { affine: null, problem: `${what} (of ${n}): the dequantized ${t.name} is non-finite in ${bad === n ? 'every channel' : `${bad} channel${bad === 1 ? '' : 's'}`}`, non_finite_elements: bad * outer * inner };
  }
  return { affine: { outer, n, inner, scale, offset } };
}

/**
 * The affine map of {@link affineMap}, or null when a parameter is not finite (the encoding is then not
 * usable).
 */
export function affineOf(t: TensorDescriptor, e: QuantEncoding): RawAffine | null {
  return affineMap(t, e).affine;
}
