/**
 * #6 `--param-efficiency-analysis`: efficiency_ratio, utilization, pruning_potential (SPEC section 3,
 * row 6).
 *
 * @module
 */
import type { AbsHistogram, InputInfo, SpectralNorm, TensorDiff, TensorStats } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';
import { entryClasses, type EntryClass } from './modelBytes.js';
import { median } from './modifiedZScores.js';
import { tensorRole } from '../structure/tensorRole.js';

/**
 * The error function, within 1e-14 (absolute) of the correctly rounded value for every x (measured
 * against Python's `math.erf` on a 0.01 grid over [0, 7): at most 6e-15, near x = 2.5).
 *
 * - |x| < 2.5: the Maclaurin series erf x = 2 / sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
 *   (Abramowitz and Stegun 7.1.5), summed until a term is below 1e-17 of the sum; its largest term is
 *   below e^(x^2) < 520 times the result, which bounds the rounding error.
 * - 2.5 <= |x| < 6: 1 - erfc x with erfc x = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) /
 *   (x + 2 / (x + ...))))) (A&S 7.1.14), evaluated by the modified Lentz method to 1e-16.
 * - |x| >= 6: +-1 (erfc 6 = 2.2e-17 is below half an ulp of 1).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax >= 6) r = 1;
  else if (ax < 2.5) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // continued fraction b0 + a1 / (b1 + a2 / (b2 + ...)), b_n = x, a_n = n / 2 (modified Lentz)
    const tiny = 1e-300;
    let f = ax;
    let c = ax;
    let d = 0;
    for (let n = 1; n < 1000; n++) {
      const a = n / 2;
      d = ax + a * d;
      d = d === 0 ? tiny : d;
      c = ax + a / c;
      c = c === 0 ? tiny : c;
      d = 1 / d;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -r : r;
}

/**
 * Share of N(0, sigma^2) with |w| < t sigma: P(|Z| < t) = erf(t / sqrt 2). The RMS of a zero-mean
 * Gaussian sample estimates sigma, so this is the share a Gaussian tensor has below t x its RMS.
 */
export function gaussianSmallShare(t: number): number {
  return erf(t / Math.SQRT2);
}

/** The baseline at the default `pruning_threshold` 0.1: erf(0.1 / sqrt 2) = 0.0796556745540580. */
export const GAUSSIAN_PRUNING_BASELINE = gaussianSmallShare(0.1);

/**
 * Elements of a |x| / RMS histogram below t RMS, out of `total` (finite elements): whole bins below t,
 * plus the share of the bin that contains t in proportion to where t falls in it (linear interpolation
 * of the cumulative count, i.e. elements spread evenly over the bin). Exact at multiples of the bin
 * width; in between it is off by at most that one bin's count. A threshold beyond the histogram's range
 * counts every binned element (elements at or above the range are never counted).
 */
export function countBelow(h: AbsHistogram, t: number): { below: number; total: number } {
  const total = h.counts.reduce((x, y) => x + y, 0) + h.above;
  let q = t / h.bin_width;
  if (Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, q)) q = Math.round(q);
  const k = Math.floor(q);
  let below = 0;
  for (let i = 0; i < Math.min(k, h.counts.length); i++) below += h.counts[i];
  if (k < h.counts.length) below += (q - k) * h.counts[k];
  return { below, total };
}

/** Figures of one weight matrix on one side. */
export interface MatrixEfficiency {
  tensor: string;
  params: number;
  /** Share of |w| < pruning_threshold x RMS (from the histogram, interpolated within its bins); 1 for an all-zero matrix. */
  small_share: number | null;
  units: number | null;
  /** Units with norm >= dead_unit_ratio x the median unit norm and > 0. */
  live_units: number | null;
  /** ||W||_F^2 / sigma_max^2, with the power iteration's record. */
  stable_rank: number | null;
  sigma_max: number | null;
  power_iterations: number | null;
  power_tolerance: number | null;
  /** Why the figures are what they are, for an all-zero or a non-finite matrix. */
  note?: string;
}

/** One side's totals. */
export interface SideEfficiency {
  /** Weight-matrix parameters judged (float tensors with a histogram / unit norms; tied aliases not counted). */
  params: number;
  /** Parameters below pruning_threshold x the RMS of their tensor (interpolated within histogram bins, so possibly fractional). */
  prunable_params: number;
  pruning_potential: number | null;
  utilization: number | null;
  /** Parameter-weighted mean stable rank / min(rows, cols), a share of the full rank in use. */
  stable_rank_share: number | null;
  matrices: MatrixEfficiency[];
  /** Integer-coded weight matrices, whose raw codes are not judged. */
  skipped: string[];
  /** Weight matrices with no finite value (null figures, not in the totals). */
  non_finite: string[];
  /** All-zero weight matrices (counted entirely prunable, no live unit). */
  all_zero: string[];
}

