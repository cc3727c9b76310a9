/**
 * Spectral norm (largest singular value) and stable rank of tensors viewed as matrices: the Lanczos
 * method (Golub and Van Loan, Matrix Computations, 4th ed., section 10.1) on the Gram operator
 * G = M^T M, whose largest eigenvalue is sigma_max^2. Lanczos is a power method that keeps every
 * direction it has seen: the top eigenvalue converges in about the square root of the power
 * iteration's steps (an 8192 x 8192 Gaussian matrix, whose top singular values crowd together, needs
 * about 60 steps; plain power iteration on a 2048 x 2048 one had not converged after 300).
 *
 * One step is one product G v, computed natively by `gram` in a single read of M (for each row,
 * t = row . v, then acc += t * row from cache), for every matrix still iterating at once: the
 * matrices of a whole diff (A and B of every pair) share each call and the thread pool. Each matrix
 * stops on its own (see {@link spectralNorms}).
 *
 * @module
 */
import { SeededRandom } from '../linalg/seededRandom.js';
import type { RawAddon, RawGramJob, RawTensorRef, RawWorkOptions } from '../native/AddonTypes.js';
import type { SpectralNorm } from './ModelDiff.js';

/**
 * A matrix has converged when the relative change of its sigma_max^2 estimate stays below this for
 * {@link SPECTRAL_CALM_STEPS} steps in a row. The estimate approaches sigma_max^2 from below; where the
 * top singular values crowd together (Gaussian matrices, the slowest case) its remaining error was
 * 3-8 times the last change (measured on 8192 x 8192), so sigma_max^2 and the stable rank come out
 * within about 1e-5 relative, well inside the 1e-3 the specification tests against an exact SVD.
 */
export const SPECTRAL_TOLERANCE = 1e-6;
/** Consecutive steps whose change must stay below {@link SPECTRAL_TOLERANCE}. */
export const SPECTRAL_CALM_STEPS = 3;
/** Step cap (also at most cols, the dimension of G); the result then says `converged: false` and the last change. */
export const SPECTRAL_MAX_ITERATIONS = 300;
/**
 * Steps a matrix is expected to take before its changes show a trend, for progress estimates only
 * (the real test models' matrices take 7-19, Gaussian ones of a few thousand rows 40-60).
 */
export const SPECTRAL_EXPECTED_ITERATIONS = 40;

/**
 * Steps a running matrix still needs, estimated for progress from the relative changes of its
 * estimate so far (`changes[j - 1]` after step j) and the steps in a row already below the tolerance:
 * once 6 steps are done and the changes shrink (by a factor rho per step over the last 5), the steps
 * until the change is below {@link SPECTRAL_TOLERANCE}, log(tolerance / change) / log(rho), plus the
 * calm steps; else {@link SPECTRAL_EXPECTED_ITERATIONS} minus the steps done. At least 1, at most what
 * the cap leaves.
 */
export function remainingSteps(changes: readonly number[], calm: number): number {
  const j = changes.length;
  const cap = Math.max(1, SPECTRAL_MAX_ITERATIONS - j);
  const last = changes[j - 1];
  let n = SPECTRAL_EXPECTED_ITERATIONS - j;
  if (last < SPECTRAL_TOLERANCE) {
    n = SPECTRAL_CALM_STEPS - calm;
  } else if (j >= 6 && last > 0 && changes[j - 6] > 0) {
    const rho = (last / changes[j - 6]) ** (1 / 5);
    if (rho < 0.97) n = Math.ceil(Math.log(SPECTRAL_TOLERANCE / last) / Math.log(rho)) + SPECTRAL_CALM_STEPS;
  }
  return Math.min(cap, Math.max(1, n));
}

/** Calls whose matrices hold at most this many elements together run synchronously (no worker round trip). */
const SYNC_ELEMENTS = 1 << 16;

/** One matrix of {@link spectralNorms}. */
export interface SpectralInput {
  ref: RawTensorRef;
  rows: number;
  cols: number;
  /** ||M||_F^2 over finite elements (from the statistics pass). */
  frobeniusSq: number;
}

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

/** Lanczos vectors of the matrices iterating at once, at most this many bytes together (a matrix holds 3 of cols float64). */
const ACTIVE_BYTES = 32 << 20;

