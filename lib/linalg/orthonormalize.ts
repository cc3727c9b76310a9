/**
 * Orthonormal columns of a tall matrix by modified Gram-Schmidt, applied twice ("twice is enough",
 * Giraud, Langou and Rozloznik 2005) for numerical orthogonality.
 *
 * @module
 */

/**
 * Orthonormalises the columns of `y` ([rows, cols], row-major) in place. Columns that are (numerically)
 * dependent on earlier ones become zero.
 *
 * @returns the number of non-zero columns.
 */
export function orthonormalize(y: Float64Array, rows: number, cols: number): number {
  let rank = 0;
  const norms0 = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let i = 0; i < rows; i++) s += y[i * cols + j] ** 2;
    norms0[j] = Math.sqrt(s);
  }
  for (let j = 0; j < cols; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        let dot = 0;
        for (let i = 0; i < rows; i++) dot += y[i * cols + p] * y[i * cols + j];
        if (dot !== 0) for (let i = 0; i < rows; i++) y[i * cols + j] -= dot * y[i * cols + p];
      }
    }
    let s = 0;
    for (let i = 0; i < rows; i++) s += y[i * cols + j] ** 2;
    const norm = Math.sqrt(s);
    if (norm > 1e-12 * (norms0[j] || 1) && norm > 0) {
      for (let i = 0; i < rows; i++) y[i * cols + j] /= norm;
      rank++;
    } else {
      for (let i = 0; i < rows; i++) y[i * cols + j] = 0;
    }
  }
  return rank;
}
