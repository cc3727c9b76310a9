/**
 * #8 `--inference-speed-estimate`: speed_ratio, flops_ratio, bottlenecks (+ confidence, regime) (SPEC
 * section 3, row 8).
 *
 * @module
 */
import type { LayerCost } from '../cost/modelCost.js';
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { jsonNumber } from './jsonNumber.js';
import { regimeText, speedModel, type SpeedModel } from './speedModel.js';

/** A bottleneck op of B at the batch size. */
export interface Bottleneck {
  name: string;
  kind: LayerCost['kind'];
  /** Share of B's roofline time at the batch size. */
  share: number;
  bound: 'compute' | 'memory';
  /** Roofline time at the batch size, seconds. */
  time: number;
}

/** Per-op figures of one input in the detail (JSON-safe). */
export interface CostDetail {
  /** FLOPs per token / sample of covered ops. */
  flops: number;
  coverage: number;
  weight_bytes: number;
  ops: number;
  fits_in_cache: boolean;
  non_native: string[];
  positions_note: string | null;
  /** Seconds at batch 1 and at the batch size; `ops`: the ops charged the per-op overhead (covered ones). */
  time1: { roofline: number; ops: number; overhead: number; total: number; compute_bound: number; memory_bound: number };
  time_batch: { roofline: number; ops: number; overhead: number; total: number; compute_bound: number; memory_bound: number };
  layers: {
    name: string;
    kind: string;
    dtype: string | null;
    compute: string;
    native: boolean;
    covered: boolean;
    reason: string | null;
    positions: number | null;
    flops: number | null;
    fixed_bytes: number;
    bytes_per_item: number;
    conv_input: LayerCost['conv_input'];
    counted: boolean;
    time1: number | null;
    bound1: string | null;
    time_batch: number | null;
    bound_batch: string | null;
  }[];
}

/** The detail shared by #8, #15 and #26. */
export interface SpeedDetail {
  profile: { name: string; description: string; bandwidth: number; llc_bytes: number; op_overhead: number; peak: Record<string, number>; native: Record<string, boolean>; sources: string[] };
  batch: number;
  /** `output.top_k`: names a CLI line lists before `+N more`. */
  top_k: number;
  input_shape: number[] | null;
  /** Why the input shape does not fit A or B (their conv layers are then not covered), else null. */
  input_shape_problem: string | null;
  roofline_speedup: number | null;
  speed_ratio_batch: number | null;
  roofline_speedup_batch: number | null;
  coverage: number;
  regime_factor: number;
  bound: string;
  conditions: { kind: string; detail: string }[];
  /** The regime as the CLI line prints it; null when the model has nothing to say ({@link speedModelReason}). */
  regime_text: string | null;
  not_covered: { name: string; reason: string }[];
  /** Ops in an ONNX If branch that is not costed (one branch runs per call), A and B together. */
  not_counted: { name: string; reason: string }[];
  a: CostDetail;
  b: CostDetail;
}

/** Result of #8. */
export interface InferenceSpeedResult extends AnalysisResult {
  /** T_A / T_B at batch 1 with per-op overhead (> 1: B is faster). */
  speed_ratio: number | null;
  /** FLOPs per token of B / of A. */
  flops_ratio: number | null;
  /** B's most expensive ops at the batch size. */
  bottlenecks: Bottleneck[];
  /** coverage x regime factor, in [0, 1]. */
  confidence: number | null;
  /** Null when the model has nothing to say (no costed layer), with the reason. */
  regime: 'memory-bound' | 'compute-bound' | 'low confidence' | null;
  profile: string;
  detail: SpeedDetail;
}

function costDetail(c: SpeedModel['cost']['a']): CostDetail {
  const t = (x: typeof c.time1) => ({ roofline: x.roofline, ops: x.ops, overhead: x.overhead, total: x.total, compute_bound: x.compute_bound, memory_bound: x.memory_bound });
  return {
    flops: c.flops,
    coverage: c.coverage,
    weight_bytes: c.weight_bytes,
    ops: c.ops,
    fits_in_cache: c.fits_in_cache,
    non_native: [...c.non_native],
    positions_note: c.positions_note,
    time1: t(c.time1),
    time_batch: t(c.time_batch),
    layers: c.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      dtype: l.dtype,
      compute: l.compute,
      native: l.native,
      covered: l.covered,
      reason: l.reason,
      positions: l.positions,
      flops: l.flops,
      fixed_bytes: l.fixed_bytes,
      bytes_per_item: l.bytes_per_item,
      conv_input: l.conv_input ? { ...l.conv_input } : null,
      counted: l.counted,
      time1: l.time1?.roofline ?? null,
      bound1: l.time1?.bound ?? null,
      time_batch: l.time_batch?.roofline ?? null,
      bound_batch: l.time_batch?.bound ?? null,
    })),
  };
}

