/**
 * Dequantization of PyTorch quantized tensors as the PyTorch reader describes them: integer data
 * (`role: 'quantized'`) next to `<name>.scale` and `<name>.zero_point`, with the scheme and axis in
 * `metadata.quantization[<name>]`. value = (q - zero_point) * scale (PyTorch's affine quantization).
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { ModelFile, TensorDescriptor } from '../TensorDescriptor.js';

function bytesOf(t: TensorDescriptor): Uint8Array {
  return t.source.kind === 'memory' ? t.source.data : t.source.file.read(t.source.offset, t.source.byteLength);
}

function numbers(t: TensorDescriptor): number[] {
  const b = bytesOf(t);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i < t.count; i++) {
    switch (t.dtype) {
      case 'F64': out.push(dv.getFloat64(i * 8, true)); break;
      case 'F32': out.push(dv.getFloat32(i * 4, true)); break;
      case 'I64': out.push(Number(dv.getBigInt64(i * 8, true))); break;
      case 'I32': out.push(dv.getInt32(i * 4, true)); break;
      case 'I8': out.push(dv.getInt8(i)); break;
      case 'U8': out.push(dv.getUint8(i)); break;
      default: throw new DiffaiError('ERR_INVALID_ARGUMENT', `${t.name}: quantization data of dtype ${t.dtype} is not supported`);
    }
  }
  return out;
}

/**
 * The float32 values of a quantized tensor of `model` (copied into a new array: call it for the tensors
 * an analysis needs, not for a whole large model at once).
 *
 * @param name - the quantized tensor (role `quantized`).
 * @throws DiffaiError `ERR_INVALID_ARGUMENT` when `name` is not a quantized tensor of `model` or its
 *   scale / zero point tensors are missing or do not fit the axis.
 */
export function dequantize(model: ModelFile, name: string): Float32Array {
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  const q = byName.get(name);
  const scale = byName.get(`${name}.scale`);
  const zp = byName.get(`${name}.zero_point`);
  if (!q || q.role !== 'quantized' || !scale || !zp) throw new DiffaiError('ERR_INVALID_ARGUMENT', `${model.path}: ${name} is not a quantized tensor with a scale and a zero point`);
  const info = ((model.metadata.quantization ?? {}) as Record<string, { axis?: number }>)[name] ?? {};
  const data = numbers(q);
  const s = numbers(scale);
  const z = numbers(zp);
  const out = new Float32Array(q.count);
  if (s.length === 1 && z.length === 1) {
    for (let i = 0; i < out.length; i++) out[i] = (data[i] - z[0]) * s[0];
    return out;
  }
  const axis = info.axis ?? 0;
  const channels = q.shape[axis];
  if (channels !== s.length || channels !== z.length) throw new DiffaiError('ERR_INVALID_ARGUMENT', `${model.path}: ${name} has ${channels} channels on axis ${axis} but ${s.length} scales`);
  let inner = 1;
  for (let k = axis + 1; k < q.shape.length; k++) inner *= q.shape[k];
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = (data[i] - z[c]) * s[c];
  }
  return out;
}
