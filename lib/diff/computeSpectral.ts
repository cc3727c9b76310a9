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
import { spectralNorms, type SpectralInput } from './spectralNorm.js';
import { toRawRef } from './toRawRef.js';

/**
 * Fills `TensorDiff.spectral` on every diff. All matrices iterate together (one native pass per
 * Lanczos step over every matrix still running), so progress (`options.onProgress`) covers the whole
 * step: bytes read and the estimate of the total, see {@link spectralNorms}.
 */
export async function computeSpectral(native: RawAddon, models: readonly ModelFile[], plans: readonly PlanLike[], diffs: readonly ModelDiff[], options: RawWorkOptions): Promise<void> {
  const { list, sides } = weightTensors(models, plans);
  const stats = statsLookup(plans, diffs);
  const inputs: SpectralInput[] = list.map((w) => {
    const s = stats.get(keyOf(w.model, w.t.name));
    return { ref: toRawRef(w.t), rows: w.rows, cols: w.cols, frobeniusSq: s && Number.isFinite(s.l2) ? s.l2 * s.l2 : 0 };
  });
  const results = await spectralNorms(native, inputs, options);
  const values = new Map<string, SpectralNorm | null>();
  list.forEach((w, i) => values.set(keyOf(w.model, w.t.name), results[i]));
  assignSides(diffs, sides, values, (t, a, b) => {
    t.spectral = { a, b };
  });
}
