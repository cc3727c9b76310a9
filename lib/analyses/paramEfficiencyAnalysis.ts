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

/** Elements of a |x| / RMS histogram below t RMS: the estimate, and what the histogram can vouch for. */
export interface CountBelow {
  /** The estimate: whole bins below t plus the share of the bin holding t in proportion to where t falls in it. */
  below: number;
  /** Finite elements (the histogram's bins and `above`); non-finite elements are in neither count. */
  total: number;
  /** Elements certainly below t: the whole bins below t (and the zeros). */
  lower: number;
  /** Elements possibly below t: `lower` plus the bin holding t (plus `above` when t is beyond the range). */
  upper: number;
}

/**
 * Elements of a |x| / RMS histogram below t RMS, out of `total` (finite elements): whole bins below t,
 * plus the share of the bin that contains t in proportion to where t falls in it (linear interpolation
 * of the cumulative count, i.e. elements spread evenly over the bin). Exact at multiples of the bin
 * width (`lower` = `below` = `upper`); in between the histogram only vouches for `lower` <= exact <=
 * `upper`, the interpolation being a guess at where the elements of that one bin lie. `zeros` (exact
 * zeros of the tensor, from its statistics) sit in bin 0 and are below any t > 0: they count whole, and
 * only the rest of bin 0 is spread. A threshold beyond the histogram's range counts every binned element
 * (elements at or above the range are never counted as below; `upper` includes them).
 */
export function countBelow(h: AbsHistogram, t: number, zeros = 0): CountBelow {
  const total = h.counts.reduce((x, y) => x + y, 0) + h.above;
  if (!(t > 0)) return { below: 0, total, lower: 0, upper: 0 };
  let q = t / h.bin_width;
  if (Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, q)) q = Math.round(q);
  const k = Math.floor(q);
  const n = h.counts.length;
  let lower = 0;
  for (let i = 0; i < Math.min(k, n); i++) lower += h.counts[i];
  let upper = lower;
  let below = lower;
  if (k < n) {
    // the zeros of bin 0 are certainly below t; the rest of the bin is spread evenly
    const sure = k === 0 ? Math.min(zeros, h.counts[0]) : 0;
    lower += sure;
    below += sure + (q - k) * (h.counts[k] - sure);
    if (q > k) upper += h.counts[k];
  } else if (q > n) upper += h.above;
  return { below, total, lower, upper };
}

/** Figures of one weight matrix on one side. */
export interface MatrixEfficiency {
  tensor: string;
  params: number;
  /** NaN / Inf elements (0 for a finite matrix). */
  non_finite_values: number;
  /**
   * Share of its finite elements with |w| < pruning_threshold x RMS (from the histogram, interpolated
   * within its bins); 1 for an all-zero matrix.
   */
  small_share: number | null;
  units: number | null;
  /** Units with norm >= dead_unit_ratio x the median unit norm and > 0. */
  live_units: number | null;
  /**
   * Units neither live nor dead, left out of the utilization: a unit with a non-finite norm, and in a
   * matrix with non-finite values, units that look dead on their finite elements, up to one per
   * non-finite value (which units hold those values is not known: the norms skip them).
   */
  units_apart: number | null;
  /** ||W||_F^2 / sigma_max^2, with the power iteration's record (non-finite elements read as 0). */
  stable_rank: number | null;
  sigma_max: number | null;
  power_iterations: number | null;
  power_tolerance: number | null;
  /** Whether the power iteration met its stopping rule; false: stable_rank is the estimate after the step cap (the line marks it `(not converged)`). */
  power_converged: boolean | null;
  /** Why the figures are what they are, for an all-zero matrix or one with non-finite values. */
  note?: string;
}

/** A weight matrix with NaN / Inf elements. */
export interface NonFiniteMatrix {
  tensor: string;
  /** NaN / Inf elements. */
  values: number;
  params: number;
  /** False when it has no finite nonzero element: every figure null, left out of the totals. */
  judged: boolean;
}

