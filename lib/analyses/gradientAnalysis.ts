/**
 * #4 `--gradient-analysis`: flow_health, norm, ratio (SPEC section 3, row 4).
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { DiffRun, InputInfo, ModelDiff, TensorStats } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { ModelStructure } from '../structure/ModelStructure.js';
import { recognizeStructure } from '../structure/recognizeStructure.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { checkpointIntervals } from './intervals.js';
import { jsonNumber } from './jsonNumber.js';
import { median } from './modifiedZScores.js';
import { pairKind } from './pairKind.js';
import { integerCodedReason } from './precisionChange.js';
import { NON_PARAMETER_ROLES, tensorRole } from '../structure/tensorRole.js';
import { tensorSets } from './tensorSets.js';
import { newNonFiniteOf } from './trainingHealth.js';

/**
 * `healthy`, `vanishing`, `exploding`, `dead` (from Adam state); from the update alone only `exploding`
 * and `dead` are claimed, and otherwise the answer is `no_exploding_or_dead`.
 */
export type FlowHealth = 'healthy' | 'vanishing' | 'exploding' | 'dead' | 'no_exploding_or_dead';

/** One weight matrix in depth order. */
export interface FlowLayer {
  tensor: string;
  depth: number;
  /** Update path: r_t = ||D_t|| / ||A_t||. Adam path: RMS of the bias-corrected first moment. */
  value: number | null;
  /** Update path: ||D_t||; Adam path: ||m_hat_t||. */
  norm: number;
  non_finite: number;
}

/** Result of #4. */
export interface GradientResult extends AnalysisResult {
  flow_health: FlowHealth | null;
  /** ||B - A|| over S (update), or ||m_hat|| over every parameter with Adam state. */
  norm: number | null;
  /** Geometric mean of the per-layer figure over the first third of the weight matrices (input side) / the last third. */
  ratio: number | null;
  /** `adam_exp_avg` (the optimizer's gradient moving average) or `update` (B - A standing in for the integrated gradient). */
  source: 'adam_exp_avg' | 'update' | null;
  detail: {
    /** Which input the Adam state came from, its step and the bias correction. */
    adam: { input: number; path: string; step: number | null; beta1: number | null; bias_correction: number | null; note: string } | null;
    /** Why the optimizer state of the inputs was not used (each input that has some, or that none has any); null when it was used. */
    adam_note: string | null;
    /** A pair read as training in which dtypes changed too (trained and cast): the sentence the line adds. */
    pair_kind_note: string | null;
    depth_order: { source: string; input: number } | null;
    layers: FlowLayer[];
    first_third: string[];
    last_third: string[];
    /** The layers behind a flow_health other than healthy / no_exploding_or_dead (for vanishing and a too-high ratio: the first third). */
    flagged: string[];
    healthy_band: [number, number];
    /** The update-based figures of every consecutive pair (the fields use the last one without Adam state). */
    intervals: { from: number; to: number; norm: number | null; ratio: number | null; flow_health: FlowHealth | null; reason: string | null; length: number; norm_per_unit: number | null }[];
    /** The unit of the interval lengths (`step` / `epoch` metadata), null when intervals are assumed equal. */
    interval_unit: 'step' | 'epoch' | null;
  };
}

/** The reason given for an input without optimizer state (SPEC section 3). */
const NO_OPTIMIZER_STATE = 'no optimizer state in checkpoint';

/** Layers named on the CLI line behind a flow_health (the detail lists them all). */
const TOP_NAMES = 5;

const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

/** First and last third of a list (at least one each). */
function thirds<T>(xs: readonly T[]): [T[], T[]] {
  const k = Math.max(1, Math.floor(xs.length / 3));
  return [xs.slice(0, k), xs.slice(xs.length - k)];
}

/** The depth order of the weight matrices: of A, else of B. */
function orderOf(run: DiffRun, d: ModelDiff): { structure: ModelStructure; input: number } | null {
  for (const i of [d.from, d.to]) {
    const s = recognizeStructure(run.inputs[i]);
    if (s.depth_order) return { structure: s, input: i };
  }
  return null;
}