/** Result of #6. */
export interface ParamEfficiencyResult extends AnalysisResult {
  /** utilization_B / utilization_A. */
  efficiency_ratio: number | null;
  /** B: share of weight-matrix parameters in live units. */
  utilization: number | null;
  /** B: share of weight-matrix parameters with |w| < pruning_threshold x the RMS of their tensor. */
  pruning_potential: number | null;
  detail: {
    /** erf(pruning_threshold / sqrt 2): the share of a Gaussian below pruning_threshold x its RMS. */
    gaussian_baseline: number;
    pruning_threshold: number;
    live_unit_ratio: number;
    a: SideEfficiency;
    b: SideEfficiency;
  };
}

const NON_FINITE_NOTE = 'non-finite values: no finite element, no figure';
const ALL_ZERO_NOTE = 'all zeros: the whole matrix is prunable (no live unit; no stable rank, sigma_max is 0)';

function matrixState(s: TensorStats | null): 'finite' | 'non_finite' | 'zero' {
  if (!s || s.count === 0) return 'finite';
  if (s.finite === 0) return 'non_finite';
  if (s.zeros === s.finite) return s.finite === s.count ? 'zero' : 'non_finite';
  return 'finite';
}

function side(tensors: readonly TensorDiff[], which: 'a' | 'b', input: InputInfo | undefined, names: ReadonlySet<string>, ratio: number, threshold: number): SideEfficiency {
  const matrices: MatrixEfficiency[] = [];
  const out: SideEfficiency = { params: 0, prunable_params: 0, pruning_potential: null, utilization: null, stable_rank_share: null, matrices, skipped: [], non_finite: [], all_zero: [] };
  const k = which === 'a' ? 0 : 1;
  const classes: EntryClass[] | null = input ? entryClasses(input.entries) : null;
  let pruned = 0;
  let hParams = 0;
  let live = 0;
  let uParams = 0;
  let srWeighted = 0;
  let srParams = 0;
  for (const t of tensors) {
    const shape = t.shape[k];
    const dtype = t.dtype[k];
    if (!shape || !dtype) continue;
    // tied aliases (the .pt `lm_head.weight` sharing `tok_emb.weight`) and every non-parameter entry
    // (optimizer state, quantization parameters, buffers, constants) are not the model's weight matrices
    if ((t.aliasOf?.[k] ?? null) !== null) continue;
    const index = t.index[k];
    const cls = classes && index !== null ? classes[index] : undefined;
    if (cls !== undefined && cls !== 'parameter') continue;
    if (tensorRole(t.name, shape, names) !== 'weight_matrix') continue;
    if (DTYPES[dtype].kind !== 'float') {
      out.skipped.push(t.name);
      continue;
    }
    const count = shape.reduce((p, x) => p * x, 1);
    const u = t.unitNorms?.[which] ?? null;
    const state = matrixState(t.stats[which]);
    if (state === 'non_finite') {
      out.non_finite.push(t.name);
      matrices.push({ tensor: t.name, params: count, small_share: null, units: u ? u.length : null, live_units: null, stable_rank: null, sigma_max: null, power_iterations: null, power_tolerance: null, note: NON_FINITE_NOTE });
      continue;
    }
    if (state === 'zero') {
      out.all_zero.push(t.name);
      pruned += count;
      hParams += count;
      uParams += count;
      matrices.push({ tensor: t.name, params: count, small_share: 1, units: u ? u.length : null, live_units: u ? 0 : null, stable_rank: null, sigma_max: 0, power_iterations: null, power_tolerance: null, note: ALL_ZERO_NOTE });
      continue;
    }
    const h = t.histogram?.[which] ?? null;
    const s: SpectralNorm | null = t.spectral?.[which] ?? null;
    let small: number | null = null;
    if (h) {
      const c = countBelow(h, threshold);
      if (c.total > 0) {
        small = c.below / c.total;
        pruned += c.below;
        hParams += c.total;
      }
    }
    let liveUnits: number | null = null;
    if (u && u.length > 0) {
      const finite = Array.from(u).filter(Number.isFinite);
      const med = finite.length ? median(finite) : 0;
      liveUnits = Array.from(u).filter((x) => Number.isFinite(x) && x > 0 && x >= ratio * med).length;
      live += (liveUnits / u.length) * count;
      uParams += count;
    }
    const sr = s && Number.isFinite(s.stable_rank) ? s.stable_rank : null;
    if (s && sr !== null) {
      srWeighted += (sr / Math.min(s.rows, s.cols)) * count;
      srParams += count;
    }
    matrices.push({
      tensor: t.name,
      params: count,
      small_share: jsonNumber(small),
      units: u ? u.length : null,
      live_units: liveUnits,
      stable_rank: jsonNumber(sr),
      sigma_max: jsonNumber(s?.sigma_max),
      power_iterations: s?.iterations ?? null,
      power_tolerance: jsonNumber(s?.tolerance),
    });
  }
  out.params = Math.max(hParams, uParams);
  out.prunable_params = pruned;
  out.pruning_potential = hParams > 0 ? pruned / hParams : null;
  out.utilization = uParams > 0 ? live / uParams : null;
  out.stable_rank_share = srParams > 0 ? srWeighted / srParams : null;
  return out;
}

