/**
 * NumPy dtype strings (`<f4`, `>i8`, `|b1`, `<f2` ...) mapped onto diffai's {@link DType}.
 *
 * @module
 */
import type { DType } from '../dtype.js';

/** A parsed numpy dtype: the diffai dtype, its size and whether the bytes are big-endian. */
export interface NumpyDTypeInfo {
  readonly dtype: DType;
  readonly size: number;
  readonly bigEndian: boolean;
}

const KINDS: Readonly<Record<string, DType>> = {
  f8: 'F64', f4: 'F32', f2: 'F16', i8: 'I64', i4: 'I32', i2: 'I16', i1: 'I8', u8: 'U64', u4: 'U32', u2: 'U16', u1: 'U8', b1: 'BOOL',
  // numpy spells some types by single letters
  d: 'F64', f: 'F32', e: 'F16', q: 'I64', l: 'I64', i: 'I32', h: 'I16', b: 'I8', Q: 'U64', L: 'U64', I: 'U32', H: 'U16', B: 'U8', '?': 'BOOL',
};
const SIZES: Readonly<Record<DType, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1, Q8_0: 34 / 32 };

/**
 * Parses a numpy dtype string. `=` (native) is taken as little-endian, the byte order of every
 * platform numpy writes these files on in practice.
 * @returns null for dtypes diffai does not read (complex, strings, objects, records, datetimes).
 */
export function parseNumpyDType(descr: string): NumpyDTypeInfo | null {
  const m = /^([<>=|]?)([a-zA-Z?]\d*)$/.exec(descr);
  if (!m) return null;
  const dtype = KINDS[m[2]];
  if (dtype === undefined) return null;
  const size = SIZES[dtype];
  return { dtype, size, bigEndian: m[1] === '>' && size > 1 };
}
