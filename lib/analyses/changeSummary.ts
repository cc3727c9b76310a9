/**
 * #28 `--change-summary`: layers_changed, magnitude, patterns, most_changed (SPEC section 3, row 28).
 *
 * @module
 */
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { globalUpdate } from './globalUpdate.js';
import { jsonNumber } from './jsonNumber.js';
import { dtypeChangeNote, integerCodedReason, precisionChange } from './precisionChange.js';
import { tensorSets, type ApartTensor } from './tensorSets.js';
import { classifyUpdate, UPDATE_PATTERNS, type UpdateClassification, type UpdatePattern } from './updatePattern.js';

/** A tensor in `most_changed`. */
export interface MostChanged {
  tensor: string;
  rel_l2: number;
  pattern: UpdatePattern;
}

/** A tensor that moved from an all-zero A (infinite rel_l2). */
export interface MovedFromZero {
  tensor: string;
  /** ||B_t||. */
  norm_b: number;
  pattern: UpdatePattern;
}

/** Per-tensor classification in the detail (JSON-safe: undefined figures are null). */
export type TensorPatternDetail = UpdateClassification;

/** Result of #28. */
export interface ChangeSummaryResult extends AnalysisResult {
  /** Tensors present in both inputs whose values, dtype or shape changed (epsilon applied). */
  layers_changed: number;
  /** R of the first against the last input. */
  magnitude: number | null;
  /** Distinct update patterns found, in SPEC order. */
  patterns: UpdatePattern[];
  /** Top `output.top_k` tensors of S by rel_l2 (finite). */
  most_changed: MostChanged[];
  moved_from_zero: MovedFromZero[];
  detail: {
    from: number;
    to: number;
    top_k: number;
    /** Tensors and parameters per pattern. */
    pattern_counts: Partial<Record<UpdatePattern, { tensors: number; params: number }>>;
    per_tensor: TensorPatternDetail[];
    /** Changed tensors kept out of S (counters, buffers ...), with their own rel_l2. */
    apart_changed: ApartTensor[];
    structural: { added: number; removed: number; shape_changed: number };
    /** A pair trained and cast (or trained beside a cast): the sentence the line adds; null otherwise. */
    pair_kind_note: string | null;
  };
}

/**
 * #28 on the first -> last diff.
 *
 * - layers_changed = tensors present in both whose status is changed, dtype_changed or shape_changed
 *   (values compared with `--epsilon`), counters and buffers included (they are listed apart in the detail).
 * - magnitude = R over S; null when tensors were converted to integer codes, which S does not cover.
 * - patterns = the distinct per-tensor update patterns ({@link classifyUpdate}) over the changed tensors of S,
 *   and `precision_change` for tensors converted to integer codes whose dequantized values are within
 *   the conversion's bound (`castCheck`).
 * - most_changed = the top `output.top_k` tensors of S by rel_l2; tensors that moved from an all-zero A
 *   (infinite rel_l2) are listed apart in `moved_from_zero`.
 */
export const changeSummary: Analysis<ChangeSummaryResult> = {
  key: 'change_summary',
  needs: { lowRank: true, dequant: true },
  run({ run, config }: AnalysisContext): ChangeSummaryResult {
    const th = config.thresholds;
    const d = run.overall;
    const sets = tensorSets(d);
    const g = globalUpdate(sets.pooled);
    const reasons: Record<string, string> = {};
    const layersChanged = d.tensors.filter((t) => t.status === 'changed' || t.status === 'dtype_changed' || t.status === 'shape_changed').length;
    const perTensor: UpdateClassification[] = [];
    const counts: ChangeSummaryResult['detail']['pattern_counts'] = {};
    const mostChanged: MostChanged[] = [];
    const fromZero: MovedFromZero[] = [];
    for (const p of sets.pooled) {
      const c = classifyUpdate(p, th);
      if (!c) continue;
      perTensor.push({
        ...c,
        r: jsonNumber(c.r),
        growth: jsonNumber(c.growth),
        cosine: jsonNumber(c.cosine),
        scale: jsonNumber(c.scale),
        rescale_residual: jsonNumber(c.rescale_residual),
        low_rank_energy: jsonNumber(c.low_rank_energy),
      });
      const e = (counts[c.pattern] ??= { tensors: 0, params: 0 });
      e.tensors++;
      e.params += c.count;
      if (p.fromZero) fromZero.push({ tensor: p.name, norm_b: p.normB, pattern: c.pattern });
      else if (p.r !== null && Number.isFinite(p.r)) mostChanged.push({ tensor: p.name, rel_l2: p.tensor.diff!.rel_l2, pattern: c.pattern });
    }
    mostChanged.sort((x, y) => y.rel_l2 - x.rel_l2);
    const precision = precisionChange(d);
    // Tensors converted to integer codes are outside S; those whose dequantized values are within the
    // conversion's bound are a precision change all the same (the int8 copy of a model).
    const codedNames = new Set(precision.integerCoded);
    const codedCast = new Set(precision.checks.filter((c) => c.consistent === true && codedNames.has(c.tensor)).map((c) => c.tensor));
    for (const t of d.tensors) {
      if (!codedCast.has(t.name)) continue;
      const e = (counts.precision_change ??= { tensors: 0, params: 0 });
      e.tensors++;
      e.params += t.stats.b?.count ?? 0;
    }
    const coded = integerCodedReason(precision);
    const magnitude = coded === null ? jsonNumber(g.R) : null;
    if (coded !== null) reasons.magnitude = coded;
    else if (magnitude === null) {
      reasons.magnitude =
        g.tensors === 0 ? 'no floating-point tensors present in both inputs with equal shape' : 'A is all zeros over the compared tensors: R is undefined';
    }
    const summary = d.summary;
    return {
      layers_changed: layersChanged,
      magnitude,
      patterns: UPDATE_PATTERNS.filter((p) => counts[p] !== undefined),
      most_changed: mostChanged.slice(0, config.output.top_k).map((m) => ({ ...m, rel_l2: m.rel_l2 })),
      moved_from_zero: fromZero,
      reasons,
      detail: {
        from: d.from,
        to: d.to,
        top_k: config.output.top_k,
        pattern_counts: counts,
        per_tensor: perTensor,
        apart_changed: sets.apart.filter((a) => a.status !== 'unchanged'),
        structural: { added: summary.added, removed: summary.removed, shape_changed: summary.shape_changed },
        pair_kind_note: dtypeChangeNote(precision),
      },
    };
  },
  format(r: ChangeSummaryResult): string[] {
    const most = r.most_changed.map((m) => `${m.tensor}=${formatNumber(m.rel_l2)}`).join(', ');
    let line = formatFields(
      'change_summary',
      [
        ['layers_changed', r.layers_changed],
        ['magnitude', r.magnitude],
        ['patterns', `[${r.patterns.join(', ')}]`],
        ['most_changed', `[${most}]`],
      ],
      r.reasons,
    );
    if (r.moved_from_zero.length > 0) {
      const names = r.moved_from_zero.slice(0, r.detail.top_k).map((m) => m.tensor);
      const more = r.moved_from_zero.length - names.length;
      line += `; moved from zero: ${names.join(', ')}${more > 0 ? `, +${more} more` : ''}`;
    }
    if (r.detail.pair_kind_note) line += `; ${r.detail.pair_kind_note}`;
    return [line];
  },
};
