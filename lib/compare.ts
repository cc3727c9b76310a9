/**
 * The whole job behind the CLI, as one library call: open the models, run the diff with the extra
 * work the selected analyses need, run the analyses, and return a {@link Report} for the formatters.
 *
 * @module
 */
import type { Analysis, AnalysisNeeds } from './analyses/Analysis.js';
import { ANALYSIS_KEYS, flagOf, type AnalysisKey } from './analyses/catalog.js';
import { inputOrderWarning } from './analyses/intervals.js';
import { ANALYSES } from './analyses/registry.js';
import type { Config } from './config/Config.js';
import { DEFAULT_CONFIG } from './config/Config.js';
import { diffModels, type DiffOptions } from './diff/diffModels.js';
import { DiffaiError } from './errors.js';
import { openModel } from './formats/openModel.js';
import type { ModelFile } from './formats/TensorDescriptor.js';
import type { AnalysisOutput, Report } from './report/Report.js';

/** Options of {@link compare}. */
export interface CompareOptions extends Pick<DiffOptions, 'path' | 'ignoreKeysRegex' | 'onProgress' | 'signal'> {
  /** Resolved configuration (see `loadConfig`); defaults to {@link DEFAULT_CONFIG}. */
  config?: Config;
}

/**
 * The analyses the configuration enables, in SPEC order: all available ones with
 * `ml_analysis.enable_all`, else those set to true.
 *
 * @throws DiffaiError `ERR_ANALYSIS_UNAVAILABLE` when an analysis that this version does not implement
 *   is explicitly enabled (it is never answered with made-up output).
 */
export function selectAnalyses(config: Config): Analysis[] {
  const available = new Map<AnalysisKey, Analysis>(ANALYSES.map((a) => [a.key, a]));
  const selected: Analysis[] = [];
  for (const key of ANALYSIS_KEYS) {
    const on = config.ml_analysis[key] === true;
    const analysis = available.get(key);
    if (on && !analysis) {
      throw new DiffaiError(
        'ERR_ANALYSIS_UNAVAILABLE',
        `${flagOf(key)} (${key}) is not available in this version of diffai; available analyses: ${ANALYSES.map((a) => flagOf(a.key)).join(', ')}`,
      );
    }
    if (analysis && (on || (config.ml_analysis.enable_all && config.ml_analysis[key] !== false))) selected.push(analysis);
  }
  return selected;
}

/** The union of what the analyses need from the diff engine. */
export function needsOf(analyses: readonly Analysis[]): AnalysisNeeds {
  const needs: AnalysisNeeds = {};
  for (const a of analyses) {
    for (const [k, v] of Object.entries(a.needs)) if (v) (needs as Record<string, boolean>)[k] = true;
  }
  return needs;
}

/**
 * Runs the selected analyses over a diff run.
 *
 * @returns one output per analysis, and the tensor ordering when `sort_by_change_magnitude` ran.
 */
export function runAnalyses(
  analyses: readonly Analysis[],
  run: Report['run'],
  config: Config,
): { outputs: AnalysisOutput[]; ordering?: string[] } {
  const outputs: AnalysisOutput[] = [];
  let ordering: string[] | undefined;
  for (const a of analyses) {
    const result = a.run({ run, config });
    outputs.push({ key: a.key, result, lines: a.format(result) });
    if (a.key === 'sort_by_change_magnitude') {
      const o = (result as unknown as { ordering?: unknown }).ordering;
      if (Array.isArray(o)) ordering = o as string[];
    }
  }
  return { outputs, ordering };
}

/**
 * Compares N >= 2 model files (oldest first) and runs the analyses the configuration enables.
 *
 * @throws DiffaiError for unreadable or invalid files (naming the file), unavailable analyses, or abort.
 */
export async function compare(paths: readonly string[], options: CompareOptions = {}): Promise<Report> {
  const config = options.config ?? DEFAULT_CONFIG;
  if (paths.length < 2) throw new DiffaiError('ERR_USAGE', `compare needs at least 2 model files, got ${paths.length}`);
  const analyses = selectAnalyses(config);
  const models: ModelFile[] = [];
  try {
    for (const p of paths) models.push(await openModel(p));
    const run = await diffModels(models, {
      epsilon: config.output.epsilon,
      path: options.path,
      ignoreKeysRegex: options.ignoreKeysRegex,
      needs: needsOf(analyses),
      onProgress: options.onProgress,
      signal: options.signal,
    });
    const { outputs, ordering } = runAnalyses(analyses, run, config);
    const report: Report = { run, analyses: outputs };
    if (ordering) report.ordering = ordering;
    const warnings: string[] = [];
    const order = inputOrderWarning(run.inputs);
    if (order) warnings.push(order);
    for (const input of run.inputs) {
      // A config.json beside the weights that cannot be read: its settings (heads, model type) are unused.
      const problem = input.metadata['config_error'];
      if (typeof problem === 'string') warnings.push(`${problem} (the config.json is ignored: its model type and head counts are not used)`);
    }
    if (warnings.length) report.warnings = warnings;
    return report;
  } finally {
    for (const m of models) m.close();
  }
}
