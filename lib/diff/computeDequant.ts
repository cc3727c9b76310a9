/**
 * The engine step behind `AnalysisNeeds.dequant`: for every matched pair of equal element count in
 * which a side is stored as integer codes with a recognised quantization convention (`lib/quant/`),
 * the pair statistics of the dequantized values, in one native call.
 *
 * @module
 */
import type { ModelFile, TensorDescriptor } from '../formats/TensorDescriptor.js';
import type { RawAddon, RawAffine, RawDequantPairJob, RawWorkOptions } from '../native/AddonTypes.js';
import { PAIR_WIDTH, STATS_WIDTH } from '../native/AddonTypes.js';
import { affineOf, findQuantEncoding, isIntegerCoded, type QuantEncoding } from '../quant/quantEncoding.js';
import type { PlanLike } from './modelSteps.js';
import type { ModelDiff, QuantEncodingInfo, TensorDiff } from './ModelDiff.js';
import { pairDiffFromRecord, statsFromRecord } from './records.js';
import { toRawRef } from './toRawRef.js';

interface Side {
  affine: RawAffine | undefined;
  info: QuantEncodingInfo | null;
}

/** The encoding of one side: none for a float side; undefined when an integer side has no usable convention. */
function sideOf(t: TensorDescriptor, model: ModelFile): Side | undefined {
  if (!isIntegerCoded(t)) return { affine: undefined, info: null };
  const e: QuantEncoding | null = findQuantEncoding(t, model);
  if (!e) return undefined;
  const affine = affineOf(t, e);
  if (!affine) return undefined;
  const tensors = [e.scale, e.zeroPoint, e.min].filter((x): x is TensorDescriptor => x !== null).map((x) => x.name);
  return { affine, info: { convention: e.convention, axis: e.axis, channels: affine.n, tensors } };
}

/** Fills `TensorDiff.dequant` on every diff. */
export async function computeDequant(native: RawAddon, models: readonly ModelFile[], plans: readonly PlanLike[], diffs: readonly ModelDiff[], epsilon: number, options: RawWorkOptions): Promise<void> {
  const jobs: RawDequantPairJob[] = [];
  const targets: { t: TensorDiff; a: Side; b: Side }[] = [];
  plans.forEach((plan, p) => {
    plan.matches.forEach((m, i) => {
      if (!m.a || !m.b || m.a.count !== m.b.count) return;
      if (!isIntegerCoded(m.a) && !isIntegerCoded(m.b)) return;
      if (m.status !== 'changed' && m.status !== 'dtype_changed') return;
      const a = sideOf(m.a, models[plan.from]);
      const b = sideOf(m.b, models[plan.to]);
      if (!a || !b) return;
      jobs.push({ a: toRawRef(m.a), b: toRawRef(m.b), epsilon, ...(a.affine ? { aAffine: a.affine } : {}), ...(b.affine ? { bAffine: b.affine } : {}) });
      targets.push({ t: diffs[p].tensors[i], a, b });
    });
  });
  if (jobs.length === 0) return;
  const out = new Float64Array(jobs.length * PAIR_WIDTH);
  await native.dequantPair(jobs, out, options);
  targets.forEach(({ t, a, b }, j) => {
    const o = j * PAIR_WIDTH;
    t.dequant = {
      encoding: { a: a.info, b: b.info },
      stats: { a: statsFromRecord(out, o), b: statsFromRecord(out, o + STATS_WIDTH) },
      diff: pairDiffFromRecord(out, o),
    };
  });
}
