/**
 * MATLAB Level 5 MAT-file framing (MathWorks, "MAT-File Format", version 7 document): the 128-byte
 * header, data element tags (normal and the 4-byte "small data element" form), and the type codes.
 *
 * @module
 */
import type { DType } from '../dtype.js';

/** Data types of data elements (miINT8 ...). */
export const MI = {
  INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13,
  MATRIX: 14, COMPRESSED: 15, UTF8: 16, UTF16: 17, UTF32: 18,
} as const;

/** Array classes of miMATRIX (mxDOUBLE_CLASS ...). */
export const MX = {
  CELL: 1, STRUCT: 2, OBJECT: 3, CHAR: 4, SPARSE: 5, DOUBLE: 6, SINGLE: 7, INT8: 8, UINT8: 9, INT16: 10, UINT16: 11,
  INT32: 12, UINT32: 13, INT64: 14, UINT64: 15, FUNCTION: 16, OPAQUE: 17,
} as const;

/** dtype and element size of each numeric mi type. */
export const MI_DTYPES: Readonly<Record<number, { dtype: DType; size: number }>> = {
  [MI.INT8]: { dtype: 'I8', size: 1 },
  [MI.UINT8]: { dtype: 'U8', size: 1 },
  [MI.INT16]: { dtype: 'I16', size: 2 },
  [MI.UINT16]: { dtype: 'U16', size: 2 },
  [MI.INT32]: { dtype: 'I32', size: 4 },
  [MI.UINT32]: { dtype: 'U32', size: 4 },
  [MI.SINGLE]: { dtype: 'F32', size: 4 },
  [MI.DOUBLE]: { dtype: 'F64', size: 8 },
  [MI.INT64]: { dtype: 'I64', size: 8 },
  [MI.UINT64]: { dtype: 'U64', size: 8 },
};

/** dtype of each numeric array class. */
export const MX_DTYPES: Readonly<Record<number, DType>> = {
  [MX.DOUBLE]: 'F64', [MX.SINGLE]: 'F32', [MX.INT8]: 'I8', [MX.UINT8]: 'U8', [MX.INT16]: 'I16', [MX.UINT16]: 'U16',
  [MX.INT32]: 'I32', [MX.UINT32]: 'U32', [MX.INT64]: 'I64', [MX.UINT64]: 'U64',
};

/** Names of array classes, for messages. */
export const MX_NAMES: Readonly<Record<number, string>> = {
  1: 'cell', 2: 'struct', 3: 'object', 4: 'char', 5: 'sparse', 6: 'double', 7: 'single', 8: 'int8', 9: 'uint8', 10: 'int16',
  11: 'uint16', 12: 'int32', 13: 'uint32', 14: 'int64', 15: 'uint64', 16: 'function handle', 17: 'opaque object',
};

/** A decoded data element tag. */
export interface MatTag {
  readonly type: number;
  /** Bytes of data (without padding). */
  readonly length: number;
  /** Offset of the data, relative to the region. */
  readonly dataOffset: number;
  /** Offset of the next element (data padded to 8 bytes; small elements take 8 bytes in all). */
  readonly next: number;
}

/**
 * Reads the tag at `offset` from 8 bytes `b`. Small data elements pack the length into the upper
 * 16 bits of the first word and their (<= 4 bytes of) data into the second.
 */
export function decodeTag(b: Uint8Array, offset: number, little: boolean): MatTag {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const w0 = dv.getUint32(0, little);
  const small = w0 >>> 16;
  if (small !== 0) {
    return { type: w0 & 0xffff, length: small, dataOffset: offset + 4, next: offset + 8 };
  }
  const length = dv.getUint32(4, little);
  // Elements are padded to 8 bytes, except miCOMPRESSED ones, which MATLAB and scipy write unpadded.
  const padded = w0 === MI.COMPRESSED ? length : length + ((8 - (length % 8)) % 8);
  return { type: w0, length, dataOffset: offset + 8, next: offset + 8 + padded };
}
