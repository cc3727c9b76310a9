/**
 * The pooled update figures over S: R, norm growth and the variance ratio.
 *
 * @module
 */
import type { PooledTensor } from './tensorSets.js';

/** Pooled figures of one pair over S. Sums are float64. */
export interface GlobalUpdate {
  /** Tensors and elements in S. */
  tensors: number;
  params: number;
  /** sum_t ||D_t||^2, sum_t ||A_t||^2, sum_t ||B_t||^2. */
  sumSqD: number;
  sumSqA: number;
  sumSqB: number;
  /** R = sqrt(sum ||D_t||^2) / sqrt(sum ||A_t||^2); null when S is empty or A is all zeros with D != 0. */
  R: number | null;
  /** Pooled norm growth sqrt(sum ||B_t||^2) / sqrt(sum ||A_t||^2); null when undefined. */
  growth: number | null;
  /** Var(D) and Var(A) over all elements of S (population variances). */
  varD: number;
  varA: number;
  /** Var(D) / Var(A); null when Var(A) is 0 or S is empty. */
  varRatio: number | null;
}

/**
 * Pools S into R, norm growth and Var(D)/Var(A) (SPEC section 3, Notation and #2).
 *
 * R = sqrt(sum_t ||D_t||^2) / sqrt(sum_t ||A_t||^2): the relative update of the whole model, each
 * element weighted equally (a parameter-count-weighted r_t). Accumulated in float64 from the per-tensor
 * float64 sums of the native pass (a diverged run has sums of squares near 1e46, beyond float32).
 *
 * Var(D) = sum(D^2)/N_D - (sum D / N_D)^2 over the N_D both-finite positions; Var(A) the same over A's
 * N_A finite elements (mean_t * finite_t and ||A_t||^2 per tensor). Both are population variances.
 */
export function globalUpdate(pooled: readonly PooledTensor[]): GlobalUpdate {
  let sumSqD = 0;
  let sumSqA = 0;
  let sumSqB = 0;
  let params = 0;
  let nD = 0;
  let sumD = 0;
  let nA = 0;
  let sumA = 0;
  for (const p of pooled) {
    const t = p.tensor;
    const d = t.diff!;
    const a = t.stats.a!;
    sumSqD += p.normD * p.normD;
    sumSqA += p.normA * p.normA;
    sumSqB += p.normB * p.normB;
    params += p.count;
    nD += d.both_finite;
    if (Number.isFinite(d.diff_sum)) sumD += d.diff_sum;
    nA += a.finite;
    if (a.finite > 0 && Number.isFinite(a.mean)) sumA += a.mean * a.finite;
  }
  const R = pooled.length === 0 ? null : sumSqA > 0 ? Math.sqrt(sumSqD) / Math.sqrt(sumSqA) : sumSqD === 0 ? 0 : null;
  const growth = pooled.length === 0 ? null : sumSqA > 0 ? Math.sqrt(sumSqB) / Math.sqrt(sumSqA) : sumSqB === 0 ? 1 : null;
  const varD = nD > 0 ? Math.max(0, sumSqD / nD - (sumD / nD) ** 2) : 0;
  const varA = nA > 0 ? Math.max(0, sumSqA / nA - (sumA / nA) ** 2) : 0;
  const varRatio = pooled.length > 0 && varA > 0 ? varD / varA : null;
  return { tensors: pooled.length, params, sumSqD, sumSqA, sumSqB, R, growth, varD, varA, varRatio };
}