function ratioOf(layers: FlowLayer[]): { ratio: number | null; first: string[]; last: string[]; why: string | null } {
  const usable = layers.filter((l) => l.value !== null);
  if (usable.length < 2) return { ratio: null, first: [], last: [], why: 'needs 2 or more weight matrices in depth order' };
  const [first, last] = thirds(usable);
  const f = first.map((l) => l.value!);
  const b = last.map((l) => l.value!);
  if (b.some((x) => x === 0)) return { ratio: null, first: first.map((l) => l.tensor), last: last.map((l) => l.tensor), why: `a layer of the last third has a zero figure (${last.find((l) => l.value === 0)!.tensor}): the ratio is unbounded` };
  if (f.some((x) => x === 0)) return { ratio: 0, first: first.map((l) => l.tensor), last: last.map((l) => l.tensor), why: null };
  const ratio = jsonNumber(geomean(f) / geomean(b));
  return { ratio, first: first.map((l) => l.tensor), last: last.map((l) => l.tensor), why: ratio === null ? 'the per-layer figures are not finite' : null };
}

/** The update-based reading of one pair. */
function updateFlow(run: DiffRun, d: ModelDiff, th: Thresholds): { norm: number | null; ratio: number | null; health: FlowHealth | null; layers: FlowLayer[]; first: string[]; last: string[]; order: { source: string; input: number } | null; reasons: Record<string, string>; note: string | null; flagged?: string[] } {
  const reasons: Record<string, string> = {};
  const sets = tensorSets(d);
  const kind = pairKind(d, sets, th);
  const note = kind.note;
  if (kind.kind !== 'training') {
    for (const f of ['flow_health', 'norm', 'ratio']) reasons[f] = kind.reason!;
    return { norm: null, ratio: null, health: null, layers: [], first: [], last: [], order: null, reasons, note };
  }
  const coded = integerCodedReason(kind.precision);
  if (coded) {
    // The update of a weight stored as integer codes on one side is not a value difference: a norm or
    // ratio over the float tensors alone would describe the biases only.
    for (const f of ['flow_health', 'norm', 'ratio']) reasons[f] = coded;
    return { norm: null, ratio: null, health: null, layers: [], first: [], last: [], order: null, reasons, note };
  }
  let sq = 0;
  for (const p of sets.pooled) sq += p.normD * p.normD;
  const norm = sets.pooled.length > 0 ? Math.sqrt(sq) : null;
  if (norm === null) reasons.norm = 'no floating-point tensors present in both inputs with equal shape';
  const o = orderOf(run, d);
  if (!o) {
    const why = recognizeStructure(run.inputs[d.from]).depth_order_reason ?? 'depth order unknown';
    reasons.flow_health = why;
    reasons.ratio = why;
    return { norm, ratio: null, health: null, layers: [], first: [], last: [], order: null, reasons, note };
  }
  const pooled = new Map(sets.pooled.map((p) => [p.name, p]));
  const layers: FlowLayer[] = [];
  o.structure.depth_order!.layers.forEach((name) => {
    const p = pooled.get(name);
    if (!p || p.role !== 'weight_matrix' || p.fromZero) return;
    layers.push({ tensor: name, depth: layers.length, value: p.r, norm: p.normD, non_finite: newNonFiniteOf(p.tensor) });
  });
  const r = ratioOf(layers);
  if (r.ratio === null) reasons.ratio = r.why ?? 'undefined';
  // Only exploding and dead are claimed from the update (SPEC #4).
  let health: FlowHealth = 'no_exploding_or_dead';
  const rs = layers.map((l) => l.value).filter((x): x is number => x !== null);
  const med = rs.length > 0 ? median(rs) : 0;
  const grown = layers.some((l) => {
    const p = pooled.get(l.tensor)!;
    return (p.r !== null && p.r >= th.norm_growth_limit) || (p.growth !== null && p.growth >= th.norm_growth_limit);
  });
  let flagged: string[] = [];
  if (layers.some((l) => l.non_finite > 0) || grown) {
    health = 'exploding';
    flagged = layers
      .filter((l) => {
        const p = pooled.get(l.tensor)!;
        return l.non_finite > 0 || (p.r !== null && p.r >= th.norm_growth_limit) || (p.growth !== null && p.growth >= th.norm_growth_limit);
      })
      .map((l) => l.tensor);
  } else if (med >= th.converged_magnitude && rs.some((x) => x < th.frozen_ratio)) {
    health = 'dead';
    flagged = layers.filter((l) => l.value !== null && l.value < th.frozen_ratio).map((l) => l.tensor);
  }
  if (layers.length === 0) {
    reasons.flow_health = 'no weight matrix of the depth order is present in both inputs';
    if (r.ratio === null) reasons.ratio = reasons.flow_health;
    return { norm, ratio: null, health: null, layers, first: [], last: [], order: { source: o.structure.depth_order!.source, input: o.input }, reasons, note };
  }
  return { norm, ratio: r.ratio, health, layers, first: r.first, last: r.last, order: { source: o.structure.depth_order!.source, input: o.input }, reasons, note, flagged };
}

