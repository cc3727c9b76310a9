/**
 * What the formatters render: the diff run and the results of the analyses that ran.
 *
 * @module
 */
import type { AnalysisResult } from '../analyses/Analysis.js';
import type { AnalysisKey } from '../analyses/catalog.js';
import type { DiffRun } from '../diff/ModelDiff.js';

/** One analysis's output. */
export interface AnalysisOutput {
  key: AnalysisKey;
  result: AnalysisResult;
  /** Its CLI lines (without level prefix). */
  lines: string[];
}

/** The input of every formatter. */
export interface Report {
  run: DiffRun;
  analyses: AnalysisOutput[];
  /**
   * Tensor names in the order diff lines are shown (from `--sort-by-change-magnitude`); absent for
   * the default order.
   */
  ordering?: string[];
  /** Things the user should know about the inputs (e.g. checkpoints not in training order). */
  warnings?: string[];
}

/** Options of the formatters. */
export interface FormatOptions {
  /** Show unchanged tensors too. */
  verbose?: boolean;
  /** Summary and analyses only, no per-tensor lines. */
  brief?: boolean;
  /** ANSI colours (CLI format only). */
  color?: boolean;
}
