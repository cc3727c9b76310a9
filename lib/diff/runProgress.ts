/**
 * Progress of a whole diff run as one total: the phases the run will go through (the statistics pass,
 * then the extra work analyses asked for) each get a share of the total, sized by the bytes they are
 * expected to read, and every phase's own reports are placed inside its share. The reported
 * `bytesDone` never decreases, so a progress bar fed with them never goes back, and one rate (bytes per
 * second over the run) gives the ETA of the whole run.
 *
 * @module
 */
import type { DiffProgress } from './diffModels.js';

/** A phase of a run and the bytes it is expected to read (its share of the run's total). */
export interface PhaseEstimate {
  phase: DiffProgress['phase'];
  bytes: number;
}

/**
 * Maps phase-local progress reports (`bytesDone` / `bytesTotal` of the phase alone) onto the run's
 * total. Phases must report in the planned order; a report of a phase that is not planned is shown
 * with a share of 0 (the bar holds still through it), and a late report of an earlier phase is dropped.
 */
export class RunProgress {
  private readonly phases: PhaseEstimate[];
  /** Index of the phase being reported, and the largest fraction of it reported so far. */
  private current = -1;
  private fraction = 0;

  constructor(
    private readonly sink: (p: DiffProgress) => void,
    phases: readonly PhaseEstimate[],
  ) {
    this.phases = phases.map((p) => ({ phase: p.phase, bytes: Math.max(0, p.bytes) }));
  }

  /** Bytes of every phase together (the run's `bytesTotal`). */
  get total(): number {
    let t = 0;
    for (const p of this.phases) t += p.bytes;
    return t;
  }

  /**
   * Changes the estimate of a phase that has not started (e.g. once the statistics pass says which
   * tensors changed). Lowering it only moves the bar forward; raising it could move it back, so a
   * higher estimate is ignored.
   */
  revise(phase: DiffProgress['phase'], bytes: number): void {
    const i = this.phases.findIndex((p) => p.phase === phase);
    if (i > this.current && bytes >= 0 && bytes < this.phases[i].bytes) this.phases[i].bytes = bytes;
  }

  /** Takes a phase-local report and passes the run's progress on. */
  readonly report = (p: DiffProgress): void => {
    let i = this.phases.findIndex((q, k) => q.phase === p.phase && k >= this.current);
    if (i < 0) {
      if (this.phases.some((q) => q.phase === p.phase)) return; // a late report of an earlier phase
      this.phases.push({ phase: p.phase, bytes: 0 });
      i = this.phases.length - 1;
    }
    if (i !== this.current) {
      this.current = i;
      this.fraction = 0;
    }
    const f = p.bytesTotal > 0 ? Math.min(1, Math.max(0, p.bytesDone / p.bytesTotal)) : 0;
    this.fraction = Math.max(this.fraction, f);
    let before = 0;
    for (let k = 0; k < i; k++) before += this.phases[k].bytes;
    const out: DiffProgress = { phase: p.phase, bytesDone: before + this.phases[i].bytes * this.fraction, bytesTotal: this.total };
    if (p.tensorsDone !== undefined) out.tensorsDone = p.tensorsDone;
    if (p.tensorsTotal !== undefined) out.tensorsTotal = p.tensorsTotal;
    this.sink(out);
  };
}

/** What {@link estimatePhases} needs to know about a run. */
export interface RunShape {
  /** Bytes each model's tensors take (by model index). */
  modelBytes: readonly number[];
  /** Per pair: the input bytes of its statistics pass (both sides of every matched tensor). */
  statsBytes: number;
  /** Bytes of the float weight matrices, once per (model, tensor) (unit norms, spectral, histograms). */
  weightBytes: number;
  /** Both sides of the float matrix pairs that differ (the low-rank test reads them 4 times at most). */
  changedMatrixBytes: number;
  /** Both sides of the pairs with a side stored as integer codes (the dequantized comparison). */
  codedPairBytes: number;
}

/**
 * The phases a run goes through, in order, with the bytes each is expected to read: the statistics
 * pass exactly, one pass over the weight matrices for unit norms and histograms, 4 passes over the
 * changed matrix pairs for the low-rank test (its upper bound), `spectralSteps` passes over the weight
 * matrices for the spectral step, 3 models per trajectory step. Needs without a phase here add none.
 */
export function estimatePhases(
  shape: RunShape,
  needs: { unitNorms?: boolean; trajectory?: boolean; lowRank?: boolean; spectral?: boolean; histograms?: boolean; dequant?: boolean },
  spectralSteps: number,
): PhaseEstimate[] {
  const out: PhaseEstimate[] = [{ phase: 'stats', bytes: shape.statsBytes }];
  if (needs.unitNorms) out.push({ phase: 'unit_norms', bytes: shape.weightBytes });
  const n = shape.modelBytes.length;
  if (needs.trajectory && n >= 3) {
    let b = 0;
    for (let k = 1; k + 1 < n; k++) b += shape.modelBytes[k - 1] + shape.modelBytes[k] + shape.modelBytes[k + 1];
    out.push({ phase: 'trajectory', bytes: b });
  }
  if (needs.lowRank) out.push({ phase: 'low_rank', bytes: 4 * shape.changedMatrixBytes });
  if (needs.spectral) out.push({ phase: 'spectral', bytes: spectralSteps * shape.weightBytes });
  if (needs.histograms) out.push({ phase: 'histograms', bytes: shape.weightBytes });
  if (needs.dequant) out.push({ phase: 'dequant', bytes: shape.codedPairBytes });
  return out;
}
