/**
 * Reading the values of small tensors (quantization scales, zero points, minimums) into JS numbers.
 *
 * @module
 */
import { DiffaiError } from '../errors.js';
import type { TensorDescriptor } from '../formats/TensorDescriptor.js';

/** The largest tensor read into JS: scales and zero points are per tensor or per channel. */
export const MAX_VALUES = 1 << 20;

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * The values of a small tensor as float64 (a copy: reads the bytes through the mapping or the memory
 * source). Integers above 2^53 round to the nearest double.
 *
 * @throws DiffaiError `ERR_INVALID_ARGUMENT` for more than {@link MAX_VALUES} elements or a dtype
 *   without a scalar decoding here (F8, Q8_0, BOOL).
 */
export function readValues(t: TensorDescriptor): Float64Array {
  if (t.count > MAX_VALUES) throw new DiffaiError('ERR_INVALID_ARGUMENT', `${t.name}: ${t.count} values are too many to read as quantization parameters`);
  const b = t.source.kind === 'memory' ? t.source.data : t.source.file.read(t.source.offset, t.source.byteLength);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float64Array(t.count);
  for (let i = 0; i < t.count; i++) {
    switch (t.dtype) {
      case 'F64':
        out[i] = dv.getFloat64(i * 8, true);
        break;
      case 'F32':
        out[i] = dv.getFloat32(i * 4, true);
        break;
      case 'F16':
        out[i] = halfToNumber(dv.getUint16(i * 2, true));
        break;
      case 'BF16':
        out[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0];
        break;
      case 'I64':
        out[i] = Number(dv.getBigInt64(i * 8, true));
        break;
      case 'U64':
        out[i] = Number(dv.getBigUint64(i * 8, true));
        break;
      case 'I32':
        out[i] = dv.getInt32(i * 4, true);
        break;
      case 'U32':
        out[i] = dv.getUint32(i * 4, true);
        break;
      case 'I16':
        out[i] = dv.getInt16(i * 2, true);
        break;
      case 'U16':
        out[i] = dv.getUint16(i * 2, true);
        break;
      case 'I8':
        out[i] = dv.getInt8(i);
        break;
      case 'U8':
        out[i] = dv.getUint8(i);
        break;
      default:
        throw new DiffaiError('ERR_INVALID_ARGUMENT', `${t.name}: values of dtype ${t.dtype} are not read as quantization parameters`);
    }
  }
  return out;
}