/** The detail of the cost model, shared by #8, #15 and #26. */
export function speedDetail(m: SpeedModel): SpeedDetail {
  const c = m.comparison;
  const p = m.profile;
  const notCovered = new Map<string, string>();
  const notCounted = new Map<string, string>();
  for (const side of [m.cost.a, m.cost.b]) {
    for (const l of side.layers) {
      if (!l.counted) notCounted.set(l.name, l.reason ?? 'not counted');
      else if (!l.covered) notCovered.set(l.name, l.reason ?? 'not covered');
    }
  }
  return {
    profile: { name: p.name, description: p.description, bandwidth: p.bandwidth, llc_bytes: p.llc_bytes, op_overhead: p.op_overhead, peak: { ...p.peak }, native: { ...p.native }, sources: [...p.sources] },
    batch: m.batch,
    top_k: m.top_k,
    input_shape: m.input_shape,
    input_shape_problem: m.cost.a.input_shape_problem ?? m.cost.b.input_shape_problem,
    roofline_speedup: jsonNumber(c.roofline_speedup),
    speed_ratio_batch: jsonNumber(c.speed_ratio_batch),
    roofline_speedup_batch: jsonNumber(c.roofline_speedup_batch),
    coverage: c.coverage,
    regime_factor: c.regime_factor,
    bound: c.bound,
    conditions: c.conditions.map((x) => ({ ...x })),
    regime_text: speedModelReason(m) === null ? regimeText(c) : null,
    not_covered: [...notCovered].map(([name, reason]) => ({ name, reason })),
    not_counted: [...notCounted].map(([name, reason]) => ({ name, reason })),
    a: costDetail(m.cost.a),
    b: costDetail(m.cost.b),
  };
}

/** B's ops with the largest share of its roofline time at the batch size. */
export function bottlenecksOf(m: SpeedModel, n = 3): Bottleneck[] {
  const ops = m.cost.b.layers.filter((l) => l.time_batch !== null);
  const total = ops.reduce((s, l) => s + l.time_batch!.roofline, 0);
  if (!(total > 0)) return [];
  return ops
    .map((l) => ({ name: l.name, kind: l.kind, share: l.time_batch!.roofline / total, bound: l.time_batch!.bound, time: l.time_batch!.roofline }))
    .sort((x, y) => y.time - x.time)
    .slice(0, n);
}

/** Why the model has nothing to say about a pair, or null. */
export function speedModelReason(m: SpeedModel): string | null {
  const sides = (pred: (c: SpeedModel['cost']['a']) => boolean) => (pred(m.cost.a) && pred(m.cost.b) ? 'A or B' : pred(m.cost.a) ? 'A' : pred(m.cost.b) ? 'B' : null);
  const none = sides((c) => c.ops === 0);
  if (none) return `no layer recognised in ${none} (no weight matrix, conv kernel or embedding)`;
  const uncosted = sides((c) => !(c.time1.roofline > 0));
  if (uncosted) {
    const side = m.cost.a.time1.roofline > 0 ? m.cost.b : m.cost.a;
    const why = [...new Set(side.layers.filter((l) => l.counted && !l.covered).map((l) => (l.reason ?? 'not covered').replace(/^not covered: /, '')))];
    return `no layer of ${uncosted} could be costed: ${why.length > 0 ? why.join('; ') : 'no layer has a FLOP or byte count'}`;
  }
  return null;
}

/** `a, b, c, +N more`: the first `k` of a list, then how many were left out. */
export function listText(items: readonly string[], k: number): string {
  const shown = items.slice(0, Math.max(1, k));
  return `${shown.join(', ')}${items.length > shown.length ? `, +${items.length - shown.length} more` : ''}`;
}

function us(seconds: number): string {
  return `${formatNumber(seconds * 1e6)} us`;
}

/**
 * Why speed_ratio (or latency_change) differs from the roofline figure when per-op overhead dominates
 * (the `overhead_bound` condition): the overhead and the roofline times at batch 1, so the line says
 * where the time goes.
 */
