/**
 * The element types diffai knows, with their sizes and the codes the native addon uses.
 *
 * Names follow the safetensors spelling (`F32`, `BF16`, `I64`, `BOOL`, `F8_E4M3` ...), which is also
 * what every reader maps its own dtype names onto.
 *
 * @module
 */

/** Element type of a tensor, spelled as in the safetensors format. */
export type DType =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL'
  | 'F8_E4M3'
  | 'F8_E5M2'
  | 'Q8_0';

/** What a dtype is, for the analyses: floating point, integer, or boolean. */
export type DTypeKind = 'float' | 'int' | 'bool';

/** One row of the dtype table. */
export interface DTypeInfo {
  /** Bytes per element. */
  readonly size: number;
  /** Code passed to the native addon; must match `native/core/dtype.h`. */
  readonly code: number;
  readonly kind: DTypeKind;
  /** For block-quantized types: elements and bytes per block. */
  readonly block?: { readonly elements: number; readonly bytes: number };
}

/**
 * Bytes of `count` elements of `dtype`. @throws RangeError when a block type's count is not a multiple
 * of its block size.
 */
export function byteLengthOf(dtype: DType, count: number): number {
  const info = DTYPES[dtype];
  if (info.block) {
    if (count % info.block.elements !== 0) throw new RangeError(`${dtype} needs a multiple of ${info.block.elements} elements, got ${count}`);
    return (count / info.block.elements) * info.block.bytes;
  }
  return count * info.size;
}

/**
 * The dtype table. Native codes are fixed: they index `native/core/dtype.h`'s `DType` enum.
 */
export const DTYPES: Readonly<Record<DType, DTypeInfo>> = Object.freeze({
  F64: { size: 8, code: 0, kind: 'float' },
  F32: { size: 4, code: 1, kind: 'float' },
  F16: { size: 2, code: 2, kind: 'float' },
  BF16: { size: 2, code: 3, kind: 'float' },
  I64: { size: 8, code: 4, kind: 'int' },
  I32: { size: 4, code: 5, kind: 'int' },
  I16: { size: 2, code: 6, kind: 'int' },
  I8: { size: 1, code: 7, kind: 'int' },
  U64: { size: 8, code: 8, kind: 'int' },
  U32: { size: 4, code: 9, kind: 'int' },
  U16: { size: 2, code: 10, kind: 'int' },
  U8: { size: 1, code: 11, kind: 'int' },
  BOOL: { size: 1, code: 12, kind: 'bool' },
  F8_E4M3: { size: 1, code: 13, kind: 'float' },
  F8_E5M2: { size: 1, code: 14, kind: 'float' },
  // GGUF Q8_0: blocks of 32 elements, each a little-endian F16 scale then 32 int8 (34 bytes per block).
  // `size` is per element only nominally; byte lengths of block types use blockBytes below.
  Q8_0: { size: 34 / 32, code: 15, kind: 'float', block: { elements: 32, bytes: 34 } },
});

/** True when `name` is a dtype diffai knows. */
export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

/** True for floating-point dtypes (F64, F32, F16, BF16, F8). */
export function isFloatDType(dtype: DType): boolean {
  return DTYPES[dtype].kind === 'float';
}
