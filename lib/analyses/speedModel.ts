/**
 * The cost model of #8 applied to the first and last input of a run, as #8, #15 and #26 read it.
 *
 * @module
 */
import type { Config } from '../config/Config.js';
import { compareCosts, type CostComparison } from '../cost/compareCosts.js';
import { hardwareProfile, type HardwareProfile } from '../cost/hardwareProfiles.js';
import { parseInputShape } from '../cost/inputShape.js';
import { modelCost, type ModelCost } from '../cost/modelCost.js';
import type { DiffRun } from '../diff/ModelDiff.js';
import type { ModelStructure } from '../structure/ModelStructure.js';
import { recognizeStructure } from '../structure/recognizeStructure.js';

/** Costs of A (first input) and B (last input) on the configured profile, and their comparison. */
export interface SpeedModel {
  profile: HardwareProfile;
  batch: number;
  /** `output.top_k`: how many names a CLI line lists before `+N more`. */
  top_k: number;
  input_shape: number[] | null;
  structure: { a: ModelStructure; b: ModelStructure };
  cost: { a: ModelCost; b: ModelCost };
  comparison: CostComparison;
}

/**
 * Runs the cost model on the first and last input with `thresholds.hardware_profile`,
 * `thresholds.batch_tokens` and `thresholds.input_shape`.
 */
export function speedModel(run: DiffRun, config: Config): SpeedModel {
  const th = config.thresholds;
  const profile = hardwareProfile(th.hardware_profile);
  const inputShape = parseInputShape(th.input_shape);
  const a = recognizeStructure(run.inputs[run.overall.from]);
  const b = recognizeStructure(run.inputs[run.overall.to]);
  const options = { batch: th.batch_tokens, inputShape };
  const ca = modelCost(a, profile, options);
  const cb = modelCost(b, profile, options);
  return { profile, batch: th.batch_tokens, top_k: config.output.top_k, input_shape: inputShape, structure: { a, b }, cost: { a: ca, b: cb }, comparison: compareCosts(ca, cb, profile) };
}

/** The regime as one CLI phrase: `memory-bound`, or `low confidence (reason; reason)`. */
export function regimeText(c: CostComparison): string {
  if (c.regime !== 'low confidence') return c.regime;
  const short = c.conditions.map((x) => (x.kind === 'fits_in_cache' ? 'weights fit in cache' : x.kind === 'not_native' ? x.detail.split(':')[0] : 'per-op overhead dominates'));
  return `low confidence (${c.bound}; ${short.join('; ')})`;
}