/** Why a side has no figure. */
function noFigure(s: SideEfficiency, which: string): string {
  const judged = s.matrices.length - s.non_finite.length;
  if (judged === 0 && s.non_finite.length > 0) return `${which}'s weight matrices have non-finite values only (${s.non_finite.length}: ${s.non_finite.slice(0, 3).join(', ')}${s.non_finite.length > 3 ? ', ...' : ''})`;
  if (s.matrices.length === 0 && s.skipped.length > 0) return `${which} has only integer-coded weight matrices (${s.skipped.length}): raw codes are not judged`;
  return `${which} has no float weight matrix of at least 2x2`;
}

/**
 * #6 on the first -> last pair, over weight matrices (role `weight_matrix`: Linear, conv kernels viewed
 * [out, in*kh*kw], attention projections; not embeddings, norms, biases), each counted once: tied
 * aliases, optimizer state, quantization parameters, buffers and constants are not weight matrices
 * (`entryClasses`, `modelBytes.ts`).
 *
 * - pruning_potential = share of B's weight-matrix parameters with |w| < `pruning_threshold` (0.1) x the
 *   RMS of their tensor, from the |w| / RMS histogram pass (interpolated within its 0.1-RMS bins),
 *   shown next to the Gaussian baseline erf(pruning_threshold / sqrt 2) (0.07966 at 0.1). An all-zero
 *   matrix is entirely prunable.
 * - utilization = share of B's weight-matrix parameters in live units: units (rows in PyTorch layout,
 *   the last axis in TF layout) whose L2 norm is > 0 and >= `dead_unit_ratio` (0.1) x the median unit
 *   norm of the tensor. An all-zero matrix has no live unit.
 * - efficiency_ratio = utilization_B / utilization_A.
 * - detail: per matrix the small-weight share, live units, and stable rank ||W||_F^2 / sigma_max^2 by
 *   power iteration (`TensorDiff.spectral`), for A and B. A matrix with no finite value has null
 *   figures and the note "non-finite values", and is left out of the totals.
 */
export const paramEfficiencyAnalysis: Analysis<ParamEfficiencyResult> = {
  key: 'param_efficiency_analysis',
  needs: { unitNorms: true, histograms: true, spectral: true },
  run({ run, config }: AnalysisContext): ParamEfficiencyResult {
    const th = config.thresholds;
    const d = run.overall;
    const names = new Set(d.tensors.map((t) => t.name));
    const a = side(d.tensors, 'a', run.inputs[d.from], names, th.dead_unit_ratio, th.pruning_threshold);
    const b = side(d.tensors, 'b', run.inputs[d.to], names, th.dead_unit_ratio, th.pruning_threshold);
    const reasons: Record<string, string> = {};
    if (b.utilization === null) reasons.utilization = noFigure(b, 'B');
    if (b.pruning_potential === null) reasons.pruning_potential = noFigure(b, 'B');
    let ratio: number | null = null;
    if (b.utilization === null) reasons.efficiency_ratio = reasons.utilization;
    else if (a.utilization === null) reasons.efficiency_ratio = noFigure(a, 'A');
    else if (a.utilization === 0) reasons.efficiency_ratio = a.all_zero.length > 0 && a.all_zero.length === a.matrices.length - a.non_finite.length ? 'A has no live unit (its weight matrices are all zeros)' : 'A has no live unit';
    else ratio = jsonNumber(b.utilization / a.utilization);
    return {
      efficiency_ratio: ratio,
      utilization: jsonNumber(b.utilization),
      pruning_potential: jsonNumber(b.pruning_potential),
      reasons,
      detail: { gaussian_baseline: gaussianSmallShare(th.pruning_threshold), pruning_threshold: th.pruning_threshold, live_unit_ratio: th.dead_unit_ratio, a, b },
    };
  },
  format(r: ParamEfficiencyResult): string[] {
    const pp = r.pruning_potential === null ? null : `${formatNumber(r.pruning_potential)} (gaussian baseline ${formatNumber(r.detail.gaussian_baseline)})`;
    let line = formatFields(
      'param_efficiency_analysis',
      [
        ['efficiency_ratio', r.efficiency_ratio],
        ['utilization', r.utilization],
        ['pruning_potential', pp],
      ],
      r.reasons,
    );
    const b = r.detail.b;
    if (b.all_zero.length > 0) line += `; all zeros (entirely prunable): ${b.all_zero.slice(0, 5).join(', ')}${b.all_zero.length > 5 ? `, +${b.all_zero.length - 5} more` : ''}`;
    if (b.non_finite.length > 0 && b.non_finite.length < b.matrices.length) line += `; non-finite values, not judged: ${b.non_finite.slice(0, 5).join(', ')}${b.non_finite.length > 5 ? `, +${b.non_finite.length - 5} more` : ''}`;
    const sr = b.matrices.filter((m) => m.stable_rank !== null);
    if (sr.length > 0) line += `; stable rank: ${sr.slice(0, 5).map((m) => `${m.tensor}=${formatNumber(m.stable_rank)}`).join(', ')}${sr.length > 5 ? `, +${sr.length - 5} more` : ''}`;
    return [line];
  },
};
