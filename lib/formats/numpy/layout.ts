/**
 * Layout conversions into the canonical form of a {@link TensorDescriptor}: little-endian, C (row-major)
 * order. Formats that store big-endian or column-major (Fortran, MATLAB) data convert with these into a
 * `memory` source; the copy is the price of comparing the same logical elements.
 *
 * @module
 */

/**
 * Reverses the byte order of every `elementSize`-byte element of `data`, in place.
 * @param data - whole elements (length a multiple of `elementSize`).
 */
export function byteSwapInPlace(data: Uint8Array, elementSize: number): void {
  if (elementSize <= 1) return;
  const n = data.length - (data.length % elementSize);
  for (let i = 0; i < n; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = data[a];
      data[a] = data[b];
      data[b] = t;
    }
  }
}

/**
 * Copies a column-major (Fortran order) array into row-major (C order).
 *
 * The logical element at index (i0, ..., ik) is at linear position i0 + s0*(i1 + s1*(...)) in the source
 * and at ((i0*s1 + i1)*s2 + ...) in the result, so both orders describe the same logical array.
 *
 * @param data - `product(shape) * elementSize` bytes in Fortran order.
 * @returns a new buffer in C order (or `data` itself when rank <= 1 or at most one dimension exceeds 1).
 */
export function fortranToC(data: Uint8Array, shape: readonly number[], elementSize: number): Uint8Array {
  const nonUnit = shape.filter((d) => d !== 1).length;
  if (shape.length <= 1 || nonUnit <= 1) return data;
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * elementSize);
  const rank = shape.length;
  // Fortran strides in elements: f[0] = 1, f[k] = f[k-1] * shape[k-1].
  const fstride = new Array<number>(rank);
  fstride[0] = 1;
  for (let k = 1; k < rank; k++) fstride[k] = fstride[k - 1] * shape[k - 1];
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  // Walk the destination in C order (last index fastest), keeping the Fortran source offset in step.
  for (let dst = 0; dst < count; dst++) {
    const s = src * elementSize;
    out.set(data.subarray(s, s + elementSize), dst * elementSize);
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      src += fstride[k];
      if (index[k] < shape[k]) break;
      src -= fstride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/**
 * Gathers a strided view (element strides, as PyTorch records them) into a C-order copy.
 *
 * @param storage - the bytes of the underlying storage, starting at element `base`.
 * @param base - element offset of the view's first element within `storage`.
 */
export function gatherStrided(
  storage: Uint8Array,
  base: number,
  shape: readonly number[],
  stride: readonly number[],
  elementSize: number,
): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * elementSize);
  if (count === 0) return out;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = base;
  for (let dst = 0; dst < count; dst++) {
    const s = src * elementSize;
    out.set(storage.subarray(s, s + elementSize), dst * elementSize);
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      src += stride[k];
      if (index[k] < shape[k]) break;
      src -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/** Product of a shape (1 for a 0-d tensor). */
export function shapeCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
