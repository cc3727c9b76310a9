/**
 * #26 `--quantization-analysis`: compression, speedup, precision_loss, suitability (+ SQNR, most
 * sensitive layers) (SPEC section 3, row 26).
 *
 * @module
 */
import type { InputInfo, PairDiff, TensorDiff, TensorStats } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { speedDetail, speedModelReason, type SpeedDetail } from './inferenceSpeedEstimate.js';
import { jsonNumber } from './jsonNumber.js';
import { modelBytes } from './modelBytes.js';
import { NON_PARAMETER_ROLES, tensorRole } from '../structure/tensorRole.js';
import { speedModel } from './speedModel.js';

/** `good`, `fair` or `poor`. */
export type Suitability = 'good' | 'fair' | 'poor';

/** One compared tensor. */
export interface QuantTensor {
  tensor: string;
  dtype: [string | null, string | null];
  /** How B (or A) was read: `as stored` (floats, Q8_0 decoded natively) or a dequantization convention. */
  read_as: string;
  count: number;
  /** ||B_dq - A|| / ||A||. */
  rel_l2: number | null;
  /** 10 log10(||A||^2 / ||B_dq - A||^2), dB; null when there is no error. */
  sqnr_db: number | null;
  /** Non-finite values in the dequantized B. */
  non_finite_b: number;
}

/** Result of #26. */
export interface QuantizationResult extends AnalysisResult {
  /** 1 - bytes_B / bytes_A (model tensors, scales included). */
  compression: number | null;
  /** T_A / T_B at batch 1 from the cost model of #8 (> 1: B is faster). */
  speedup: number | null;
  /** ||B_dq - A|| / ||A|| pooled over every compared parameter tensor. */
  precision_loss: number | null;
  suitability: Suitability | null;
  /** 10 log10(sum ||A||^2 / sum ||B_dq - A||^2), dB. */
  sqnr_db: number | null;
  /** The converted tensors with the lowest SQNR (top_k). */
  most_sensitive: { tensor: string; sqnr_db: number | null; rel_l2: number | null }[];
  detail: {
    conversions: string[];
    bytes: { a: number; b: number };
    tensors: QuantTensor[];
    /** Converted tensors whose values could not be read (integer codes without a known convention). */
    not_comparable: { tensor: string; dtype: [string | null, string | null]; reason: string }[];
    non_finite: number;
    thresholds: { good_db: number; fair_db: number };
    speed: SpeedDetail;
  };
}

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/** The values compared for a tensor: dequantized when the engine could, else as stored when both are floats. */
function comparedValues(t: TensorDiff): { diff: PairDiff; a: TensorStats; b: TensorStats; readAs: string } | null {
  if (t.dequant) {
    const enc = t.dequant.encoding.b ?? t.dequant.encoding.a;
    return { diff: t.dequant.diff, a: t.dequant.stats.a, b: t.dequant.stats.b, readAs: enc ? `${enc.convention}${enc.axis === null ? ' (per tensor)' : ` (axis ${enc.axis}, ${enc.channels} channels)`}` : 'as stored' };
  }
  if (!t.diff || !t.stats.a || !t.stats.b) return null;
  if (t.dtype.some((d) => d !== null && DTYPES[d].kind !== 'float')) return null;
  return { diff: t.diff, a: t.stats.a, b: t.stats.b, readAs: 'as stored' };
}

/**
 * #26 on the first -> last pair.
 *
 * - null (every field) with a reason when no tensor changed dtype.
 * - compression = 1 - bytes_B / bytes_A, bytes of the real dtypes of the model tensors (scales, zero
 *   points and Q8_0 block scales included; optimizer state and tied aliases not counted).
 * - precision_loss = sqrt(sum ||B_dq - A||^2 / sum ||A||^2) over every parameter tensor compared (the
 *   dequantized values where B holds integer codes: `TensorDiff.dequant`), SQNR = -20 log10 of it.
 * - speedup = speed_ratio of #8 (same profile, batch 1).
 * - suitability: `poor` when a compared value of B is non-finite, else `good` at SQNR >= 30 dB, `fair`
 *   >= 20 dB, else `poor` (about 6 dB per bit, Widrow and Kollar, Quantization Noise, 2008).
 */
