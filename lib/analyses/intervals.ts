/**
 * Checkpoint positions from step / epoch metadata, to normalise step sizes by the interval.
 *
 * @module
 */
import type { InputInfo } from '../diff/ModelDiff.js';

/** The training position of each checkpoint and the intervals between consecutive ones. */
export interface CheckpointIntervals {
  /** `step` or `epoch` when every input states one and they increase strictly; else null. */
  unit: 'step' | 'epoch' | null;
  /** Position of each input in `unit`; null when intervals are assumed equal. */
  positions: number[] | null;
  /** Interval k = position[k+1] - position[k]; all 1 when assumed equal. */
  intervals: number[];
  /** True when no usable metadata was found and every interval counts as 1. */
  assumedEqual: boolean;
  /** How the intervals were obtained, in words (for the detail). */
  note: string;
}

const KEYS: Record<'step' | 'epoch', string[]> = { step: ['step', 'global_step'], epoch: ['epoch'] };

/** A number, or a string holding one (safetensors `__metadata__` values are strings). */
function numeric(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

function positionOf(metadata: Record<string, unknown>, unit: 'step' | 'epoch'): number | null {
  for (const key of KEYS[unit]) {
    const x = numeric(metadata[key]);
    if (x !== null) return x;
  }
  return null;
}

/**
 * Reads each input's training position from its metadata: `step` (or `global_step`) when every input
 * has one, else `epoch` when every input has one, as numbers or numeric strings (safetensors
 * `__metadata__` such as `{"step": "100"}`; PyTorch checkpoint scalars). The positions must increase
 * strictly in input order. Otherwise every interval counts as 1 (assumed equal) and `note` says why.
 * File names are never read.
 */
export function checkpointIntervals(inputs: readonly InputInfo[]): CheckpointIntervals {
  const equal = (note: string): CheckpointIntervals => ({
    unit: null,
    positions: null,
    intervals: inputs.slice(1).map(() => 1),
    assumedEqual: true,
    note,
  });
  const problems: string[] = [];
  for (const unit of ['step', 'epoch'] as const) {
    const pos = inputs.map((i) => positionOf(i.metadata, unit));
    const missing = pos.findIndex((x) => x === null);
    if (missing >= 0) {
      if (pos.some((x) => x !== null)) problems.push(`${unit} metadata missing on ${inputs[missing].path}`);
      continue;
    }
    const positions = pos as number[];
    const bad = positions.findIndex((x, k) => k > 0 && !(x > positions[k - 1]));
    if (bad > 0) {
      problems.push(`${unit} metadata does not increase (${positions[bad - 1]} then ${positions[bad]})`);
      continue;
    }
    return {
      unit,
      positions,
      intervals: positions.slice(1).map((x, k) => x - positions[k]),
      assumedEqual: false,
      note: `intervals from ${unit} metadata: ${positions.join(', ')}`,
    };
  }
  const why = problems.length > 0 ? problems.join('; ') : 'no step or epoch metadata';
  return equal(`${why}: intervals are assumed equal`);
}

/**
 * A warning when the inputs are not in training order by their own metadata: every input states a
 * `step` (or `global_step`) or `epoch`, and the values decrease somewhere in the order given (a shell glob
 * sorts `ckpt_1000` before `ckpt_200`). Null when the order agrees or cannot be told.
 */
export function inputOrderWarning(inputs: readonly InputInfo[]): string | null {
  if (inputs.length < 2) return null;
  for (const unit of ['step', 'epoch'] as const) {
    const pos = inputs.map((i) => positionOf(i.metadata, unit));
    if (pos.some((x) => x === null)) continue;
    const positions = pos as number[];
    // Equal positions are not a reversal (two candidates from the same step, or a file against itself).
    const bad = positions.findIndex((x, k) => k > 0 && x < positions[k - 1]);
    if (bad <= 0) return null;
    return (
      `the inputs are not in training order by their ${unit} metadata (${positions.join(', ')}): ` +
      `diffai reads them in the order given, oldest first, so A -> B and every trajectory analysis run backwards where ${unit}s decrease`
    );
  }
  return null;
}
