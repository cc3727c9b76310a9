/**
 * Share of an update's energy held by its best rank-k approximation, without forming the update.
 *
 * Randomized range finder with one power iteration (Halko, Martinsson and Tropp, "Finding structure
 * with randomness", SIAM Review 2011, algorithms 4.1 and 4.3): with D = B - A viewed as [m, n] and
 * l = k + 8 Gaussian test vectors, Q = orth(D (D^T orth(D Omega))), then the singular values of the
 * small matrix Q^T D approximate the top l singular values of D. The energy share is
 * sum of the top k squared singular values / ||D||_F^2. It never overestimates the true rank-k share
 * (Q^T D is a projection of D), so a "low-rank" verdict from it is conservative.
 *
 * @module
 */
import { SeededRandom } from '../linalg/seededRandom.js';
import { orthonormalize } from '../linalg/orthonormalize.js';
import { symmetricEigenvalues } from '../linalg/symmetricEigenvalues.js';
import type { RawAddon, RawTensorRef, RawWorkOptions } from '../native/AddonTypes.js';

/** Oversampling of the range finder (Halko et al. recommend 5-10). */
const OVERSAMPLE = 8;

/**
 * The rank whose energy share decides "low-rank update": min(64, floor(min(m, n) / 4)) (SPEC #28).
 * Returns 0 when the matrix is too small for the test.
 */
export function lowRankTestRank(m: number, n: number): number {
  return Math.min(64, Math.floor(Math.min(m, n) / 4));
}

/**
 * Estimates the share of ||B - A||_F^2 captured by the best rank-`k` approximation of B - A.
 *
 * @param a - A as a [m, n] row-major matrix reference; `b` - B, same element count.
 * @param diffSq - ||B - A||_F^2 over finite positions (from the pair kernel).
 * @returns the energy share in [0, 1], or null when diffSq is 0.
 */
export async function lowRankEnergy(
  native: RawAddon,
  a: RawTensorRef,
  b: RawTensorRef,
  m: number,
  n: number,
  k: number,
  diffSq: number,
  options: RawWorkOptions = {},
): Promise<number | null> {
  if (!(diffSq > 0) || k < 1) return null;
  const l = Math.min(k + OVERSAMPLE, m, n);
  const rng = new SeededRandom(0x5eed ^ (m * 31 + n));
  const omega = new Float64Array(n * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();

  const y = new Float64Array(m * l);
  await native.matmul({ a, b, rows: m, cols: n, x: omega, k: l, transpose: false }, y, options);
  orthonormalize(y, m, l);
  // One power iteration: W = Q^T D ([l, n]), Y = D W^T ([m, l]).
  const w = new Float64Array(l * n);
  await native.matmul({ a, b, rows: m, cols: n, x: y, k: l, transpose: true }, w, options);
  const wt = transpose(w, l, n);
  await native.matmul({ a, b, rows: m, cols: n, x: wt, k: l, transpose: false }, y, options);
  orthonormalize(y, m, l);
  const small = new Float64Array(l * n);
  await native.matmul({ a, b, rows: m, cols: n, x: y, k: l, transpose: true }, small, options);
  // Singular values of `small` [l, n]: eigenvalues of small * small^T.
  const gram = new Float64Array(l * l);
  for (let i = 0; i < l; i++) {
    for (let j = i; j < l; j++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += small[i * n + c] * small[j * n + c];
      gram[i * l + j] = s;
      gram[j * l + i] = s;
    }
  }
  const ev = symmetricEigenvalues(gram, l);
  let top = 0;
  for (let i = 0; i < Math.min(k, l); i++) top += Math.max(0, ev[i]);
  return Math.min(1, top / diffSq);
}

function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
  return t;
}
