/**
 * The two pair kinds recognised before any training analysis (SPEC section 3).
 *
 * @module
 */
import type { Thresholds } from '../config/Config.js';
import type { ModelDiff } from '../diff/ModelDiff.js';
import { formatNumber } from './formatNumber.js';
import { notContinuation, type Continuation } from './notContinuation.js';
import { dtypeChangeNote, precisionChange, type PrecisionChange } from './precisionChange.js';
import type { TensorSets } from './tensorSets.js';

/** `training` (an ordinary pair), `precision_change` or `not_continuation`. */
export type PairKind = 'training' | 'precision_change' | 'not_continuation';

/** A pair's kind, the evidence, and the sentence the training analyses give as their reason. */
export interface PairKindResult {
  kind: PairKind;
  precision: PrecisionChange;
  continuation: Continuation;
  /** Why a training analysis cannot read this pair as a training step; null for `training`. */
  reason: string | null;
  /**
   * For a pair read as training (or not a continuation) in which dtypes changed too: the sentence the
   * training analyses add (`a dtype change also happened (F32 -> F16 on 6 tensors), but ...: a training
   * step and a cast`); null otherwise.
   */
  note: string | null;
}

/**
 * Classifies a pair: a precision change ({@link precisionChange}: every change is a conversion whose
 * error is within what the conversion can cause) first, then not a continuation ({@link notContinuation}),
 * else training. A pair trained and cast to another dtype is training, with the cast in `note`.
 */
export function pairKind(diff: ModelDiff, sets: TensorSets, th: Thresholds): PairKindResult {
  const precision = precisionChange(diff);
  const continuation = notContinuation(sets, th);
  if (precision.isPrecisionChange) {
    const what = precision.conversions.join(', ');
    return {
      kind: 'precision_change',
      precision,
      continuation,
      reason: `precision change (${what} on ${precision.tensors} tensor${precision.tensors === 1 ? '' : 's'}), not a training step`,
      note: null,
    };
  }
  if (continuation.notContinuation) {
    const pct = formatNumber(100 * continuation.share!);
    return {
      kind: 'not_continuation',
      precision,
      continuation,
      reason: `not a continuation: ${pct} % of the changed parameters were re-initialised`,
      note: dtypeChangeNote(precision),
    };
  }
  return { kind: 'training', precision, continuation, reason: null, note: dtypeChangeNote(precision) };
}