/** One side's totals. */
export interface SideEfficiency {
  /** Elements of the weight matrices judged (float tensors with some finite nonzero value; tied aliases not counted). */
  params: number;
  /** Finite elements below pruning_threshold x the RMS of their tensor (interpolated within histogram bins, so possibly fractional). */
  prunable_params: number;
  /** What pruning_potential is a share of: the finite elements of the judged matrices (non-finite ones are neither prunable nor counted). */
  pruning_over: number;
  /** prunable_params / pruning_over. */
  pruning_potential: number | null;
  /**
   * [certain, possible] share below the threshold: what the histogram vouches for when the threshold
   * falls inside a bin (equal ends when it is a multiple of the bin width).
   */
  pruning_bounds: [number, number] | null;
  /** What utilization is a share of: the parameters of the judged units (units apart left out). */
  utilization_over: number;
  /** Parameters in live units / utilization_over. */
  utilization: number | null;
  /** Parameter-weighted mean stable rank / min(rows, cols), a share of the full rank in use. */
  stable_rank_share: number | null;
  matrices: MatrixEfficiency[];
  /** Integer-coded weight matrices, whose raw codes are not judged. */
  skipped: string[];
  /** Weight matrices with NaN / Inf elements, with their counts; those not judged have null figures and are out of the totals. */
  non_finite: NonFiniteMatrix[];
  /** All-zero weight matrices (counted entirely prunable, no live unit). */
  all_zero: string[];
}

/** Result of #6. */
export interface ParamEfficiencyResult extends AnalysisResult {
  /** utilization_B / utilization_A. */
  efficiency_ratio: number | null;
  /** B: share of weight-matrix parameters in live units (over the units judged). */
  utilization: number | null;
  /** B: share of the finite weight-matrix elements with |w| < pruning_threshold x the RMS of their tensor. */
  pruning_potential: number | null;
  detail: {
    /** erf(pruning_threshold / sqrt 2): the share of a Gaussian below pruning_threshold x its RMS. */
    gaussian_baseline: number;
    pruning_threshold: number;
    /** Bin width of the |w| / RMS histograms in RMS (0.1): shares are exact at its multiples, interpolated in between. */
    histogram_bin_width: number | null;
    /**
     * Whether B's share is known to be on one side of the baseline: false when it is interpolated within a
     * bin and the bounds the histogram vouches for contain the baseline; null without a share.
     */
    baseline_comparable: boolean | null;
    live_unit_ratio: number;
    a: SideEfficiency;
    b: SideEfficiency;
  };
}

const NON_FINITE_NOTE = 'non-finite values: no finite element, no figure';
const ALL_ZERO_NOTE = 'all zeros: the whole matrix is prunable (no live unit; no stable rank, sigma_max is 0)';
/** A matrix not all zero whose sum of squares reads 0: every |w| is below about 1e-19. */
const UNDERFLOW_NOTE =
  'every |w| is below about 1e-19: the kernels square in float32, where such values underflow, so the RMS reads 0 and the |w| / RMS histogram and the stable rank are undefined';

function matrixState(s: TensorStats | null): 'finite' | 'non_finite' | 'zero' {
  if (!s || s.count === 0) return 'finite';
  if (s.finite === 0) return 'non_finite';
  if (s.zeros === s.finite) return s.finite === s.count ? 'zero' : 'non_finite';
  return 'finite';
}

/**
 * Live, apart (neither live nor dead) and dead units of one matrix from its unit norms, which the
 * engine takes over the finite elements. A unit with a non-finite norm is apart. With `nonFinite`
 * NaN / Inf elements in the matrix, at most that many units hold one, and such a unit's norm is
 * understated (0 when the whole unit is non-finite): so up to that many of the units that look dead
 * are set apart, not counted dead; the units that look live stay live (their finite elements are not
 * small).
 */