interface State {
  input: SpectralInput;
  /** v_j and v_{j-1} (null before step 2), length cols; null until the matrix starts. */
  v: Float64Array | null;
  prev: Float64Array | null;
  alpha: number[];
  /** beta[i] couples v_i and v_{i+1} (beta[0] = 0). */
  beta: number[];
  /** The sigma_max^2 estimate, its last relative change, and the steps in a row that change was below the tolerance. */
  estimate: number;
  change: number;
  calm: number;
  /** The relative change after each step (the first is 1). */
  changes: number[];
  done: boolean;
  exhausted: boolean;
  bytes: number;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = x.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
  }
  if (i < n) s0 += x[i] * y[i];
  return s0 + s1;
}

/** The seeded start vector of a [rows, cols] matrix (unit norm). */
function startVector(rows: number, cols: number): Float64Array {
  const rng = new SeededRandom(0x5bec ^ Math.imul(rows, 40503) ^ cols);
  const v = new Float64Array(cols);
  for (let i = 0; i < cols; i++) v[i] = rng.normal();
  const n = Math.sqrt(dot(v, v));
  for (let i = 0; i < cols; i++) v[i] /= n;
  return v;
}

/**
 * sigma_max, ||M||_F^2 / sigma_max^2 (stable rank) and the convergence record of each matrix
 * ([rows, cols], row-major, non-finite elements read as 0), iterated together.
 *
 * From a seeded unit vector v_1 (seed from the shape, so results are reproducible and independent of
 * the other matrices), Lanczos on G = M^T M in the order Paige found stable: w = G v_j - beta_j v_{j-1},
 * alpha_j = v_j . w, w -= alpha_j v_j, beta_{j+1} = ||w||, v_{j+1} = w / beta_{j+1}. The largest
 * eigenvalue of the tridiagonal T_j (alpha on the diagonal, beta beside it) is the estimate of
 * sigma_max^2, a lower bound that never decreases. The vectors are not reorthogonalized: in floating
 * point they lose orthogonality as Ritz values converge, which only adds copies of converged
 * eigenvalues to T_j; its extreme eigenvalues stay within rounding of eigenvalues of G (Paige 1976;
 * Parlett, The Symmetric Eigenvalue Problem, ch. 13). Full reorthogonalization gave the same steps
 * and values to 1e-13 on every test matrix, for 20% more time on a 0.5B model and a stored basis
 * per matrix. A matrix stops when the relative change of the estimate is below
 * {@link SPECTRAL_TOLERANCE} {@link SPECTRAL_CALM_STEPS} times in a row, when the Krylov space is
 * exhausted (beta vanishes, or j = cols), or at {@link SPECTRAL_MAX_ITERATIONS}; `tolerance` is then
 * the last change (0 when exhausted).
 *
 * Every step of every running matrix is one native `gram` call; matrices start in input order as long
 * as their vectors fit {@link ACTIVE_BYTES} together (at least one runs).
 *
 * Progress (`options.onProgress`) covers the whole computation: bytes read so far, and as the total
 * those plus the bytes still expected ({@link remainingSteps} per unfinished matrix). The total moves
 * as the estimates do, so the fraction done can step back a little; `RunProgress` and the CLI bar keep
 * the largest one shown.
 *
 * @returns per input, in order; null when M is all zeros (stable rank undefined).
 * @throws DiffaiError as the native `gram` (ERR_ABORTED, ERR_FILE_CHANGED, ...).
 */
