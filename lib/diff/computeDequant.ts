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
import { affineMap, isIntegerCoded, searchQuantEncoding, type QuantEncoding } from '../quant/quantEncoding.js';
import type { PlanLike } from './modelSteps.js';
import type { ModelDiff, QuantEncodingInfo, TensorDiff } from './ModelDiff.js';
import { pairDiffFromRecord, statsFromRecord } from './records.js';
import { toRawRef } from './toRawRef.js';

interface Side {
  affine: RawAffine | undefined;
  info: QuantEncodingInfo | null;
  /** Sum over the elements of the squared quantization step (0 for a float side). */
  stepSq: number;
}

type Problem = { problem: string; nonFinite: number };

/**
 * The encoding of one side: none for a float side; a problem when an integer side has quantization
 * parameters that cannot be used; undefined when it has none at all.
 */
function sideOf(t: TensorDescriptor, model: ModelFile): Side | Problem | undefined {
  if (!isIntegerCoded(t)) return { affine: undefined, info: null, stepSq: 0 };
  const found = searchQuantEncoding(t, model);
  if (!found) return undefined;
  if (!found.encoding) return { problem: found.problem, nonFinite: 0 };
  const e: QuantEncoding = found.encoding;
  const map = affineMap(t, e);
  if (!map.affine) return { problem: map.problem, nonFinite: map.non_finite_elements };
  const affine = map.affine;
  let stepSq = 0;
  for (let c = 0; c < affine.n; c++) stepSq += affine.scale[c] * affine.scale[c];
  stepSq *= affine.outer * affine.inner;
  const tensors = [e.scale, e.zeroPoint, e.min].filter((x): x is TensorDescriptor => x !== null).map((x) => x.name);
  return { affine, info: { convention: e.convention, axis: e.axis, channels: affine.n, tensors }, stepSq };
}

const isProblem = (x: Side | Problem): x is Problem => 'problem' in x;

/**
 * Fills `TensorDiff.dequant` on every diff, and `TensorDiff.dequant_problem` where stored quantization
 * parameters cannot be used.
 */
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
      const t = diffs[p].tensors[i];
      const bad = b && isProblem(b) ? { side: 'b' as const, x: b } : a && isProblem(a) ? { side: 'a' as const, x: a } : null;
      if (bad) {
        t.dequant_problem = { side: bad.side, reason: bad.x.problem, non_finite_elements: bad.x.nonFinite };
        return;
      }
      if (!a || !b) return;
      const sa = a as Side;
      const sb = b as Side;
      jobs.push({ a: toRawRef(m.a), b: toRawRef(m.b), epsilon, ...(sa.affine ? { aAffine: sa.affine } : {}), ...(sb.affine ? { bAffine: sb.affine } : {}) });
      targets.push({ t, a: sa, b: sb });
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
      step_sq: a.stepSq + b.stepSq,
    };
  });
}
