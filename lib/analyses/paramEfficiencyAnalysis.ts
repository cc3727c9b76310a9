/**
 * #6 `--param-efficiency-analysis`: efficiency_ratio, utilization, pruning_potential (SPEC section 3,
 * row 6).
 *
 * @module
 */
import type { SpectralNorm, TensorDiff } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';
import { median } from './modifiedZScores.js';
import { tensorRole } from '../structure/tensorRole.js';

/**
 * Share of N(0, sigma^2) with |w| < 0.1 sigma: erf(0.1 / sqrt 2) = 0.0797. A weight matrix whose share
 * of |w| < 0.1 RMS is near it has no more small weights than a Gaussian of its scale.
 */
export const GAUSSIAN_PRUNING_BASELINE = 0.0797;

/** Figures of one weight matrix on one side. */
export interface MatrixEfficiency {
  tensor: string;
  params: number;
  /** Share of |w| < pruning_threshold x RMS (the histogram's first bins). */
  small_share: number | null;
  units: number | null;
  /** Units with norm >= dead_unit_ratio x the median unit norm and > 0. */
  live_units: number | null;
  /** ||W||_F^2 / sigma_max^2, with the power iteration's record. */
  stable_rank: number | null;
  sigma_max: number | null;
  power_iterations: number | null;
  power_tolerance: number | null;
}

/** One side's totals. */
export interface SideEfficiency {
  /** Weight-matrix parameters judged (float tensors with a histogram / unit norms). */
  params: number;
  pruning_potential: number | null;
  utilization: number | null;
  /** Parameter-weighted mean stable rank / min(rows, cols), a share of the full rank in use. */
  stable_rank_share: number | null;
  matrices: MatrixEfficiency[];
  /** Integer-coded weight matrices, whose raw codes are not judged. */
  skipped: string[];
}

/** Result of #6. */
export interface ParamEfficiencyResult extends AnalysisResult {
  /** utilization_B / utilization_A. */
  efficiency_ratio: number | null;
  /** B: share of weight-matrix parameters in live units. */
  utilization: number | null;
  /** B: share of weight-matrix parameters with |w| < 0.1 x the RMS of their tensor. */
  pruning_potential: number | null;
  detail: { gaussian_baseline: number; pruning_threshold: number; live_unit_ratio: number; a: SideEfficiency; b: SideEfficiency };
}

function side(tensors: readonly TensorDiff[], which: 'a' | 'b', names: ReadonlySet<string>, ratio: number, threshold: number): SideEfficiency {
  const matrices: MatrixEfficiency[] = [];
  const skipped: string[] = [];
  let pruned = 0;
  let hParams = 0;
  let live = 0;
  let uParams = 0;
  let srWeighted = 0;
  let srParams = 0;
  const k = which === 'a' ? 0 : 1;
  for (const t of tensors) {
    const shape = t.shape[k];
    const dtype = t.dtype[k];
    if (!shape || !dtype || tensorRole(t.name, shape, names) !== 'weight_matrix') continue;
    if (DTYPES[dtype].kind !== 'float') {
      skipped.push(t.name);
      continue;
    }
    const count = shape.reduce((p, x) => p * x, 1);
    const h = t.histogram?.[which] ?? null;
    const u = t.unitNorms?.[which] ?? null;
    const s: SpectralNorm | null = t.spectral?.[which] ?? null;
    let small: number | null = null;
    if (h) {
      const bins = Math.round(threshold / h.bin_width);
      let c = 0;
      for (let i = 0; i < Math.min(bins, h.counts.length); i++) c += h.counts[i];
      const total = h.counts.reduce((x, y) => x + y, 0) + h.above;
      if (total > 0) {
        small = c / total;
        pruned += c;
        hParams += total;
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
    if (s) {
      srWeighted += (s.stable_rank / Math.min(s.rows, s.cols)) * count;
      srParams += count;
    }
    matrices.push({
      tensor: t.name,
      params: count,
      small_share: jsonNumber(small),
      units: u ? u.length : null,
      live_units: liveUnits,
      stable_rank: jsonNumber(s?.stable_rank),
      sigma_max: jsonNumber(s?.sigma_max),
      power_iterations: s?.iterations ?? null,
      power_tolerance: jsonNumber(s?.tolerance),
    });
  }
  return {
    params: Math.max(hParams, uParams),
    pruning_potential: hParams > 0 ? pruned / hParams : null,
    utilization: uParams > 0 ? live / uParams : null,
    stable_rank_share: srParams > 0 ? srWeighted / srParams : null,
    matrices,
    skipped,
  };
}

/**
 * #6 on the first -> last pair, over weight matrices (role `weight_matrix`: Linear, conv kernels viewed
 * [out, in*kh*kw], attention projections; not embeddings, norms, biases).
 *
 * - pruning_potential = share of B's weight-matrix parameters with |w| < `pruning_threshold` (0.1) x the
 *   RMS of their tensor, from the |w| / RMS histogram pass; shown next to the Gaussian baseline 0.0797.
 * - utilization = share of B's weight-matrix parameters in live units: units (rows in PyTorch layout,
 *   the last axis in TF layout) whose L2 norm is > 0 and >= `dead_unit_ratio` (0.1) x the median unit
 *   norm of the tensor.
 * - efficiency_ratio = utilization_B / utilization_A.
 * - detail: per matrix the small-weight share, live units, and stable rank ||W||_F^2 / sigma_max^2 by
 *   power iteration (`TensorDiff.spectral`), for A and B.
 */
export const paramEfficiencyAnalysis: Analysis<ParamEfficiencyResult> = {
  key: 'param_efficiency_analysis',
  needs: { unitNorms: true, histograms: true, spectral: true },
  run({ run, config }: AnalysisContext): ParamEfficiencyResult {
    const th = config.thresholds;
    const d = run.overall;
    const names = new Set(d.tensors.map((t) => t.name));
    const a = side(d.tensors, 'a', names, th.dead_unit_ratio, th.pruning_threshold);
    const b = side(d.tensors, 'b', names, th.dead_unit_ratio, th.pruning_threshold);
    const reasons: Record<string, string> = {};
    const noMatrix = (s: SideEfficiency, which: string) =>
      s.skipped.length > 0 && s.matrices.length === 0 ? `${which} has only integer-coded weight matrices (${s.skipped.length}): raw codes are not judged` : `${which} has no float weight matrix of at least 2x2`;
    if (b.utilization === null) reasons.utilization = noMatrix(b, 'B');
    if (b.pruning_potential === null) reasons.pruning_potential = noMatrix(b, 'B');
    let ratio: number | null = null;
    if (b.utilization === null) reasons.efficiency_ratio = reasons.utilization;
    else if (a.utilization === null) reasons.efficiency_ratio = noMatrix(a, 'A');
    else if (a.utilization === 0) reasons.efficiency_ratio = 'A has no live unit';
    else ratio = jsonNumber(b.utilization / a.utilization);
    return {
      efficiency_ratio: ratio,
      utilization: jsonNumber(b.utilization),
      pruning_potential: jsonNumber(b.pruning_potential),
      reasons,
      detail: { gaussian_baseline: GAUSSIAN_PRUNING_BASELINE, pruning_threshold: th.pruning_threshold, live_unit_ratio: th.dead_unit_ratio, a, b },
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
    const sr = r.detail.b.matrices.filter((m) => m.stable_rank !== null);
    if (sr.length > 0) line += `; stable rank: ${sr.slice(0, 5).map((m) => `${m.tensor}=${formatNumber(m.stable_rank)}`).join(', ')}${sr.length > 5 ? `, +${sr.length - 5} more` : ''}`;
    return [line];
  },
};
