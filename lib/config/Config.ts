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
  /**
   * #28 uniform rescale: the relative residual 1 - cos^2 of the best fit B = cA below which a tensor
   * (of at least 16 elements) is a uniform rescale. Default 1e-4 (SPEC #28).
   */
  rescale_residual: number;
  /**
   * #28 re-initialisation: |cos| below max(this, 3 / sqrt(n)) with r_t >= `reinit_ratio` means the
   * tensor was re-initialised (3 / sqrt(n) is three standard deviations of the cosine of two independent
   * random vectors of n elements). Default 0.1 (SPEC #28).
   */
  reinit_cosine: number;
  /** #28 re-initialisation: the relative update r_t at or above which a decorrelated tensor counts as re-initialised. Default 0.5 (SPEC #28). */
  reinit_ratio: number;
  /** #28 pruning: share of a tensor's elements newly zero in B at or above which it was pruned. Default 0.01 (SPEC #28). */
  pruning_share: number;
  /** #28 sparse update: share of changed elements below which an update is sparse. Default 0.1 (SPEC #28). */
  sparse_share: number;
  /** #28 low-rank update: share of ||D||_F^2 held by rank min(64, min(m,n)/4) at or above which the update is low-rank. Default 0.999 (SPEC #28). */
  low_rank_energy: number;
  /**
   * Share of the changed parameters (elements of changed float tensors) in re-initialised tensors at or
   * above which a pair is "not a continuation" (#1 and #2 then answer null). Default 0.5 (SPEC section 3).
   */
  not_continuation_share: number;
  /**
   * The hardware profile of the cost model of #8, #15 and #26 (`lib/cost/hardwareProfiles.ts`): `cpu`
   * (this machine class, measured) or `a100` (NVIDIA A100 SXM4 80GB datasheet). Default `cpu`.
   * Not a threshold, but a setting of those analyses (SPEC section 4 keeps the analyses' own settings in
   * `[thresholds]`); also `--hardware-profile`.
   */
  hardware_profile: HardwareProfileName;
  /** Tokens (or samples, for CNNs and MLPs) processed together for the batched figures of #8 and #15. Default 512. */
  batch_tokens: number;
  /**
   * Input shape of one sample for convolution layers, `C,H,W` (2-D) or `C,L` (1-D), e.g. `1,28,28`; empty
   * when unknown (conv layers are then `not covered`). Also `--input-shape`.
   */
  input_shape: string;
  /**
   * #7: accelerator memory for inference as a multiple of the weights (activations, workspace, allocator).
   * Default 1.2 (EleutherAI, "Transformer Math 101", 2023).
   */
  inference_memory_factor: number;
  /** #4 with Adam state: lower end of the healthy band of the depth flow ratio. Default 1e-3 (SPEC #4). */
  gradient_ratio_min: number;
  /** #4 with Adam state: upper end of the healthy band of the depth flow ratio. Default 1e3 (SPEC #4). */
  gradient_ratio_max: number;
  /** #6: |w| below this share of its tensor's RMS counts as prunable. Default 0.1 (SPEC #6). */
  pruning_threshold: number;
  /** #26: SQNR (dB) at or above which a quantization is `good`. Default 30 (SPEC #26). */
  sqnr_good_db: number;
  /** #26: SQNR (dB) at or above which a quantization is `fair` (below: `poor`). Default 20 (SPEC #26). */
  sqnr_fair_db: number;
}

/** Names of the hardware profiles (`lib/cost/hardwareProfiles.ts`). */
export type HardwareProfileName = 'cpu' | 'a100';

/** Every hardware profile name, for validation. */
export const HARDWARE_PROFILE_NAMES: readonly HardwareProfileName[] = ['cpu', 'a100'];

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
    rescale_residual: 1e-4,
    reinit_cosine: 0.1,
    reinit_ratio: 0.5,
    pruning_share: 0.01,
    sparse_share: 0.1,
    low_rank_energy: 0.999,
    not_continuation_share: 0.5,
    hardware_profile: 'cpu',
    batch_tokens: 512,
    input_shape: '',
    inference_memory_factor: 1.2,
    gradient_ratio_min: 1e-3,
    gradient_ratio_max: 1e3,
    pruning_threshold: 0.1,
    sqnr_good_db: 30,
    sqnr_fair_db: 20,
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
