/**
 * #15 `--performance-impact-estimate`: latency_change, throughput_change, confidence (SPEC section 3,
 * row 15), from the cost model of #8.
 *
 * @module
 */
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { notCoveredText, overheadText, speedDetail, speedModelReason, type SpeedDetail } from './inferenceSpeedEstimate.js';
import { jsonNumber } from './jsonNumber.js';
import { speedModel } from './speedModel.js';

/** Result of #15. */
export interface PerformanceImpactResult extends AnalysisResult {
  /** T_B / T_A - 1 at batch 1, per-op overhead included (-0.5: half the latency). */
  latency_change: number | null;
  /** T_A / T_B - 1 at `batch_tokens` (0.5: 50 % more tokens per second). */
  throughput_change: number | null;
  /** coverage x regime factor (#8). */
  confidence: number | null;
  /** Null when the model has nothing to say (no costed layer), with the reason. */
  regime: 'memory-bound' | 'compute-bound' | 'low confidence' | null;
  profile: string;
  detail: SpeedDetail & {
    /** The same two changes from the roofline terms alone (no per-op overhead). */
    roofline_latency_change: number | null;
    roofline_throughput_change: number | null;
  };
}

/**
 * #15 on the first and last input: latency_change = T_B / T_A - 1 at batch 1, throughput_change =
 * T_A / T_B - 1 at `batch_tokens`, both with the per-op overhead, from the model of #8 on the same
 * profile; confidence = coverage (share of FLOPs in covered ops) x regime factor, so a cache-resident,
 * overhead-bound or non-native case is never reported as confident.
 */
export const performanceImpactEstimate: Analysis<PerformanceImpactResult> = {
  key: 'performance_impact_estimate',
  needs: {},
  run({ run, config }: AnalysisContext): PerformanceImpactResult {
    const m = speedModel(run, config);
    const a = m.cost.a;
    const b = m.cost.b;
    const reasons: Record<string, string> = {};
    const none = speedModelReason(m);
    const latency = none ? null : jsonNumber(b.time1.total / a.time1.total - 1);
    const throughput = none ? null : jsonNumber(a.time_batch.total / b.time_batch.total - 1);
    const confidence = none ? null : jsonNumber(m.comparison.confidence);
    for (const [k, v] of [['latency_change', latency], ['throughput_change', throughput], ['confidence', confidence]] as const) if (v === null) reasons[k] = none ?? 'the modelled time is zero';
    if (none) reasons.regime = none;
    return {
      latency_change: latency,
      throughput_change: throughput,
      confidence,
      regime: none ? null : m.comparison.regime,
      profile: m.profile.name,
      reasons,
      detail: {
        ...speedDetail(m),
        roofline_latency_change: none ? null : jsonNumber(b.time1.roofline / a.time1.roofline - 1),
        roofline_throughput_change: none ? null : jsonNumber(a.time_batch.roofline / b.time_batch.roofline - 1),
      },
    };
  },
  format(r: PerformanceImpactResult): string[] {
    const d = r.detail;
    let line = formatFields(
      'performance_impact_estimate',
      [
        ['latency_change', r.latency_change],
        ['throughput_change', r.throughput_change],
        ['confidence', r.confidence],
        ['regime', d.regime_text],
        ['profile', r.profile],
      ],
      r.reasons,
    );
    if (d.roofline_latency_change !== null) {
      line += `; roofline alone: latency ${formatNumber(d.roofline_latency_change)}, throughput at batch ${d.batch} ${formatNumber(d.roofline_throughput_change)}`;
    }
    const overhead = r.latency_change === null ? null : overheadText(d, 'latency_change');
    if (overhead) line += `; ${overhead}`;
    const nc = notCoveredText(d);
    if (nc) line += `; not covered: ${nc}`;
    return [line];
  },
};
