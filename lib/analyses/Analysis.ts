/**
 * The analysis framework: every analysis is a pure function from the diff run (and the trajectory
 * when N >= 3 checkpoints are given) plus the configuration to its fields.
 *
 * @module
 */
import type { Config } from '../config/Config.js';
import type { DiffRun } from '../diff/ModelDiff.js';
import type { AnalysisKey } from './catalog.js';

/** Bracketed level prefix of a CLI line (SPEC 3.2). */
export type AnalysisLevel = 'CRITICAL' | 'WARNING' | 'ALERT' | 'HIGH' | 'GRADUAL';

/**
 * What every analysis returns: its SPEC fields (any of which may be null), a reason for each null
 * field, and the per-tensor or per-layer detail behind the numbers.
 */
export interface AnalysisResult {
  /** field name -> why it is null. Every null field of the result has an entry. */
  reasons: Record<string, string>;
  /** Level prefix for the CLI line, when one applies. */
  level?: AnalysisLevel;
  /** The evidence behind the fields (per tensor, per layer, per interval). JSON-serialisable. */
  detail?: unknown;
}

/** What an analysis needs the diff engine to compute beyond the basic diff. */
export interface AnalysisNeeds {
  /** Per-unit norms of weight matrices on both sides (dead units). */
  unitNorms?: boolean;
  /** Consecutive-update dots (N >= 3). */
  trajectory?: boolean;
  /** Rank-k energy share of updates of changed 2-D weight matrices (`TensorDiff.lowRank`). */
  lowRank?: boolean;
  /** Spectral norm and stable rank of float weight matrices on each side (`TensorDiff.spectral`). */
  spectral?: boolean;
  /** |x| / RMS histograms of float weight tensors on each side (`TensorDiff.histogram`). */
  histograms?: boolean;
  /** Dequantized pair statistics of integer-coded tensors with a known convention (`TensorDiff.dequant`). */
  dequant?: boolean;
}

/** The input of an analysis. */
export interface AnalysisContext {
  run: DiffRun;
  config: Config;
}

/**
 * One analysis of SPEC section 3.
 *
 * @typeParam R - its result type: the SPEC fields plus {@link AnalysisResult}.
 */
export interface Analysis<R extends AnalysisResult = AnalysisResult> {
  /** snake_case key: JSON key under `analyses` and the `[ml_analysis]` config key. */
  readonly key: AnalysisKey;
  /** Extra work the diff engine must do for this analysis. */
  readonly needs: AnalysisNeeds;
  /** Computes the result. Pure: no I/O, no randomness without a fixed seed. */
  run(ctx: AnalysisContext): R;
  /**
   * The CLI line(s) in the seed vocabulary, without the level prefix, e.g.
   * `learning_progress: trend=improving, magnitude=0.0543, speed=0.80`.
   */
  format(result: R): string[];
}