export function judgeUnits(norms: Float64Array, ratio: number, nonFinite: number): { live: number; apart: number; dead: number } {
  const finite: number[] = [];
  for (const x of norms) if (Number.isFinite(x)) finite.push(x);
  const med = finite.length ? median(finite) : 0;
  const nonFiniteNorms = norms.length - finite.length;
  let live = 0;
  let deadLooking = 0;
  for (const x of finite) {
    if (x > 0 && x >= ratio * med) live++;
    else deadLooking++;
  }
  // each unit with a non-finite norm holds at least one of the non-finite values (or overflowed)
  const mayHold = Math.max(0, Math.min(nonFinite - nonFiniteNorms, finite.length));
  const setApart = Math.min(deadLooking, mayHold);
  return { live, apart: nonFiniteNorms + setApart, dead: deadLooking - setApart };
}

function partialNote(nonFinite: number, count: number, units: number | null, apart: number): string {
  const holding = units === null ? '' : ` (in at most ${Math.min(nonFinite, units)} of ${units} units)`;
  const set = apart > 0 ? `; ${apart} unit${apart === 1 ? '' : 's'} looking dead set apart (may be the non-finite ones: neither live nor dead, out of the utilization)` : '';
  return `${nonFinite} non-finite values of ${count}${holding}: small-weight share over the ${count - nonFinite} finite elements; unit norms over the finite elements${set}; stable rank with non-finite values read as 0`;
}

function side(tensors: readonly TensorDiff[], which: 'a' | 'b', input: InputInfo | undefined, names: ReadonlySet<string>, ratio: number, threshold: number): SideEfficiency {
  const matrices: MatrixEfficiency[] = [];
  const out: SideEfficiency = {
    params: 0,
    prunable_params: 0,
    pruning_over: 0,
    pruning_potential: null,
    pruning_bounds: null,
    utilization_over: 0,
    utilization: null,
    stable_rank_share: null,
    matrices,
    skipped: [],
    non_finite: [],
    all_zero: [],
  };
  const k = which === 'a' ? 0 : 1;
  const classes: EntryClass[] | null = input ? entryClasses(input.entries) : null;
  let params = 0;
  let pruned = 0;
  let lower = 0;
  let upper = 0;
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
    const stats = t.stats[which];
    const nonFinite = stats ? stats.count - stats.finite : 0;
    const state = matrixState(stats);
    if (nonFinite > 0) out.non_finite.push({ tensor: t.name, values: nonFinite, params: count, judged: state !== 'non_finite' });
    if (state === 'non_finite') {
      matrices.push({ tensor: t.name, params: count, non_finite_values: nonFinite, small_share: null, units: u ? u.length : null, live_units: null, units_apart: null, stable_rank: null, sigma_max: null, power_iterations: null, power_tolerance: null, power_converged: null, note: NON_FINITE_NOTE });
      continue;
    }
    params += count;
    if (state === 'zero') {
      out.all_zero.push(t.name);
      pruned += count;
      lower += count;
      upper += count;
      hParams += count;
      uParams += count;
      matrices.push({ tensor: t.name, params: count, non_finite_values: 0, small_share: 1, units: u ? u.length : null, live_units: u ? 0 : null, units_apart: u ? 0 : null, stable_rank: null, sigma_max: 0, power_iterations: null, power_tolerance: null, power_converged: null, note: ALL_ZERO_NOTE });
      continue;
    }
    const h = t.histogram?.[which] ?? null;
    const s: SpectralNorm | null = t.spectral?.[which] ?? null;
    let small: number | null = null;
    if (h) {
      const c = countBelow(h, threshold, stats?.zeros ?? 0);
      if (c.total > 0) {
        small = c.below / c.total;
        pruned += c.below;
        lower += c.lower;
        upper += c.upper;
        hParams += c.total;
      }
    }
    let liveUnits: number | null = null;
    let apart: number | null = null;
    if (u && u.length > 0) {
      const j = judgeUnits(u, ratio, nonFinite);
      liveUnits = j.live;
      apart = j.apart;
      live += (j.live / u.length) * count;
      uParams += ((u.length - j.apart) / u.length) * count;
    }
    const sr = s && Number.isFinite(s.stable_rank) ? s.stable_rank : null;
    if (s && sr !== null) {
      srWeighted += (sr / Math.min(s.rows, s.cols)) * count;
      srParams += count;
    }
    matrices.push({
      tensor: t.name,
      params: count,
      non_finite_values: nonFinite,
      small_share: jsonNumber(small),
      units: u ? u.length : null,
      live_units: liveUnits,
      units_apart: apart,
      stable_rank: jsonNumber(sr),
      sigma_max: jsonNumber(s?.sigma_max),
      power_iterations: s?.iterations ?? null,
      power_tolerance: jsonNumber(s?.tolerance),
      power_converged: s ? s.converged : null,
      ...(nonFinite > 0 ? { note: partialNote(nonFinite, count, u ? u.length : null, apart ?? 0) } : stats && stats.l2 === 0 && stats.l1 > 0 ? { note: UNDERFLOW_NOTE } : {}),
    });
  }
  out.params = params;
  out.prunable_params = pruned;
  out.pruning_over = hParams;
  out.pruning_potential = hParams > 0 ? pruned / hParams : null;
  out.pruning_bounds = hParams > 0 ? [lower / hParams, upper / hParams] : null;
  out.utilization_over = uParams;
  out.utilization = uParams > 0 ? live / uParams : null;
  out.stable_rank_share = srParams > 0 ? srWeighted / srParams : null;
  return out;
}

