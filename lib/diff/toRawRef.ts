/**
 * Conversion of a tensor descriptor into the addon's job reference.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { TensorDescriptor } from '../formats/TensorDescriptor.js';
import type { RawTensorRef } from '../native/AddonTypes.js';

/** The addon reference of a tensor's bytes (a mapped range or an in-memory buffer). */
export function toRawRef(t: TensorDescriptor): RawTensorRef {
  const dtype = DTYPES[t.dtype].code;
  if (t.source.kind === 'mapped') {
    return { file: t.source.file, offset: t.source.offset, byteLength: t.source.byteLength, dtype, count: t.count };
  }
  return { data: t.source.data, offset: 0, byteLength: t.source.data.byteLength, dtype, count: t.count };
}

/** Bytes a kernel reads for this tensor. */
export function byteLengthOfSource(t: TensorDescriptor): number {
  return t.source.kind === 'mapped' ? t.source.byteLength : t.source.data.byteLength;
}
