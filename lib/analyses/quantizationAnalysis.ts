/**
 * #26 `--quantization-analysis`: compression, speedup, precision_loss, suitability (+ SQNR, most
 * sensitive layers) (SPEC section 3, row 26).
 *
 * @module
 */
import type { InputInfo, ModelDiff, PairDiff, TensorDiff, TensorEntry, TensorStats } from '../diff/ModelDiff.js';
import { DTYPES } from '../formats/dtype.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { listText, speedDetail, speedModelReason, type SpeedDetail } from './inferenceSpeedEstimate.js';
import { jsonNumber } from './jsonNumber.js';
import { modelBytes } from './modelBytes.js';
import { NON_PARAMETER_ROLES, tensorRole } from '../structure/tensorRole.js';
import { speedModel } from './speedModel.js';
import { QUANT_PARAM_SUFFIXES } from '../quant/quantParamSuffixes.js';

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

/** A tensor left out of compression and precision: not present in both models with one shape. */
export interface ExcludedTensor {
  tensor: string;
  status: 'added' | 'removed' | 'shape_changed';
  /** Stored bytes in A and in B (null where absent). */
  bytes: [number | null, number | null];
}

/** A converted tensor whose values could not be compared. */
export interface NotComparable {
  tensor: string;
  dtype: [string | null, string | null];
  /** Why: the codes have no recognised convention, or the stored scale / zero point cannot be used (`TensorDiff.dequant_problem`). */
  reason: string;
  /** Elements of B whose dequantized value would be non-finite (a NaN / Inf scale or offset); 0 otherwise. */
  non_finite_elements: number;
}

/** Result of #26. */
export interface QuantizationResult extends AnalysisResult {
  /**
   * 1 - bytes_B / bytes_A over the tensors present in both with one shape, plus the scales / zero
   * points / minimums of the converted ones (tied aliases and optimizer state not counted).
   */
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
    /** The bytes compression compares (the tensors present in both, and the quantization parameters of the converted ones). */
    bytes: { a: number; b: number };
    /** Every model tensor of each input (what #7 counts), for reference. */
    model_bytes: { a: number; b: number };
    /** Tensors not present in both with one shape (and not a quantization parameter of a converted tensor): in neither figure. Shape changes first, then removed, then added. */
    excluded: ExcludedTensor[];
    /** Added / removed tensors counted in `bytes` as quantization parameters of a converted tensor. */
    quant_params: string[];
    tensors: QuantTensor[];
    /** Converted tensors whose values could not be read. */
    not_comparable: NotComparable[];
    /** Non-finite values in B: as stored, and as dequantized through a non-finite scale or offset. */
    non_finite: number;
    /** The tensors holding them. */
    non_finite_tensors: string[];
    /**
     * Non-finite values of A among the compared tensors: their positions are left out of precision_loss
     * (an error against NaN is not a number), and the line says so.
     */
    non_finite_a: { values: number; tensors: string[] };
    thresholds: { good_db: number; fair_db: number };
    /** `output.top_k`: names the CLI line lists before `+N more`. */
    top_k: number;
    speed: SpeedDetail;
  };
}

/** SQNR below this magnitude (dB) is rounding of a ratio of two sums that are equal: it is 0. */
const SQNR_ZERO_DB = 1e-12;

function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/**
 * 10 log10(signal / noise) in dB, or null without noise. Signal and noise come from two different
 * accumulations (||A||^2 from the statistics, ||B - A||^2 from the pair), so when B dequantizes to all
 * zeros (noise = signal exactly) the ratio is 1 only to rounding: |SQNR| < 1e-12 dB is 0.
 */
export function sqnrDb(signal: number, noise: number): number | null {
  if (!(noise > 0)) return null;
  const x = 10 * Math.log10(signal / noise);
  return Math.abs(x) < SQNR_ZERO_DB ? 0 : x;
}

