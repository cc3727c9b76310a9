/**
 * The engine step behind `AnalysisNeeds.histograms`: the histogram of |x| / RMS(x) of every float weight
 * tensor of every input (the second pass of SPEC section 2, range from the first), once per
 * (model, tensor), in one native call.
 *
 * @module
 */
import type { ModelFile } from '../formats/TensorDescriptor.js';
import type { RawAddon, RawHistogramJob, RawWorkOptions } from '../native/AddonTypes.js';
import { assignSides, keyOf, statsLookup, weightTensors, type PlanLike } from './modelSteps.js';
import type { AbsHistogram, ModelDiff } from './ModelDiff.js';
import { toRawRef } from './toRawRef.js';

/** Bins of the |x| / RMS histogram. */
export const HISTOGRAM_BINS = 40;
/** Bin width in units of the RMS: bin 0 is |x| < 0.1 RMS, the pruning test of SPEC #6. */
export const HISTOGRAM_BIN_WIDTH = 0.1;

/** Fills `TensorDiff.histogram` on every diff. */
export async function computeHistograms(native: RawAddon, models: readonly ModelFile[], plans: readonly PlanLike[], diffs: readonly ModelDiff[], options: RawWorkOptions): Promise<void> {
  const { list, sides } = weightTensors(models, plans);
  const stats = statsLookup(plans, diffs);
  const jobs: RawHistogramJob[] = [];
  const keys: { key: string; rms: number }[] = [];
  const values = new Map<string, AbsHistogram | null>();
  for (const w of list) {
    const key = keyOf(w.model, w.t.name);
    const s = stats.get(key);
    const rms = s && s.finite > 0 ? s.l2 / Math.sqrt(s.finite) : NaN;
    if (!(rms > 0) || !Number.isFinite(rms)) {
      values.set(key, null);
      continue;
    }
    jobs.push({ ref: toRawRef(w.t), lo: 0, hi: HISTOGRAM_BINS * HISTOGRAM_BIN_WIDTH * rms, bins: HISTOGRAM_BINS, abs: true });
    keys.push({ key, rms });
  }
  if (jobs.length > 0) {
    const width = HISTOGRAM_BINS + 3;
    const out = new Float64Array(jobs.length * width);
    await native.histogram(jobs, out, options);
    keys.forEach(({ key, rms }, j) => {
      const o = j * width;
      values.set(key, {
        rms,
        bin_width: HISTOGRAM_BIN_WIDTH,
        counts: Array.from(out.subarray(o, o + HISTOGRAM_BINS)),
        above: out[o + HISTOGRAM_BINS + 1],
        non_finite: out[o + HISTOGRAM_BINS + 2],
      });
    });
  }
  assignSides(diffs, sides, values, (t, a, b) => {
    t.histogram = { a, b };
  });
}
