/**
 * #2 `--convergence-analysis`: status, stability, action (SPEC section 3, row 2).
 *
 * @module
 */
import type { DiffRun, TrajectoryStep } from '../diff/ModelDiff.js';
import type { Analysis, AnalysisContext, AnalysisLevel, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { globalUpdate } from './globalUpdate.js';
import { healthSignals, type HealthSignal } from './healthSignals.js';
import { jsonNumber } from './jsonNumber.js';
import { pairKind, type PairKind } from './pairKind.js';
import { integerCodedReason, precisionChange } from './precisionChange.js';
import { tensorSets } from './tensorSets.js';

/** Convergence status, first that holds in this order. */
export type ConvergenceStatus = 'diverging' | 'converged' | 'oscillating' | 'stable';

/** The fixed action sentence of each status (and of a precision change). */
export const CONVERGENCE_ACTIONS: Readonly<Record<ConvergenceStatus | 'precision_change', string>> = {
  diverging: 'stop training and resume from the last healthy checkpoint with a lower learning rate or gradient clipping',
  converged: 'updates are negligible: stop training or evaluate, and lower the learning rate only if the loss still improves',
  oscillating: 'consecutive updates point against each other: lower the learning rate (or raise momentum damping / batch size)',
  stable: 'training is moving steadily: continue',
  precision_change: 'a precision change is not a training step: use --quantization-analysis to measure its error',
};

/** Cosine of consecutive updates at one interior checkpoint, pooled over S. */
export interface UpdateCosine {
  /** Input index of the middle checkpoint. */
  at: number;
  /** sum u.v / sqrt(sum |u|^2 sum |v|^2) over the tensors of S; null when an update is zero. */
  cosine: number | null;
  tensors: number;
}

/** Detail of #2. */
export interface ConvergenceDetail {
  pair_kind_reason: string | null;
  /** A pair read as training in which dtypes changed too (trained and cast): the sentence the line adds. */
  pair_kind_note: string | null;
  /** The interval stability and the converged test use: the last consecutive pair. */
  last_interval: { from: number; to: number; R: number | null; var_update: number; var_a: number; var_ratio: number | null; tensors: number };
  signals: HealthSignal[];
  /** Consecutive-update cosines (N >= 3), all of them, oldest first. */
  update_cosines: UpdateCosine[];
  /** The intervals the oscillation test averaged over and the mean. */
  oscillation: { patience: number; used: number; mean_cosine: number | null; note: string };
}

/** Result of #2. */
export interface ConvergenceResult extends AnalysisResult {
  status: ConvergenceStatus | null;
  /** 1 / (1 + Var(D) / Var(A)) on the last interval, in (0, 1]. */
  stability: number | null;
  action: string | null;
  pair_kind: PairKind;
  detail: ConvergenceDetail;
}

/**
 * Pooled cosines of consecutive updates u = x_k - x_{k-1}, v = x_{k+1} - x_k from the diff engine's
 * trajectory, over the tensors of S of both intervals (buffers, counters and aliases excluded).
 */
export function updateCosines(run: DiffRun): UpdateCosine[] {
  if (!run.trajectory) return [];
  return run.trajectory.map((step: TrajectoryStep) => {
    const before = new Set(tensorSets(run.pairs[step.at - 1]).pooled.map((p) => p.name));
    const after = new Set(tensorSets(run.pairs[step.at]).pooled.map((p) => p.name));
    let dot = 0;
    let uu = 0;
    let vv = 0;
    let n = 0;
    for (const t of step.tensors) {
      if (!before.has(t.name) || !after.has(t.name)) continue;
      if (!Number.isFinite(t.dot) || !Number.isFinite(t.uu) || !Number.isFinite(t.vv)) continue;
      dot += t.dot;
      uu += t.uu;
      vv += t.vv;
      n++;
    }
    const cosine = uu > 0 && vv > 0 ? dot / Math.sqrt(uu * vv) : null;
    return { at: step.at, cosine: jsonNumber(cosine), tensors: n };
  });
}

/**
 * #2 `--convergence-analysis`.
 *
 * - stability = 1 / (1 + Var(D) / Var(A)) over S on the last interval (1 = still, near 0 = moving a lot).
 * - status, first that holds: `diverging` (non-finite values new in B, or a weight matrix / embedding with
 *   ||B_t|| / ||A_t|| >= `norm_growth_limit`, on any interval or first -> last); `converged` (R of the last
 *   interval < `converged_magnitude`); `oscillating` (>= 3 checkpoints: the mean pooled cosine of
 *   consecutive updates over the last `convergence_patience` interior checkpoints < `oscillation_cosine`,
 *   -0.2); else `stable`.
 * - action: a fixed sentence per status ({@link CONVERGENCE_ACTIONS}).
 *
 * stability is null when tensors of the last interval were converted to integer codes (S does not cover
 * them). A precision change answers `stable` with its own action (`diverging` if it made values non-finite);
 * a pair trained and cast is answered as training, and the line says a dtype change also happened;
 * a pair that is not a continuation answers null with the reason.
 */
export const convergenceAnalysis: Analysis<ConvergenceResult> = {
  key: 'convergence_analysis',
  needs: { trajectory: true, dequant: true },
  run({ run, config }: AnalysisContext): ConvergenceResult {
    const th = config.thresholds;
    const reasons: Record<string, string> = {};
    const kind = pairKind(run.overall, tensorSets(run.overall), th);
    const last = run.pairs[run.pairs.length - 1];
    const g = globalUpdate(tensorSets(last).pooled);
    const signals = healthSignals(run, th, false);
    const cosines = updateCosines(run);
    const patience = Math.max(1, Math.floor(th.convergence_patience));
    const window = cosines.slice(-patience).filter((c) => c.cosine !== null);
    const meanCos = window.length > 0 ? window.reduce((s, c) => s + c.cosine!, 0) / window.length : null;
    let note: string;
    if (run.inputs.length < 3) note = 'needs 3 or more checkpoints';
    else if (!run.trajectory) note = 'the diff run has no trajectory (consecutive-update dots were not computed)';
    else if (window.length === 0) note = 'no interior checkpoint has two non-zero consecutive updates';
    else note = window.length < patience ? `only ${window.length} of the ${patience} requested intervals available` : `last ${window.length} interior checkpoint(s)`;

    let status: ConvergenceStatus | null = null;
    let stability: number | null = null;
    let action: string | null = null;
    if (kind.kind === 'not_continuation') {
      for (const f of ['status', 'stability', 'action']) reasons[f] = kind.reason!;
    } else if (g.tensors === 0) {
      for (const f of ['status', 'stability', 'action']) reasons[f] = 'no floating-point tensors present in both inputs with equal shape';
    } else {
      const coded = integerCodedReason(precisionChange(last));
      stability = g.varRatio === null || coded !== null ? null : jsonNumber(1 / (1 + g.varRatio));
      if (coded !== null) reasons.stability = coded;
      else if (stability === null) reasons.stability = 'Var(A) is 0 over the compared tensors: the ratio is undefined';
      if (signals.length > 0) status = 'diverging';
      else if (kind.kind === 'precision_change') status = 'stable';
      else if (g.R !== null && g.R < th.converged_magnitude) status = 'converged';
      else if (meanCos !== null && meanCos < th.oscillation_cosine) status = 'oscillating';
      else status = 'stable';
      action = kind.kind === 'precision_change' && status === 'stable' ? CONVERGENCE_ACTIONS.precision_change : CONVERGENCE_ACTIONS[status];
    }
    const level: AnalysisLevel | undefined = status === 'diverging' ? 'CRITICAL' : status === 'oscillating' ? 'WARNING' : undefined;
    return {
      status,
      stability,
      action,
      pair_kind: kind.kind,
      reasons,
      ...(level ? { level } : {}),
      detail: {
        pair_kind_reason: kind.reason,
        pair_kind_note: kind.note,
        last_interval: {
          from: last.from,
          to: last.to,
          R: jsonNumber(g.R),
          var_update: g.varD,
          var_a: g.varA,
          var_ratio: jsonNumber(g.varRatio),
          tensors: g.tensors,
        },
        signals,
        update_cosines: cosines,
        oscillation: { patience, used: window.length, mean_cosine: jsonNumber(meanCos), note },
      },
    };
  },
  format(r: ConvergenceResult): string[] {
    const line = formatFields('convergence_analysis', [['status', r.status], ['stability', r.stability], ['action', r.action]], r.reasons);
    return [r.detail.pair_kind_note ? `${line}; ${r.detail.pair_kind_note}` : line];
  },
};