interface AdamState {
  input: number;
  path: string;
  step: number | null;
  beta1: number | null;
  /** 1 - beta1^step, null when step or beta1 is unknown or it is undefined (see `correctionProblem`). */
  correction: number | null;
  /** Why the bias correction is undefined although step and beta1 are recorded (step 0, beta1 outside [0, 1)); null otherwise. */
  correctionProblem: string | null;
  /** parameter name -> stats of its exp_avg. */
  moments: Map<string, TensorStats>;
}

/** The Adam first moments of an input, mapped onto its parameters; a string says why not. */
function adamState(run: DiffRun, index: number): AdamState | string {
  const input: InputInfo = run.inputs[index];
  const opt = input.metadata.optimizer as { path?: string; type?: string | null; param_groups?: { params?: unknown; betas?: unknown }[]; step?: number | null } | undefined;
  if (!opt) return NO_OPTIMIZER_STATE;
  if (opt.type !== 'adam') return `optimizer state of type ${opt.type ?? 'unknown'}, not Adam (no exp_avg)`;
  const path = opt.path ?? 'optimizer';
  const names = new Set(input.entries.map((e) => e.name));
  const params = input.entries.filter((e) => {
    if (e.aliasOf !== undefined || e.role === 'optimizer') return false;
    const role = tensorRole(e.name, e.shape, names);
    return !NON_PARAMETER_ROLES.has(role) && DTYPES[e.dtype].kind === 'float';
  });
  const ids: number[] = [];
  for (const g of opt.param_groups ?? []) if (Array.isArray(g.params)) for (const id of g.params) if (typeof id === 'number') ids.push(id);
  if (ids.length !== params.length) return `optimizer param_groups list ${ids.length} parameters, the model has ${params.length}: state cannot be mapped onto parameters`;
  const side = index === run.overall.from ? 'a' : 'b';
  const byName = new Map(run.overall.tensors.map((t) => [t.name, t]));
  const moments = new Map<string, TensorStats>();
  for (let k = 0; k < ids.length; k++) {
    const name = `${path}.state.${ids[k]}.exp_avg`;
    const t = byName.get(name);
    const stats = t?.stats[side] ?? null;
    if (!t || !stats) continue;
    const shape = t.shape[side === 'a' ? 0 : 1];
    if (!shape || shape.join(',') !== params[k].shape.join(',')) return `${name} has shape [${shape?.join(', ')}], parameter ${params[k].name} [${params[k].shape.join(', ')}]: state does not line up with the parameters`;
    moments.set(params[k].name, stats);
  }
  if (moments.size === 0) return `no ${path}.state.<i>.exp_avg tensors found (filtered out by --path?)`;
  const g0 = opt.param_groups?.[0];
  const betas = Array.isArray(g0?.betas) ? (g0!.betas as unknown[]) : null;
  const beta1 = betas && typeof betas[0] === 'number' ? betas[0] : null;
  const step = typeof opt.step === 'number' ? opt.step : null;
  let correction: number | null = null;
  let correctionProblem: string | null = null;
  if (beta1 !== null && step !== null) {
    if (!(beta1 >= 0 && beta1 < 1)) correctionProblem = `beta1 = ${beta1} in the optimizer's betas is outside [0, 1): the bias correction 1 - beta1^step (Kingma and Ba 2015) is ${beta1 === 1 ? '0' : 'not a correction'}, so m_hat = exp_avg / (1 - beta1^step) is undefined`;
    else if (!(Number.isInteger(step) && step >= 1)) correctionProblem = step === 0 ? 'step 0: the optimizer has not taken a step, so exp_avg holds no gradient yet and m_hat = exp_avg / (1 - beta1^0) is undefined' : `step = ${step} is not a positive integer: the bias correction 1 - beta1^step is undefined`;
    else correction = 1 - beta1 ** step;
  }
  return { input: index, path, step, beta1, correction, correctionProblem, moments };
}