export const quantizationAnalysis: Analysis<QuantizationResult> = {
  key: 'quantization_analysis',
  needs: { dequant: true },
  run({ run, config }: AnalysisContext): QuantizationResult {
    const th = config.thresholds;
    const d = run.overall;
    const A: InputInfo = run.inputs[d.from];
    const B: InputInfo = run.inputs[d.to];
    const m = speedModel(run, config);
    const reasons: Record<string, string> = {};
    const changed = d.tensors.filter((t) => t.status === 'dtype_changed');
    const conversions = [...new Set(changed.map((t) => `${t.dtype[0]} -> ${t.dtype[1]}`))];
    const bytes = { a: modelBytes(A).model, b: modelBytes(B).model };
    const names = new Set(d.tensors.map((t) => t.name));
    const tensors: QuantTensor[] = [];
    const notComparable: QuantizationResult['detail']['not_comparable'] = [];
    let sumA = 0;
    let sumD = 0;
    let nonFinite = 0;
    for (const t of d.tensors) {
      const role = tensorRole(t.name, t.shape[0] ?? t.shape[1] ?? [], names);
      if (NON_PARAMETER_ROLES.has(role) || (t.aliasOf?.[0] ?? null) !== null || (t.aliasOf?.[1] ?? null) !== null) continue;
      if (t.status !== 'changed' && t.status !== 'unchanged' && t.status !== 'dtype_changed') continue;
      const v = comparedValues(t);
      if (!v) {
        if (t.status === 'dtype_changed') notComparable.push({ tensor: t.name, dtype: [t.dtype[0], t.dtype[1]], reason: 'integer codes without a recognised scale / zero-point convention' });
        continue;
      }
      const na = finite(v.a.l2) ** 2;
      const dd = v.diff.diff_sq;
      sumA += na;
      sumD += dd;
      const nf = v.b.nan + v.b.inf;
      nonFinite += nf;
      tensors.push({
        tensor: t.name,
        dtype: [t.dtype[0], t.dtype[1]],
        read_as: v.readAs,
        count: v.a.count,
        rel_l2: na > 0 ? jsonNumber(Math.sqrt(dd / na)) : null,
        sqnr_db: na > 0 && dd > 0 ? jsonNumber(10 * Math.log10(na / dd)) : null,
        non_finite_b: nf,
      });
    }
    let compression: number | null = null;
    let speedup: number | null = null;
    let precisionLoss: number | null = null;
    let sqnr: number | null = null;
    let suitability: Suitability | null = null;
    if (changed.length === 0) {
      for (const f of ['compression', 'speedup', 'precision_loss', 'suitability', 'sqnr_db']) reasons[f] = 'no dtype changed: not a quantization or precision change';
    } else {
      compression = bytes.a > 0 ? jsonNumber(1 - bytes.b / bytes.a) : null;
      if (compression === null) reasons.compression = 'A has no tensor bytes';
      const none = speedModelReason(m);
      speedup = none ? null : jsonNumber(m.comparison.speed_ratio);
      if (speedup === null) reasons.speedup = none ?? 'the modelled time is zero';
      if (notComparable.length > 0) {
        const why = `${notComparable.length} converted tensor${notComparable.length === 1 ? ' has' : 's have'} integer codes without a recognised dequantization convention (e.g. ${notComparable[0].tensor})`;
        for (const f of ['precision_loss', 'sqnr_db', 'suitability']) reasons[f] = why;
      } else if (!(sumA > 0)) {
        for (const f of ['precision_loss', 'sqnr_db', 'suitability']) reasons[f] = 'A is all zeros over the compared tensors';
      } else {
        precisionLoss = jsonNumber(Math.sqrt(sumD / sumA));
        sqnr = sumD > 0 ? jsonNumber(10 * Math.log10(sumA / sumD)) : null;
        if (sumD === 0) reasons.sqnr_db = 'no quantization error: the dequantized B equals A (SQNR infinite)';
        if (nonFinite > 0) suitability = 'poor';
        else if (sqnr === null || sqnr >= th.sqnr_good_db) suitability = 'good';
        else suitability = sqnr >= th.sqnr_fair_db ? 'fair' : 'poor';
      }
    }
    const changedNames = new Set(changed.map((t) => t.name));
    const mostSensitive = tensors
      .filter((t) => changedNames.has(t.tensor))
      .sort((x, y) => (x.sqnr_db ?? Infinity) - (y.sqnr_db ?? Infinity))
      .slice(0, config.output.top_k)
      .map((t) => ({ tensor: t.tensor, sqnr_db: t.sqnr_db, rel_l2: t.rel_l2 }));
    const level: AnalysisLevel | undefined = suitability === 'poor' ? 'WARNING' : undefined;
    return {
      compression,
      speedup,
      precision_loss: precisionLoss,
      suitability,
      sqnr_db: sqnr,
      most_sensitive: changed.length === 0 ? [] : mostSensitive,
      reasons,
      ...(level ? { level } : {}),
      detail: {
        conversions,
        bytes,
        tensors,
        not_comparable: notComparable,
        non_finite: nonFinite,
        thresholds: { good_db: th.sqnr_good_db, fair_db: th.sqnr_fair_db },
        speed: speedDetail(m),
      },
    };
  },
  format(r: QuantizationResult): string[] {
    const sqnr = r.sqnr_db === null ? (r.reasons.sqnr_db ?? null) : `${formatNumber(r.sqnr_db)} dB`;
    let line = formatFields(
      'quantization_analysis',
      [
        ['compression', r.compression],
        ['speedup', r.speedup],
        ['precision_loss', r.precision_loss],
        ['suitability', r.suitability],
      ],
      r.reasons,
    );
    if (r.suitability !== null || r.precision_loss !== null) {
      const sens = r.most_sensitive.map((t) => `${t.tensor} ${t.sqnr_db === null ? 'lossless' : `${formatNumber(t.sqnr_db)} dB`}`).join(', ');
      line += `; SQNR ${sqnr}${sens ? `; most sensitive: ${sens}` : ''}`;
    }
    if (r.speedup !== null) line += `; speedup on ${r.detail.speed.profile.name}: ${r.detail.speed.regime_text}`;
    return [line];
  },
};