const unjudged = (s: SideEfficiency) => s.non_finite.filter((m) => !m.judged);

/** Why a side has no figure. */
function noFigure(s: SideEfficiency, which: string): string {
  const bad = unjudged(s);
  const judged = s.matrices.length - bad.length;
  if (judged === 0 && bad.length > 0) return `${which}'s weight matrices have non-finite values only (${bad.length}: ${bad.slice(0, 3).map((m) => m.tensor).join(', ')}${bad.length > 3 ? ', ...' : ''})`;
  if (judged > 0 && s.matrices.some((m) => (m.units_apart ?? 0) > 0)) return `${which}'s units are all set apart (non-finite values: neither live nor dead)`;
  if (s.matrices.length === 0 && s.skipped.length > 0) return `${which} has only integer-coded weight matrices (${s.skipped.length}): raw codes are not judged`;
  return `${which} has no float weight matrix of at least 2x2`;
}

const list = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, +${xs.length - 5} more` : ''}`;

/** The CLI clauses on a side's non-finite values and units set apart ('' when none). */
function nonFiniteClauses(s: SideEfficiency, suffix: string): string {
  let line = '';
  const judged = s.matrices.length - unjudged(s).length;
  // with nothing judged, the fields' reason already names the matrices
  if (s.non_finite.length > 0 && judged > 0) line += `; non-finite values${suffix} (shares over the finite elements): ${list(s.non_finite.map((m) => `${m.tensor} ${m.values}/${m.params}${m.judged ? '' : ' not judged'}`))}`;
  const apart = s.matrices.filter((m) => (m.units_apart ?? 0) > 0);
  if (apart.length > 0) line += `; units neither live nor dead${suffix} (non-finite): ${list(apart.map((m) => `${m.tensor} ${m.units_apart}/${m.units}`))}`;
  return line;
}

/** What the histogram says about the share's precision at this threshold ('' when exact). */
function resolutionClause(r: ParamEfficiencyResult): string {
  const bounds = r.detail.b.pruning_bounds;
  const w = r.detail.histogram_bin_width;
  if (!bounds || w === null || bounds[0] === bounds[1]) return '';
  const t = r.detail.pruning_threshold;
  const range = `exact in [${formatNumber(bounds[0])}, ${formatNumber(bounds[1])}]`;
  const why = t < w ? `t=${formatNumber(t)} is below the histogram's resolution of ${formatNumber(w)} RMS: share approximate` : `t=${formatNumber(t)} falls inside a ${formatNumber(w)}-RMS histogram bin: share interpolated`;
  return `; ${why}, ${range}${r.detail.baseline_comparable === false ? ', above or below the baseline not decided' : ''}`;
}

