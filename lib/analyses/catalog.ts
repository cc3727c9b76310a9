/**
 * The 28 analyses of SPEC section 3, by key (snake_case, the JSON key and config key) and flag.
 * An analysis listed here but absent from the registry (`registry.ts`) is not available yet: its flag
 * and config key are rejected with ERR_ANALYSIS_UNAVAILABLE rather than answered with made-up output.
 *
 * @module
 */

/** Keys of all analyses, in SPEC order (#1 .. #28). */
export const ANALYSIS_KEYS = [
  'learning_progress',
  'convergence_analysis',
  'anomaly_detection',
  'gradient_analysis',
  'architecture_comparison',
  'param_efficiency_analysis',
  'memory_analysis',
  'inference_speed_estimate',
  'deployment_readiness',
  'regression_test',
  'risk_assessment',
  'hyperparameter_impact',
  'learning_rate_analysis',
  'alert_on_degradation',
  'performance_impact_estimate',
  'generate_report',
  'markdown_output',
  'include_charts',
  'review_friendly',
  'embedding_analysis',
  'similarity_matrix',
  'clustering_change',
  'attention_analysis',
  'head_importance',
  'attention_pattern_diff',
  'quantization_analysis',
  'sort_by_change_magnitude',
  'change_summary',
] as const;

/** Key of an analysis, e.g. `learning_progress`. */
export type AnalysisKey = (typeof ANALYSIS_KEYS)[number];

/** The CLI flag of an analysis key: `learning_progress` -> `--learning-progress`. */
export function flagOf(key: AnalysisKey): string {
  return '--' + key.replace(/_/g, '-');
}