/**
 * #4. Needs a known depth order (the file's own order in a `.pt` state dict, numbered blocks, or a
 * shape chain: `lib/structure/depthOrder.ts`); else flow_health and ratio are null with the reason.
 *
 * With Adam state in a checkpoint (B first, else A: `metadata.optimizer` of type adam, state index i ->
 * the i-th parameter of param_groups order = the model's parameter order): per weight matrix the RMS of
 * the bias-corrected first moment m_hat = exp_avg / (1 - beta1^step) (a moving average of the gradient);
 * norm = ||m_hat|| over all parameters; ratio = geometric mean of the per-layer RMS over the first third
 * of the weight matrices / over the last third; flow_health: `exploding` (non-finite moments or ratio
 * above `gradient_ratio_max`, 1e3), `vanishing` (ratio below `gradient_ratio_min`, 1e-3), `dead` (a
 * weight matrix with an all-zero moment while others move), else `healthy`. The band [1e-3, 1e3] is wide
 * because layer-wise gradient spreads that large are normal (You et al. 2017, LARS).
 *
 * Without it, the update between checkpoints stands in for the integrated gradient: norm = ||B - A||
 * over S, ratio = geometric mean of r_t over the first third / the last third; only `exploding` (new
 * NaN/Inf in a weight matrix, or r_t or growth_t >= `norm_growth_limit`) and `dead` (a weight matrix with
 * r_t < `frozen_ratio` while the median moves) are claimed (under Adam the per-element update is nearly
 * uniform, so the ratio reflects weight scales); otherwise `no_exploding_or_dead`. With N > 2
 * checkpoints the fields describe the last interval; every interval is in the detail. A precision change
 * or a pair that is not a continuation gives null with that reason.
 */