export function overheadText(d: SpeedDetail, field: 'speed_ratio' | 'latency_change'): string | null {
  if (!d.conditions.some((c) => c.kind === 'overhead_bound') || d.roofline_speedup === null) return null;
  // the overhead is charged to the ops with a time: the counted ops that are covered
  const both = (a: number, b: number) => (a === b ? `${a}` : `${a} / ${b}`);
  const [ca, cb] = [d.a.time1.ops, d.b.time1.ops];
  const [ua, ub] = [d.a.ops - ca, d.b.ops - cb];
  const partial = ua > 0 || ub > 0;
  const ops = `${both(ca, cb)} ${partial ? 'covered ' : ''}op${ca === 1 && cb === 1 ? '' : 's'}`;
  const overhead = ca === cb ? us(d.a.time1.overhead) : `${us(d.a.time1.overhead)} / ${us(d.b.time1.overhead)}`;
  const uncharged = partial ? `; the ${both(ua, ub)} not covered ha${ua === 1 && ub === 1 ? 's' : 've'} no time and no overhead` : '';
  const roofline = field === 'speed_ratio' ? `${formatNumber(d.roofline_speedup)}x` : formatNumber(1 / d.roofline_speedup - 1);
  const head = `at batch 1 the per-op overhead (${ops} x ${us(d.profile.op_overhead)} = ${overhead}${uncharged}) is most of the time (roofline ${us(d.a.time1.roofline)} for A, ${us(d.b.time1.roofline)} for B)`;
  // with the same roofline time on both sides there is nothing for the overhead to pull toward 1
  if (Math.abs(d.roofline_speedup - 1) < 1e-3) return head;
  return `${head}: it pulls ${field} toward ${field === 'speed_ratio' ? 1 : 0} from the roofline's ${roofline}`;
}

/** The ops not covered, grouped by reason: `names: reason; names: reason` (names capped at top_k). */
export function notCoveredText(d: SpeedDetail): string | null {
  if (d.not_covered.length === 0) return null;
  const byReason = new Map<string, string[]>();
  for (const x of d.not_covered) {
    const why = x.reason.replace(/^not covered: /, '');
    byReason.set(why, [...(byReason.get(why) ?? []), x.name]);
  }
  return [...byReason].map(([why, names]) => `${listText(names, d.top_k)} (${why})`).join('; ');
}

/**
 * #8 `--inference-speed-estimate` on the first and last input.
 *
 * The cost model (`lib/cost/modelCost.ts`) gives every op FLOPs and bytes per token (or sample), a
 * roofline time max(FLOPs / peak, bytes / bandwidth) on the profile (`--hardware-profile`, default
 * `cpu`) and a per-op overhead. speed_ratio = T_A / T_B at batch 1 (overhead included; the roofline
 * alone in the detail and on the line); flops_ratio = FLOPs_B / FLOPs_A; bottlenecks = B's top ops by
 * roofline time at `batch_tokens`; regime `low confidence` when the weights fit in the last-level
 * cache, a dtype is not native, or per-op overhead dominates; confidence = coverage x 0.3 per such
 * condition.
 */
export const inferenceSpeedEstimate: Analysis<InferenceSpeedResult> = {
  key: 'inference_speed_estimate',
  needs: {},
  run({ run, config }: AnalysisContext): InferenceSpeedResult {
    const m = speedModel(run, config);
    const c = m.comparison;
    const reasons: Record<string, string> = {};
    const none = speedModelReason(m);
    const speed = none ? null : jsonNumber(c.speed_ratio);
    const flops = none ? null : jsonNumber(c.flops_ratio);
    if (speed === null) reasons.speed_ratio = none ?? 'the modelled time is zero';
    if (flops === null) reasons.flops_ratio = none ?? 'A has no covered FLOPs';
    const confidence = none ? null : jsonNumber(c.confidence);
    if (confidence === null) reasons.confidence = reasons.speed_ratio;
    if (none) reasons.regime = none;
    return {
      speed_ratio: speed,
      flops_ratio: flops,
      bottlenecks: none ? [] : bottlenecksOf(m),
      confidence,
      regime: none ? null : c.regime,
      profile: m.profile.name,
      reasons,
      detail: speedDetail(m),
    };
  },
  format(r: InferenceSpeedResult): string[] {
    const d = r.detail;
    const bn = listText(
      r.bottlenecks.map((b) => `${b.name} ${formatNumber(100 * b.share)} % ${b.bound}`),
      d.top_k,
    );
    let line = formatFields(
      'inference_speed_estimate',
      [
        ['speed_ratio', r.speed_ratio],
        ['flops_ratio', r.flops_ratio],
        ['bottlenecks', r.bottlenecks.length > 0 ? `[${bn}] at batch_tokens=${d.batch}` : '[]'],
        ['confidence', r.confidence],
        ['regime', d.regime_text],
        ['profile', r.profile],
      ],
      r.reasons,
    );
    if (d.roofline_speedup !== null) line += `; roofline speedup ${formatNumber(d.roofline_speedup)}x at batch 1, ${formatNumber(d.roofline_speedup_batch)}x at batch ${d.batch}`;
    const overhead = r.speed_ratio === null ? null : overheadText(d, 'speed_ratio');
    if (overhead) line += `; ${overhead}`;
    const nc = notCoveredText(d);
    if (nc) line += `; not covered: ${nc}`;
    if (d.not_counted.length > 0) line += `; not counted (the other branch of an ONNX If): ${listText(d.not_counted.map((x) => x.name), d.top_k)}`;
    return [line];
  },
};
