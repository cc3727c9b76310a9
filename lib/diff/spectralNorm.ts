/**
 * Spectral norm (largest singular value) and stable rank of a tensor viewed as a matrix, without
 * forming M^T M: Golub-Kahan-Lanczos bidiagonalization with full reorthogonalization (Golub and Van
 * Loan, Matrix Computations, 4th ed., section 10.4), on the native `matmul` kernel, which reads the
 * mapped tensor in any dtype. Lanczos is a power method that keeps every direction it has seen: the top
 * singular value converges in about the square root of the power iteration's steps (a 2048 x 2048
 * Gaussian matrix, whose top singular values are close together, needs ~100 steps instead of > 300).
 *
 * @module
 */
import { SeededRandom } from '../linalg/seededRandom.js';
import type { RawAddon, RawMatmulJob, RawTensorRef, RawWorkOptions } from '../native/AddonTypes.js';
import type { SpectralNorm } from './ModelDiff.js';

/** Relative change of the sigma_max^2 estimate below which (twice in a row) the iteration stops. */
export const SPECTRAL_TOLERANCE = 1e-10;
/** Step cap (also at most min(rows, cols)); the result then says `converged: false` and the tolerance reached. */
export const SPECTRAL_MAX_ITERATIONS = 300;
/** Matrices up to this many elements use the synchronous kernel (no worker round trip per product). */
const SYNC_ELEMENTS = 1 << 16;

/**
 * The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `a` and off-diagonal `b`
 * (b[i] couples i and i + 1), by bisection on Sturm counts.
 */
export function tridiagonalTop(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let hi = 0;
  for (let i = 0; i < n; i++) hi = Math.max(hi, a[i] + (i > 0 ? Math.abs(b[i - 1]) : 0) + (i + 1 < n ? Math.abs(b[i]) : 0));
  let lo = 0;
  // eigenvalues below x: negatives of the LDL^T pivots of T - x I
  const below = (x: number) => {
    let count = 0;
    let d = 1;
    for (let i = 0; i < n; i++) {
      d = a[i] - x - (i > 0 ? (b[i - 1] * b[i - 1]) / d : 0);
      if (d === 0) d = -1e-300;
      if (d < 0) count++;
    }
    return count;
  };
  for (let it = 0; it < 200 && hi - lo > 1e-15 * hi; it++) {
    const mid = (lo + hi) / 2;
    if (below(mid) === n) hi = mid;
    else lo = mid;
  }
  return hi;
}

function normalize(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < x.length; i++) x[i] /= n;
  return n;
}

/** x -= sum_j (q_j . x) q_j, twice (classical Gram-Schmidt with reorthogonalization). */
function reorthogonalize(x: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      let d = 0;
      for (let i = 0; i < x.length; i++) d += q[i] * x[i];
      if (d !== 0) for (let i = 0; i < x.length; i++) x[i] -= d * q[i];
    }
  }
}

/**
 * sigma_max, ||M||_F^2 / sigma_max^2 (stable rank) and the convergence record of M ([rows, cols],
 * row-major, non-finite elements read as 0).
 *
 * Golub-Kahan-Lanczos: from a seeded unit vector v_1 (seed from the shape, so results are reproducible),
 * alpha_j u_j = M v_j - beta_j u_{j-1} and beta_{j+1} v_{j+1} = M^T u_j - alpha_j v_j, both fully
 * reorthogonalized; the largest eigenvalue of the tridiagonal B_j^T B_j (diagonal alpha_j^2 + beta_j^2,
 * off-diagonal alpha_j beta_{j+1}) is the estimate of sigma_max^2, a lower bound that increases
 * monotonically. Stops when its relative change is below {@link SPECTRAL_TOLERANCE} twice in a row,
 * when the Krylov space is exhausted (beta = 0: the estimate is exact), or at the cap.
 *
 * @param frobeniusSq - ||M||_F^2 over finite elements (from the statistics pass).
 * @returns null when M is all zeros (stable rank undefined).
 */
export async function spectralNorm(native: RawAddon, ref: RawTensorRef, rows: number, cols: number, frobeniusSq: number, options: RawWorkOptions = {}): Promise<SpectralNorm | null> {
  if (!(frobeniusSq > 0) || rows < 1 || cols < 1) return null;
  const sync = rows * cols <= SYNC_ELEMENTS;
  const run = async (job: RawMatmulJob, out: Float64Array) => (sync ? native.matmulSync(job, out) : native.matmul(job, out, options));
  const rng = new SeededRandom(0x5bec ^ Math.imul(rows, 40503) ^ cols);
  let v = new Float64Array(cols);
  for (let i = 0; i < cols; i++) v[i] = rng.normal();
  normalize(v);
  const us: Float64Array[] = [];
  const vs: Float64Array[] = [v];
  const alpha: number[] = [];
  const beta: number[] = [0];
  const cap = Math.min(SPECTRAL_MAX_ITERATIONS, rows, cols);
  let estimate = 0;
  let change = Infinity;
  let calm = 0;
  let exhausted = false;
  let it = 0;
  while (it < cap) {
    it++;
    const u = new Float64Array(rows);
    await run({ a: ref, rows, cols, x: v, k: 1, transpose: false }, u);
    const prevU = us[us.length - 1];
    if (prevU) for (let i = 0; i < rows; i++) u[i] -= beta[beta.length - 1] * prevU[i];
    reorthogonalize(u, us);
    const a = normalize(u);
    alpha.push(a);
    if (a === 0) {
      exhausted = true;
      break;
    }
    us.push(u);
    const r = new Float64Array(cols);
    await run({ a: ref, rows, cols, x: u, k: 1, transpose: true }, r);
    for (let i = 0; i < cols; i++) r[i] -= a * v[i];
    reorthogonalize(r, vs);
    const b = normalize(r);
    // B^T B: diagonal alpha_j^2 + beta_j^2, off-diagonal alpha_j beta_{j+1}
    const j = alpha.length;
    const diag = new Float64Array(j);
    const off = new Float64Array(Math.max(0, j - 1));
    for (let i = 0; i < j; i++) diag[i] = alpha[i] ** 2 + beta[i] ** 2;
    for (let i = 0; i + 1 < j; i++) off[i] = alpha[i] * beta[i + 1];
    const top = tridiagonalTop(diag, off, j);
    change = top > 0 ? Math.abs(top - estimate) / top : 0;
    estimate = top;
    beta.push(b);
    if (b <= 1e-14 * Math.sqrt(top)) {
      exhausted = true;
      break;
    }
    calm = change < SPECTRAL_TOLERANCE ? calm + 1 : 0;
    if (calm >= 2) break;
    v = r;
    vs.push(v);
  }
  if (exhausted) {
    const j = alpha.length;
    const diag = Float64Array.from({ length: j }, (_, i) => alpha[i] ** 2 + beta[i] ** 2);
    const off = Float64Array.from({ length: Math.max(0, j - 1) }, (_, i) => alpha[i] * beta[i + 1]);
    estimate = j > 0 ? tridiagonalTop(diag, off, j) : 0;
    change = 0;
  }
  const sigma = Math.sqrt(estimate);
  if (!(sigma > 0)) return null;
  return {
    rows,
    cols,
    sigma_max: sigma,
    frobenius_sq: frobeniusSq,
    stable_rank: frobeniusSq / estimate,
    iterations: it,
    tolerance: change,
    converged: change < SPECTRAL_TOLERANCE || exhausted,
  };
}