export const gradientAnalysis: Analysis<GradientResult> = {
  key: 'gradient_analysis',
  needs: { dequant: true },
  run({ run, config }: AnalysisContext): GradientResult {
    const th = config.thresholds;
    const iv = checkpointIntervals(run.inputs);
    const intervals = run.pairs.map((d, k) => {
      const u = updateFlow(run, d, th);
      const length = iv.intervals[k];
      return {
        from: d.from,
        to: d.to,
        norm: jsonNumber(u.norm),
        ratio: u.ratio,
        flow_health: u.health,
        reason: u.reasons.flow_health ?? u.reasons.ratio ?? null,
        length,
        norm_per_unit: u.norm === null ? null : jsonNumber(u.norm / length),
      };
    });
    const band: [number, number] = [th.gradient_ratio_min, th.gradient_ratio_max];
    const notes: { path: string; why: string }[] = [];
    let adam: AdamState | null = null;
    for (const i of [run.overall.to, run.overall.from]) {
      const s = adamState(run, i);
      if (typeof s === 'string') notes.push({ path: run.inputs[i].path, why: s });
      else {
        adam = s;
        break;
      }
    }
    const withState = notes.filter((n) => n.why !== NO_OPTIMIZER_STATE);
    const adamNote = notes.length === 0 ? null : withState.length > 0 ? withState.map((n) => `${n.path}: ${n.why}`).join('; ') : NO_OPTIMIZER_STATE;
    if (adam) {
      const reasons: Record<string, string> = {};
      // The per-layer figures and the ratio use exp_avg / c; a uniform c cancels in the ratio, so without
      // a usable correction the ratio still stands and only the norm (an absolute size) is withheld.
      const c = adam.correction ?? 1;
      let sq = 0;
      let nonFinite = 0;
      for (const s of adam.moments.values()) {
        if (Number.isFinite(s.l2)) sq += (s.l2 / c) ** 2;
        nonFinite += s.nan + s.inf;
      }
      const nonFiniteMoments = [...adam.moments.entries()].filter(([, s]) => s.nan + s.inf > 0).map(([name]) => name);
      const norm = adam.correctionProblem || nonFinite > 0 ? null : jsonNumber(Math.sqrt(sq));
      if (adam.correctionProblem) reasons.norm = adam.correctionProblem;
      else if (nonFinite > 0) reasons.norm = `exp_avg holds ${nonFinite} non-finite value${nonFinite === 1 ? '' : 's'} (${nonFiniteMoments.slice(0, 3).join(', ')}${nonFiniteMoments.length > 3 ? `, +${nonFiniteMoments.length - 3} more` : ''}): the norm is not finite`;
      else if (norm === null) reasons.norm = 'the bias-corrected moments overflow: their norm is not finite';
      // At step 0 the optimizer has taken no step: exp_avg holds no gradient, so there is no flow to judge.
      const noStep = adam.step === 0;
      const structure = recognizeStructure(run.inputs[adam.input]);
      const layers: FlowLayer[] = [];
      let health: FlowHealth | null = null;
      let ratio: number | null = null;
      let r: ReturnType<typeof ratioOf> = { ratio: null, first: [], last: [], why: null };
      let flagged: string[] = [];
      if (noStep) {
        reasons.flow_health = reasons.ratio = adam.correctionProblem!;
      } else if (!structure.depth_order) {
        reasons.flow_health = reasons.ratio = structure.depth_order_reason ?? 'depth order unknown';
      } else {
        const entries = new Map(run.inputs[adam.input].entries.map((e) => [e.name, e]));
        const names = new Set(entries.keys());
        for (const name of structure.depth_order.layers) {
          const s = adam.moments.get(name);
          const e = entries.get(name);
          if (!s || !e || tensorRole(name, e.shape, names) !== 'weight_matrix') continue;
          const norm = Number.isFinite(s.l2) ? s.l2 / c : 0;
          layers.push({ tensor: name, depth: layers.length, value: s.finite > 0 ? norm / Math.sqrt(s.finite) : null, norm, non_finite: s.nan + s.inf });
        }
        r = ratioOf(layers);
        ratio = r.ratio;
        if (ratio === null) reasons.ratio = r.why ?? 'undefined';
        const values = layers.map((l) => l.value).filter((x): x is number => x !== null);
        if (layers.length === 0) reasons.flow_health = 'no weight matrix has Adam state';
        else if (nonFinite > 0 || (ratio !== null && ratio > band[1])) {
          health = 'exploding';
          flagged = nonFinite > 0 ? layers.filter((l) => l.non_finite > 0).map((l) => l.tensor) : r.first;
        } else if (values.some((x) => x === 0) && values.some((x) => x > 0)) {
          health = 'dead';
          flagged = layers.filter((l) => l.value === 0).map((l) => l.tensor);
        } else if (ratio !== null && ratio < band[0]) {
          health = 'vanishing';
          flagged = r.first;
        }
        else if (ratio !== null) health = 'healthy';
        else reasons.flow_health = reasons.ratio;
      }
      const level: AnalysisLevel | undefined = health !== null && health !== 'healthy' ? 'WARNING' : undefined;
      const note =
        adam.correctionProblem !== null
          ? noStep
            ? adam.correctionProblem
            : `${adam.correctionProblem}; the ratio uses exp_avg as stored (a uniform correction cancels in it)`
          : adam.correction === null
            ? `${[adam.step === null ? 'step' : '', adam.beta1 === null ? 'beta1' : ''].filter((x) => x).join(' and ')} not recorded: exp_avg used without bias correction`
            : `m_hat = exp_avg / (1 - ${adam.beta1}^${adam.step}) = exp_avg / ${c.toPrecision(6)}`;
      return {
        flow_health: health,
        norm,
        ratio,
        source: 'adam_exp_avg',
        reasons,
        ...(level ? { level } : {}),
        detail: {
          adam: { input: adam.input, path: run.inputs[adam.input].path, step: adam.step, beta1: adam.beta1, bias_correction: adam.correction, note },
          adam_note: null,
          flagged,
          pair_kind_note: null,
          depth_order: structure.depth_order ? { source: structure.depth_order.source, input: adam.input } : null,
          layers,
          first_third: r.first,
          last_third: r.last,
          healthy_band: band,
          intervals,
          interval_unit: iv.unit,
        },
      };
    }
    const last = run.pairs[run.pairs.length - 1];
    const u = updateFlow(run, last, th);
    const level: AnalysisLevel | undefined = u.health === 'exploding' || u.health === 'dead' ? 'WARNING' : undefined;
    const source = u.norm === null && u.health === null ? null : 'update';
    if (source === null) u.reasons.source = u.reasons.norm ?? u.reasons.flow_health ?? 'no figures';
    return {
      flow_health: u.health,
      norm: jsonNumber(u.norm),
      ratio: u.ratio,
      source,
      reasons: u.reasons,
      ...(level ? { level } : {}),
      detail: { adam: null, adam_note: adamNote, pair_kind_note: u.note, depth_order: u.order, layers: u.layers, first_third: u.first, last_third: u.last, flagged: u.flagged ?? [], healthy_band: band, intervals, interval_unit: iv.unit },
    };
  },
  format(r: GradientResult): string[] {
    const unused = r.detail.adam_note === null || r.detail.adam_note === NO_OPTIMIZER_STATE ? 'no optimizer state' : `optimizer state not used: ${r.detail.adam_note}`;
    const src =
      r.source === 'adam_exp_avg'
        ? `Adam exp_avg of ${r.detail.adam!.path}${r.detail.adam!.step !== null ? ` at step ${r.detail.adam!.step}` : ''}, healthy band [${r.detail.healthy_band.join(', ')}]`
        : r.source === 'update'
          ? `the update B - A (${unused}: only exploding and dead are claimed)`
          : null;
    const last = r.detail.intervals[r.detail.intervals.length - 1];
    const norm = r.source === 'update' && r.norm !== null && r.detail.interval_unit !== null && last && last.norm_per_unit !== null ? `${formatNumber(r.norm)} (${formatNumber(last.norm_per_unit)} per ${r.detail.interval_unit} over ${last.length})` : r.norm;
    const f = r.detail.flagged;
    const health = r.flow_health !== null && f.length > 0 ? `${r.flow_health} (${f.slice(0, TOP_NAMES).join(', ')}${f.length > TOP_NAMES ? `, +${f.length - TOP_NAMES} more` : ''})` : r.flow_health;
    const line = formatFields('gradient_analysis', [['flow_health', health], ['norm', norm], ['ratio', r.ratio], ['source', src]], r.reasons);
    return [r.detail.pair_kind_note ? `${line}; ${r.detail.pair_kind_note}` : line];
  },
};