/**
 * #6 on the first -> last pair, over weight matrices (role `weight_matrix`: Linear, conv kernels viewed
 * [out, in*kh*kw], attention projections; not embeddings, norms, biases), each counted once: tied
 * aliases, optimizer state, quantization parameters, buffers and constants are not weight matrices
 * (`entryClasses`, `modelBytes.ts`).
 *
 * - pruning_potential = share of B's finite weight-matrix elements with |w| < `pruning_threshold` (0.1)
 *   x the RMS of their tensor, from the |w| / RMS histogram pass (interpolated within its 0.1-RMS bins,
 *   with the bounds the histogram vouches for), shown next to the Gaussian baseline
 *   erf(pruning_threshold / sqrt 2) (0.07966 at 0.1). An all-zero matrix is entirely prunable.
 * - utilization = share of B's weight-matrix parameters in live units: units (rows in PyTorch layout,
 *   the last axis in TF layout) whose L2 norm is > 0 and >= `dead_unit_ratio` (0.1) x the median unit
 *   norm of the tensor, over the units judged ({@link judgeUnits}). An all-zero matrix has no live unit.
 * - efficiency_ratio = utilization_B / utilization_A.
 * - detail: per matrix the small-weight share, live units, and stable rank ||W||_F^2 / sigma_max^2 by
 *   power iteration (`TensorDiff.spectral`), for A and B. A matrix with no finite value has null
 *   figures and the note "non-finite values", and is left out of the totals; one with some is judged on
 *   its finite elements and listed in `non_finite` with its count.
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
    else if (a.utilization === 0) reasons.efficiency_ratio = a.all_zero.length > 0 && a.all_zero.length === a.matrices.length - unjudged(a).length ? 'A has no live unit (its weight matrices are all zeros)' : 'A has no live unit';
    else ratio = jsonNumber(b.utilization / a.utilization);
    const h = d.tensors.map((t) => t.histogram?.b ?? t.histogram?.a ?? null).find((x) => x !== null) ?? null;
    const baseline = gaussianSmallShare(th.pruning_threshold);
    const bb = b.pruning_bounds;
    return {
      efficiency_ratio: ratio,
      utilization: jsonNumber(b.utilization),
      pruning_potential: jsonNumber(b.pruning_potential),
      reasons,
      detail: {
        gaussian_baseline: baseline,
        pruning_threshold: th.pruning_threshold,
        histogram_bin_width: h ? h.bin_width : null,
        baseline_comparable: bb === null ? null : bb[0] === bb[1] || baseline < bb[0] || baseline > bb[1],
        live_unit_ratio: th.dead_unit_ratio,
        a,
        b,
      },
    };
  },
  format(r: ParamEfficiencyResult): string[] {
    const pp = r.pruning_potential === null ? null : `${formatNumber(r.pruning_potential)} (gaussian baseline ${formatNumber(r.detail.gaussian_baseline)}${resolutionClause(r)})`;
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
    if (b.all_zero.length > 0) line += `; all zeros (entirely prunable): ${list(b.all_zero)}`;
    line += nonFiniteClauses(b, '');
    line += nonFiniteClauses(r.detail.a, ' in A');
    const sr = b.matrices.filter((m) => m.stable_rank !== null);
    if (sr.length > 0) line += `; stable rank: ${sr.slice(0, 5).map((m) => `${m.tensor}=${formatNumber(m.stable_rank)}${m.power_converged === false ? ' (not converged)' : ''}`).join(', ')}${sr.length > 5 ? `, +${sr.length - 5} more` : ''}`;
    return [line];
  },
};
