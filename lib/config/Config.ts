/**
 * The resolved configuration: defaults, overridden by the config file, then `DIFFAI_*` environment
 * variables, then command-line flags (SPEC section 4). See `docs/configuration.md`.
 *
 * @module
 */
import type { AnalysisKey } from '../analyses/catalog.js';

/** Output formats. */
export type OutputFormat = 'cli' | 'json' | 'yaml';

/** Keys `diff` lines can be sorted by with `--sort-by-change-magnitude --sort-key KEY`. */
export type SortKey = 'rel_l2' | 'l2_diff' | 'max_abs' | 'mean_abs' | 'cosine' | 'changed' | 'name';

/**
 * Thresholds of the analyses (`[thresholds]`). Each is documented with its source in `docs/analyses.md`.
 */
export interface Thresholds {
  /** Relative metric degradation that is critical (SPEC 4). Default 0.1. */
  critical_degradation: number;
  /** Relative metric degradation that warns (SPEC 4). Default 0.05. */
  warning_degradation: number;
  /** Memory budget in MiB for memory checks (SPEC 4). Default 1024. */
  memory_limit_mb: number;
  /** Multiplies upper anomaly thresholds and divides lower ones (DIFFAI_ANOMALY_THRESHOLD). Default 1. */
  anomaly_threshold: number;
  /** Intervals the oscillation test looks back over (DIFFAI_CONVERGENCE_PATIENCE). Default 1. */
  convergence_patience: number;
  /** R below which a change is `stable` (#1) / `converged` (#2). Default 1e-3. */
  converged_magnitude: number;
  /** Weight-norm growth (and r_t) at or above which a tensor explodes / a run diverges. Default 10. */
  norm_growth_limit: number;
  /** Norm growth at or above which an anomaly is critical. Default 1e3. */
  critical_growth: number;
  /** r_t below which a tensor counts as frozen. Default 1e-6. */
  frozen_ratio: number;
  /** std_B / std_A below which the distribution collapsed. Default 0.1. */
  std_collapse_ratio: number;
  /** Modified z-score (Iglewicz and Hoaglin) above which a layer's shift is an outlier. Default 3.5. */
  shift_zscore: number;
  /** Mean cosine of consecutive updates below which a run oscillates. Default -0.2. */
  oscillation_cosine: number;
  /** A unit (output row) is dead when its norm is below this share of the median unit norm. Default 0.1. */
  dead_unit_ratio: number;
}

/** `[output]`. */
export interface OutputConfig {
  format: OutputFormat;
  /** Values differ when |B - A| > epsilon. Default 0 (exact). */
  epsilon: number;
  verbose: boolean;
  quiet: boolean;
  /** `auto` colours on a TTY unless NO_COLOR is set. */
  color: 'auto' | 'always' | 'never';
  sort_key: SortKey;
  /** How many tensors lists like `most_changed` show. Default 5. */
  top_k: number;
}

/** The whole resolved configuration. */
export interface Config {
  ml_analysis: { enable_all: boolean } & Partial<Record<AnalysisKey, boolean>>;
  thresholds: Thresholds;
  output: OutputConfig;
}

/** Defaults (SPEC section 3 and 4). */
export const DEFAULT_CONFIG: Config = {
  ml_analysis: { enable_all: false },
  thresholds: {
    critical_degradation: 0.1,
    warning_degradation: 0.05,
    memory_limit_mb: 1024,
    anomaly_threshold: 1,
    convergence_patience: 1,
    converged_magnitude: 1e-3,
    norm_growth_limit: 10,
    critical_growth: 1e3,
    frozen_ratio: 1e-6,
    std_collapse_ratio: 0.1,
    shift_zscore: 3.5,
    oscillation_cosine: -0.2,
    dead_unit_ratio: 0.1,
  },
  output: {
    format: 'cli',
    epsilon: 0,
    verbose: false,
    quiet: false,
    color: 'auto',
    sort_key: 'rel_l2',
    top_k: 5,
  },
};