export async function spectralNorms(native: RawAddon, inputs: readonly SpectralInput[], options: RawWorkOptions = {}): Promise<(SpectralNorm | null)[]> {
  const states: State[] = inputs.map((input) => {
    const ok = input.frobeniusSq > 0 && input.rows >= 1 && input.cols >= 1;
    return { input, v: null, prev: null, alpha: [], beta: [0], estimate: 0, change: Infinity, calm: 0, changes: [], done: !ok, exhausted: false, bytes: input.ref.byteLength };
  });
  let bytesDone = 0;
  const remaining = () => {
    let r = 0;
    for (const s of states) if (!s.done) r += s.bytes * remainingSteps(s.changes, s.calm);
    return r;
  };
  let next = 0; // the first matrix not started yet
  const active: State[] = [];
  for (;;) {
    for (let i = active.length - 1; i >= 0; i--) if (active[i].done) active.splice(i, 1);
    let held = 0;
    for (const s of active) held += 24 * s.input.cols;
    for (; next < states.length; next++) {
      const s = states[next];
      if (s.done) continue;
      if (active.length > 0 && held + 24 * s.input.cols > ACTIVE_BYTES) break;
      s.v = startVector(s.input.rows, s.input.cols);
      active.push(s);
      held += 24 * s.input.cols;
    }
    if (active.length === 0) break;
    const jobs: RawGramJob[] = active.map((s) => ({ ref: s.input.ref, rows: s.input.rows, cols: s.input.cols, v: s.v! }));
    let outLen = 0;
    let elements = 0;
    for (const s of active) {
      outLen += s.input.cols;
      elements += s.input.rows * s.input.cols;
    }
    const out = new Float64Array(outLen);
    if (elements <= SYNC_ELEMENTS) {
      native.gramSync(jobs, out);
    } else {
      const onProgress = options.onProgress;
      const base = bytesDone;
      const total = base + remaining();
      await native.gram(jobs, out, { abort: options.abort, onProgress: onProgress ? (done) => onProgress(base + done, total) : undefined });
    }
    let offset = 0;
    for (const s of active) {
      const cols = s.input.cols;
      // a copy: w becomes v_{j+1}, and `out` is dropped
      const w = out.slice(offset, offset + cols);
      offset += cols;
      bytesDone += s.bytes;
      step(s, w);
    }
    options.onProgress?.(bytesDone, bytesDone + remaining());
  }
  return states.map(result);
}

/** One Lanczos step of a matrix from w = G v_j (becomes v_{j+1}). */
function step(s: State, w: Float64Array): void {
  const { alpha, beta } = s;
  const v = s.v!;
  const prev = s.prev;
  const j = alpha.length + 1;
  if (prev) {
    const bj = beta[j - 1];
    for (let i = 0; i < w.length; i++) w[i] -= bj * prev[i];
  }
  const a = dot(v, w);
  alpha.push(a);
  for (let i = 0; i < w.length; i++) w[i] -= a * v[i];
  const b = Math.sqrt(dot(w, w));
  beta.push(b);
  const theta = tridiagonalTop(alpha, beta.slice(1, j), j);
  s.change = theta > 0 ? Math.abs(theta - s.estimate) / theta : 0;
  s.changes.push(s.change);
  s.estimate = theta;
  if (!(theta > 0) || b <= 1e-13 * theta || j >= s.input.cols) {
    // G v_1 = 0 (M vanishes on the start vector), or the Krylov space is exhausted
    s.done = true;
    s.exhausted = true;
    s.change = 0;
  } else {
    s.calm = s.change < SPECTRAL_TOLERANCE ? s.calm + 1 : 0;
    if (s.calm >= SPECTRAL_CALM_STEPS || j >= SPECTRAL_MAX_ITERATIONS) s.done = true;
  }
  if (s.done) {
    s.v = null;
    s.prev = null;
    return;
  }
  for (let i = 0; i < w.length; i++) w[i] /= b;
  s.prev = v;
  s.v = w;
}

function result(s: State): SpectralNorm | null {
  const sigma = Math.sqrt(s.estimate);
  if (!(sigma > 0)) return null;
  const { rows, cols, frobeniusSq } = s.input;
  return {
    rows,
    cols,
    sigma_max: sigma,
    frobenius_sq: frobeniusSq,
    stable_rank: frobeniusSq / s.estimate,
    iterations: s.alpha.length,
    tolerance: s.change,
    converged: s.calm >= SPECTRAL_CALM_STEPS || s.exhausted,
  };
}

/**
 * {@link spectralNorms} of one matrix.
 *
 * @param frobeniusSq - ||M||_F^2 over finite elements (from the statistics pass).
 * @returns null when M is all zeros (stable rank undefined).
 */
export async function spectralNorm(native: RawAddon, ref: RawTensorRef, rows: number, cols: number, frobeniusSq: number, options: RawWorkOptions = {}): Promise<SpectralNorm | null> {
  return (await spectralNorms(native, [{ ref, rows, cols, frobeniusSq }], options))[0];
}