/** sqrt(noise / signal), exactly 1 when {@link sqnrDb} is 0 (the two agree: SQNR = -20 log10 of it). */
function relativeError(signal: number, noise: number): number {
  return sqnrDb(signal, noise) === 0 ? 1 : Math.sqrt(noise / signal);
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

/** Names of the quantization parameters of a tensor, by the conventions of `lib/quant/` and torch module attributes (`fc1.scale`). */
function quantParamNames(name: string): string[] {
  const names = QUANT_PARAM_SUFFIXES.map((x) => name + x);
  const dot = name.lastIndexOf('.');
  if (dot > 0) names.push(`${name.slice(0, dot)}.scale`, `${name.slice(0, dot)}.zero_point`);
  return names;
}

function isOptimizer(e: TensorEntry, names: ReadonlySet<string>): boolean {
  return e.role === 'optimizer' || tensorRole(e.name, e.shape, names) === 'optimizer_state';
}

/** The bytes compression compares, and what it leaves out. */
function comparedBytes(d: ModelDiff, A: InputInfo, B: InputInfo): { bytes: { a: number; b: number }; excluded: ExcludedTensor[]; quantParams: string[] } {
  const ea = new Map(A.entries.map((e) => [e.name, e]));
  const eb = new Map(B.entries.map((e) => [e.name, e]));
  const namesA = new Set(ea.keys());
  const namesB = new Set(eb.keys());
  const owned = new Set<string>();
  for (const t of d.tensors) {
    if (t.status !== 'dtype_changed') continue;
    for (const n of quantParamNames(t.name)) owned.add(n);
    for (const side of [t.dequant?.encoding.a, t.dequant?.encoding.b]) for (const n of side?.tensors ?? []) owned.add(n);
  }
  const bytes = { a: 0, b: 0 };
  const excluded: ExcludedTensor[] = [];
  const quantParams: string[] = [];
  for (const t of d.tensors) {
    const a = ea.get(t.name);
    const b = eb.get(t.name);
    if (a?.aliasOf !== undefined || b?.aliasOf !== undefined) continue;
    if ((a && isOptimizer(a, namesA)) || (b && isOptimizer(b, namesB))) continue;
    if (t.status === 'changed' || t.status === 'unchanged' || t.status === 'dtype_changed') {
      bytes.a += a?.bytes ?? 0;
      bytes.b += b?.bytes ?? 0;
    } else if ((t.status === 'added' || t.status === 'removed') && owned.has(t.name)) {
      bytes.a += a?.bytes ?? 0;
      bytes.b += b?.bytes ?? 0;
      quantParams.push(t.name);
    } else {
      excluded.push({ tensor: t.name, status: t.status, bytes: [a?.bytes ?? null, b?.bytes ?? null] });
    }
  }
  // shape changes first: a tensor in both models that was not compared is the likelier surprise
  const rank = { shape_changed: 0, removed: 1, added: 2 };
  excluded.sort((x, y) => rank[x.status] - rank[y.status]);
  return { bytes, excluded, quantParams };
}

const NO_CONVENTION = 'integer codes without a recognised scale / zero-point convention';

const STATUS_TEXT: Record<ExcludedTensor['status'], string> = { added: 'added', removed: 'removed', shape_changed: 'shape changed' };

/**
 * #26 on the first -> last pair.
 *
 * - null (every field) with a reason when no tensor changed dtype.
 * - compression = 1 - bytes_B / bytes_A like with like: over the tensors present in both with one shape
 *   (real dtypes), plus the scales, zero points and minimums that belong to the converted tensors (added
 *   or removed with them; Q8_0 block scales are inside its bytes). Tensors added, removed (other than
 *   those) or changed in shape are in neither figure and listed in `detail.excluded`.
 * - precision_loss = sqrt(sum ||B_dq - A||^2 / sum ||A||^2) over every parameter tensor compared (the
 *   dequantized values where B holds integer codes: `TensorDiff.dequant`), SQNR = 10 log10 of the
 *   inverse ratio (0 dB, precision_loss 1, when B dequantizes to all zeros).
 * - speedup = speed_ratio of #8 (same profile, batch 1).
 * - suitability: `poor` when a value of B is non-finite (as stored, or as dequantized through a NaN / Inf
 *   scale or offset: `TensorDiff.dequant_problem`), else `good` at SQNR >= 30 dB, `fair` >= 20 dB, else
 *   `poor` (about 6 dB per bit, Widrow and Kollar, Quantization Noise, 2008).
 * - A converted tensor that cannot be read (no recognised convention, or a scale of an integer dtype or
 *   of the wrong length) makes precision_loss, sqnr_db and suitability null, with its name and problem.
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
    const { bytes, excluded, quantParams } = comparedBytes(d, A, B);
    const names = new Set(d.tensors.map((t) => t.name));
    const tensors: QuantTensor[] = [];
    const notComparable: NotComparable[] = [];
    let sumA = 0;
    let sumD = 0;
    let nonFinite = 0;
    const nonFiniteB: string[] = [];
    let nonFiniteA = 0;
    const nonFiniteATensors: string[] = [];
    for (const t of d.tensors) {
      const role = tensorRole(t.name, t.shape[0] ?? t.shape[1] ?? [], names);
      if (NON_PARAMETER_ROLES.has(role) || (t.aliasOf?.[0] ?? null) !== null || (t.aliasOf?.[1] ?? null) !== null) continue;
      if (t.status !== 'changed' && t.status !== 'unchanged' && t.status !== 'dtype_changed') continue;
      const v = comparedValues(t);
      if (!v) {
        const p = t.dequant_problem;
        if (t.status === 'dtype_changed' || p) {
          const nf = p && p.side === 'b' ? p.non_finite_elements : 0;
          nonFinite += nf;
          if (nf > 0) nonFiniteB.push(t.name);
          notComparable.push({ tensor: t.name, dtype: [t.dtype[0], t.dtype[1]], reason: p ? p.reason : NO_CONVENTION, non_finite_elements: nf });
        }
        continue;
      }
      const na = finite(v.a.l2) ** 2;
      const dd = v.diff.diff_sq;
      sumA += na;
      sumD += dd;
      const nf = v.b.nan + v.b.inf;
      nonFinite += nf;
      if (nf > 0) nonFiniteB.push(t.name);
      const nfa = v.a.nan + v.a.inf;
      if (nfa > 0) {
        nonFiniteA += nfa;
        nonFiniteATensors.push(t.name);
      }
      tensors.push({
        tensor: t.name,
        dtype: [t.dtype[0], t.dtype[1]],
        read_as: v.readAs,
        count: v.a.count,
        rel_l2: na > 0 ? jsonNumber(relativeError(na, dd)) : null,
        sqnr_db: na > 0 ? jsonNumber(sqnrDb(na, dd)) : null,
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
      if (compression === null) reasons.compression = 'A has no tensor bytes present in B with the same shape';
      const none = speedModelReason(m);
      speedup = none ? null : jsonNumber(m.comparison.speed_ratio);
      if (speedup === null) reasons.speedup = none ?? 'the modelled time is zero';
      const broken = notComparable.filter((x) => x.non_finite_elements > 0);
      const more = (list: readonly NotComparable[]) => (list.length > 1 ? ` (and ${list.length - 1} more converted tensor${list.length === 2 ? '' : 's'} not comparable)` : '');
      if (notComparable.length > 0) {
        // name a stored scale that cannot be used first: it is what a user can fix
        const first = broken[0] ?? notComparable.find((x) => x.reason !== NO_CONVENTION) ?? notComparable[0];
        const why = first.reason !== NO_CONVENTION ? `${first.tensor} cannot be dequantized: ${first.reason}${more(notComparable)}` : `${notComparable.length} converted tensor${notComparable.length === 1 ? ' has' : 's have'} integer codes without a recognised dequantization convention (e.g. ${first.tensor})`;
        for (const f of ['precision_loss', 'sqnr_db']) reasons[f] = why;
        // a non-finite value of B is poor whatever the rest measures (SPEC #26)
        if (broken.length > 0) suitability = 'poor';
        else reasons.suitability = why;
      } else if (!(sumA > 0)) {
        for (const f of ['precision_loss', 'sqnr_db', 'suitability']) reasons[f] = 'A is all zeros over the compared tensors';
      } else {
        precisionLoss = jsonNumber(relativeError(sumA, sumD));
        sqnr = jsonNumber(sqnrDb(sumA, sumD));
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
        model_bytes: { a: modelBytes(A).model, b: modelBytes(B).model },
        excluded,
        quant_params: quantParams,
        tensors,
        not_comparable: notComparable,
        non_finite: nonFinite,
        non_finite_tensors: nonFiniteB,
        non_finite_a: { values: nonFiniteA, tensors: nonFiniteATensors },
        thresholds: { good_db: th.sqnr_good_db, fair_db: th.sqnr_fair_db },
        top_k: config.output.top_k,
        speed: speedDetail(m),
      },
    };
  },
  format(r: QuantizationResult): string[] {
    const k = r.detail.top_k;
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
    const where = (names: readonly string[]) => (names.length > 0 ? ` (${listText([...names], k)})` : '');
    if (r.suitability === 'poor' && r.detail.non_finite > 0) {
      // say what made it poor: non-finite values of B, whatever the SQNR of the rest
      line += `; poor because B has ${r.detail.non_finite} non-finite value${r.detail.non_finite === 1 ? '' : 's'}${r.precision_loss === null ? ' once dequantized' : ''}${where(r.detail.non_finite_tensors)}`;
    }
    if (r.detail.non_finite_a.values > 0) {
      line += `; A has ${r.detail.non_finite_a.values} non-finite value${r.detail.non_finite_a.values === 1 ? '' : 's'}${where(r.detail.non_finite_a.tensors)}: precision_loss covers the positions finite in both`;
    }
    if (r.precision_loss !== null) {
      line += `; SQNR ${r.sqnr_db === null ? 'infinite (lossless)' : `${formatNumber(r.sqnr_db)} dB`}`;
      const sens = r.most_sensitive.map((t) => `${t.tensor} ${t.sqnr_db === null ? 'lossless' : `${formatNumber(t.sqnr_db)} dB`}`);
      if (sens.length > 0) line += `; most sensitive: ${listText(sens, k)}`;
    }
    if (r.compression !== null && r.detail.excluded.length > 0) {
      const n = r.detail.excluded.length;
      line += `; ${n} tensor${n === 1 ? '' : 's'} not compared: ${listText(
        r.detail.excluded.map((x) => `${x.tensor} (${STATUS_TEXT[x.status]})`),
        k,
      )}`;
    }
    if (r.speedup !== null && r.detail.speed.regime_text !== null) line += `; speedup on ${r.detail.speed.profile.name}: ${r.detail.speed.regime_text}`;
    return [line];
  },
};
