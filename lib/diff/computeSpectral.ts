/**
 * The engine step behind `AnalysisNeeds.spectral`: spectral norm and stable rank of every float weight
 * matrix of every input, once per (model, tensor).
 *
 * @module
 */
import type { ModelFile } from '../formats/TensorDescriptor.js';
import type { RawAddon, RawWorkOptions } from '../native/AddonTypes.js';
import { assignSides, keyOf, statsLookup, weightTensors, type PlanLike } from './modelSteps.js';
import type { ModelDiff, SpectralNorm } from './ModelDiff.js';
import { spectralNorm } from './spectralNorm.js';
import { toRawRef } from './toRawRef.js';

/** Fills `TensorDiff.spectral` on every diff. */
export async function computeSpectral(native: RawAddon, models: readonly ModelFile[], plans: readonly PlanLike[], diffs: readonly ModelDiff[], options: RawWorkOptions): Promise<void> {
  const { list, sides } = weightTensors(models, plans);
  const stats = statsLookup(plans, diffs);
  const values = new Map<string, SpectralNorm | null>();
  for (const w of list) {
    const key = keyOf(w.model, w.t.name);
    const s = stats.get(key);
    const fro = s && Number.isFinite(s.l2) ? s.l2 * s.l2 : 0;
    values.set(key, await spectralNorm(native, toRawRef(w.t), w.rows, w.cols, fro, options));
  }
  assignSides(diffs, sides, values, (t, a, b) => {
    t.spectral = { a, b };
  });
}
