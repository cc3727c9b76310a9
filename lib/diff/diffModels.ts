/**
 * The diff engine: matches tensors of N >= 2 models, plans all native work in few calls, and builds
 * the {@link DiffRun} every analysis and formatter reads.
 *
 * @module
 */
import type { AnalysisNeeds } from '../analyses/Analysis.js';
import { DiffaiError } from '../errors.js';
import { openModel } from '../formats/openModel.js';
import type { ModelFile, TensorDescriptor } from '../formats/TensorDescriptor.js';
import { PAIR_WIDTH, STATS_WIDTH, type RawAbortHandle, type RawAddon, type RawTensorRef, type RawWorkOptions } from '../native/AddonTypes.js';
import { addon } from '../native/loadAddon.js';
import { computeDequant } from './computeDequant.js';
import { computeHistograms } from './computeHistograms.js';
import { computeSpectral } from './computeSpectral.js';
import { lowRankEnergy, lowRankTestRank } from './lowRankEnergy.js';
import { tensorEntries } from './tensorEntries.js';
import { isComparable, kindOf, matchTensors, type TensorMatch } from './matchTensors.js';
import type { DiffRun, DiffSummary, InputInfo, ModelDiff, TensorDiff, TrajectoryStep } from './ModelDiff.js';
import { weightTensors } from './modelSteps.js';
import { PackedJobTable } from './PackedJobTable.js';
import { pairDiffFromRecord, statsFromRecord } from './records.js';
import { estimatePhases, RunProgress, type RunShape } from './runProgress.js';
import { SPECTRAL_EXPECTED_ITERATIONS } from './spectralNorm.js';
import { byteLengthOfSource, toRawRef } from './toRawRef.js';
import { layoutOf, unitViewOf } from './unitAxis.js';

/**
 * Progress of a diff, reported to {@link DiffOptions.onProgress}. `bytesDone` / `bytesTotal` count the
 * whole run: every phase it will go through has a share of the total sized by the bytes it is
 * expected to read (exact for the statistics pass; for the spectral step, which iterates, an estimate
 * of its steps), and each phase's progress is placed inside its share (`lib/diff/runProgress.ts`).
 * `bytesDone` never decreases; `bytesTotal` can only shrink (when a phase turns out smaller than
 * planned).
 */
export interface DiffProgress {
  /** What is running: `stats` (the diff itself), then the extra work analyses asked for. */
  phase: 'stats' | 'unit_norms' | 'trajectory' | 'low_rank' | 'spectral' | 'histograms' | 'dequant';
  bytesDone: number;
  bytesTotal: number;
  /**
   * `stats` phase only: tensors finished, estimated from `bytesDone` (the tensors whose bytes lie
   * below it in plan order: work is handed to the threads in that order, so the estimate trails the
   * truth by at most the tensors in flight), and the number of tensors the phase reads.
   */
  tensorsDone?: number;
  tensorsTotal?: number;
}

/** Options of {@link diffModels}. */
export interface DiffOptions {
  /** Values differ when |B - A| > epsilon. Default 0 (exact; -0 equals +0, NaN equals NaN). */
  epsilon?: number;
  /** Keep only tensors whose name contains this substring (`--path`). */
  path?: string;
  /** Drop tensors whose name matches (`--ignore-keys-regex`). */
  ignoreKeysRegex?: RegExp;
  /** Extra work the requested analyses need. */
  needs?: AnalysisNeeds;
  /** Called with progress while native work runs (throttled by the addon to about every 50 ms). */
  onProgress?: (progress: DiffProgress) => void;
  /** Aborts the native workers; the promise then rejects with `ERR_ABORTED`. */
  signal?: AbortSignal;
}

interface PairPlan {
  from: number;
  to: number;
  matches: TensorMatch[];
}

/**
 * Diffs N >= 2 opened models: every consecutive pair, and the first against the last.
 *
 * All statistics are computed natively in one fused pass per matched tensor pair (stats of A, of B and
 * the pair values together); tensors on one side only, or with a changed shape, get their statistics
 * alone.
 *
 * @throws DiffaiError `ERR_USAGE` with fewer than 2 models, `ERR_ABORTED` when aborted, or a native
 *   range / file error naming the file.
 */
export async function diffModels(models: readonly ModelFile[], options: DiffOptions = {}): Promise<DiffRun> {
  if (models.length < 2) throw new DiffaiError('ERR_USAGE', `diff needs at least 2 models, got ${models.length}`);
  const epsilon = options.epsilon ?? 0;
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new DiffaiError('ERR_USAGE', `epsilon must be a finite number >= 0, got ${epsilon}`);
  const native = addon();
  const keep = (name: string) =>
    (options.path === undefined || name.includes(options.path)) && !(options.ignoreKeysRegex?.test(name) ?? false);

  const inputs: InputInfo[] = models.map((m) => inputInfo(m));
  const plans: PairPlan[] = [];
  for (let k = 0; k + 1 < models.length; k++) plans.push({ from: k, to: k + 1, matches: matchTensors(models[k], models[k + 1], keep) });
  if (models.length > 2) {
    plans.push({ from: 0, to: models.length - 1, matches: matchTensors(models[0], models[models.length - 1], keep) });
  }

  const needs = options.needs ?? {};
  // One progress total for the whole run: each phase reports its own bytes, placed in its share.
  const progress = options.onProgress ? new RunProgress(options.onProgress, estimatePhases(runShape(models, plans), needs, SPECTRAL_EXPECTED_ITERATIONS)) : undefined;
  const opts: DiffOptions = progress ? { ...options, onProgress: progress.report } : options;
  const abort = linkAbort(native, options.signal);
  try {
    const diffs = await computeDiffs(native, plans, epsilon, opts, abort);
    const pairs = diffs.slice(0, models.length - 1);
    const overall = models.length > 2 ? diffs[diffs.length - 1] : pairs[0];
    const run: DiffRun = { inputs, pairs, overall };
    if (needs.unitNorms) await computeUnitNorms(native, models, plans, diffs, opts, abort);
    if (needs.trajectory && models.length >= 3) run.trajectory = await computeTrajectory(native, models, keep, opts, abort);
    if (needs.lowRank) {
      progress?.revise('low_rank', 4 * lowRankTargets(plans, diffs).reduce((s, x) => s + x.bytes, 0));
      await computeLowRank(native, plans, diffs, opts, abort);
    }
    if (needs.spectral) await computeSpectral(native, models, plans, diffs, workOptions('spectral', opts, abort));
    if (needs.histograms) await computeHistograms(native, models, plans, diffs, workOptions('histograms', opts, abort));
    if (needs.dequant) await computeDequant(native, models, plans, diffs, epsilon, workOptions('dequant', opts, abort));
    return run;
  } finally {
    abort?.dispose();
  }
}

/**
 * Opens the files, diffs them and closes them again.
 *
 * @param paths - two or more model files (any supported format), oldest first.
 * @throws DiffaiError as {@link openModel} and {@link diffModels}.
 */
export async function diffFiles(paths: readonly string[], options: DiffOptions = {}): Promise<DiffRun> {
  const models: ModelFile[] = [];
  try {
    for (const p of paths) models.push(await openModel(p));
    return await diffModels(models, options);
  } finally {
    for (const m of models) m.close();
  }
}

function inputInfo(m: ModelFile): InputInfo {
  let params = 0;
  for (const t of m.tensors) if (t.aliasOf === undefined) params += t.count;
  return {
    path: m.path,
    format: m.format,
    tensors: m.tensors.length,
    params,
    bytes: m.bytes,
    metadata: { ...m.metadata },
    orderIsDepth: m.orderIsDepth,
    order: m.tensors.map((t) => t.name),
    entries: tensorEntries(m),
  };
}

/** The sizes {@link estimatePhases} plans a run's progress with. */
function runShape(models: readonly ModelFile[], plans: readonly PairPlan[]): RunShape {
  let statsBytes = 0;
  let changedMatrixBytes = 0;
  let codedPairBytes = 0;
  for (const plan of plans) {
    for (const m of plan.matches) {
      const a = m.a ? byteLengthOfSource(m.a) : 0;
      const b = m.b ? byteLengthOfSource(m.b) : 0;
      statsBytes += a + b;
      if (!isComparable(m)) continue;
      if (kindOf(m) === 'float' && m.a!.shape.length >= 2 && lowRankTestRank(m.a!.shape[0], m.a!.count / m.a!.shape[0]) >= 1) changedMatrixBytes += a + b;
      if (kindOfDescriptor(m.a!) !== 'float' || kindOfDescriptor(m.b!) !== 'float') codedPairBytes += a + b;
    }
  }
  let weightBytes = 0;
  for (const w of weightTensors(models, plans).list) weightBytes += byteLengthOfSource(w.t);
  return { modelBytes: models.map((m) => m.bytes), statsBytes, weightBytes, changedMatrixBytes, codedPairBytes };
}

interface LinkedAbort {
  handle: RawAbortHandle;
  dispose(): void;
}

function linkAbort(native: RawAddon, signal: AbortSignal | undefined): LinkedAbort | undefined {
  if (!signal) return undefined;
  const handle = native.createAbortHandle();
  if (signal.aborted) handle.abort();
  const onAbort = () => handle.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  return { handle, dispose: () => signal.removeEventListener('abort', onAbort) };
}

function workOptions(
  phase: DiffProgress['phase'],
  options: DiffOptions,
  abort: LinkedAbort | undefined,
  base = 0,
  total?: number,
  tensorEnds?: Float64Array,
): RawWorkOptions {
  const onProgress = options.onProgress;
  return {
    abort: abort?.handle,
    onProgress: onProgress
      ? (done, tot) => {
          const p: DiffProgress = { phase, bytesDone: base + done, bytesTotal: total ?? tot };
          if (tensorEnds) {
            p.tensorsDone = countAtMost(tensorEnds, p.bytesDone);
            p.tensorsTotal = tensorEnds.length;
          }
          onProgress(p);
        }
      : undefined,
  };
}

/** Number of values of the ascending array `ends` that are <= x (binary search). */
function countAtMost(ends: Float64Array, x: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function computeDiffs(
  native: RawAddon,
  plans: PairPlan[],
  epsilon: number,
  options: DiffOptions,
  abort: LinkedAbort | undefined,
): Promise<ModelDiff[]> {
  const pairJobs = new PackedJobTable('pair');
  const statsJobs = new PackedJobTable('stats');
  // Per plan and match: where its results are.
  const where: { pair?: number; statsA?: number; statsB?: number }[][] = [];
  for (const plan of plans) {
    const w: { pair?: number; statsA?: number; statsB?: number }[] = [];
    for (const m of plan.matches) {
      if (isComparable(m)) {
        w.push({ pair: pairJobs.addPair(m.a!, m.b!, epsilon) });
      } else {
        const e: { statsA?: number; statsB?: number } = {};
        if (m.a) e.statsA = statsJobs.addStats(m.a);
        if (m.b) e.statsB = statsJobs.addStats(m.b);
        w.push(e);
      }
    }
    where.push(w);
  }
  const pairBytes = pairJobs.bytes;
  const total = pairBytes + statsJobs.bytes;
  const pairOut = new Float64Array(pairJobs.length * PAIR_WIDTH);
  const statsOut = new Float64Array(statsJobs.length * STATS_WIDTH);
  const ends = options.onProgress ? Float64Array.from([...pairJobs.ends, ...statsJobs.ends.map((e) => e + pairBytes)]) : undefined;
  if (pairJobs.length) await native.pair(pairJobs.build(), pairOut, workOptions('stats', options, abort, 0, total, ends));
  if (statsJobs.length) await native.stats(statsJobs.build(), statsOut, workOptions('stats', options, abort, pairBytes, total, ends));

  return plans.map((plan, p) => {
    const tensors: TensorDiff[] = plan.matches.map((m, i) => {
      const w = where[p][i];
      const td: TensorDiff = {
        name: m.name,
        status: m.status,
        dtype: [m.a?.dtype ?? null, m.b?.dtype ?? null],
        shape: [m.a ? [...m.a.shape] : null, m.b ? [...m.b.shape] : null],
        kind: kindOf(m),
        stats: { a: null, b: null },
        diff: null,
        index: m.index,
      };
      if (m.a?.aliasOf !== undefined || m.b?.aliasOf !== undefined) td.aliasOf = [m.a?.aliasOf ?? null, m.b?.aliasOf ?? null];
      if (w.pair !== undefined) {
        const off = w.pair * PAIR_WIDTH;
        td.stats.a = statsFromRecord(pairOut, off);
        td.stats.b = statsFromRecord(pairOut, off + STATS_WIDTH);
        td.diff = pairDiffFromRecord(pairOut, off);
        if (td.status === 'changed' && td.diff.changed === 0) td.status = 'unchanged';
      } else {
        if (w.statsA !== undefined) td.stats.a = statsFromRecord(statsOut, w.statsA * STATS_WIDTH);
        if (w.statsB !== undefined) td.stats.b = statsFromRecord(statsOut, w.statsB * STATS_WIDTH);
      }
      return td;
    });
    return { from: plan.from, to: plan.to, epsilon, tensors, summary: summarize(tensors) };
  });
}

/** Counts by status; one-sided tied aliases are counted apart (they are not differences). */
export function summarize(tensors: readonly TensorDiff[]): DiffSummary {
  const s: DiffSummary = { added: 0, removed: 0, tied_aliases: 0, shape_changed: 0, dtype_changed: 0, changed: 0, unchanged: 0, total: tensors.length };
  for (const t of tensors) {
    if ((t.status === 'added' || t.status === 'removed') && isTiedAlias(t)) s.tied_aliases++;
    else s[t.status]++;
  }
  return s;
}

/** True for a tensor present on one side only that the format records as sharing storage with another. */
export function isTiedAlias(t: TensorDiff): boolean {
  if (t.status === 'removed') return (t.aliasOf?.[0] ?? null) !== null;
  if (t.status === 'added') return (t.aliasOf?.[1] ?? null) !== null;
  return false;
}

async function computeUnitNorms(
  native: RawAddon,
  models: readonly ModelFile[],
  plans: PairPlan[],
  diffs: ModelDiff[],
  options: DiffOptions,
  abort: LinkedAbort | undefined,
): Promise<void> {
  // One job per (model, tensor), shared by every pair that shows the tensor.
  const jobs: { ref: RawTensorRef; outer: number; n: number; inner: number }[] = [];
  const slot = new Map<string, { start: number; n: number }>();
  let offset = 0;
  const want = (model: number, t: TensorDescriptor | null): string | null => {
    if (!t || kindOfDescriptor(t) !== 'float') return null;
    const view = unitViewOf(t.shape, layoutOf(models[model].metadata));
    if (!view) return null;
    const key = `${model}\u0000${t.name}`;
    if (!slot.has(key)) {
      slot.set(key, { start: offset, n: view.n });
      jobs.push({ ref: toRawRef(t), outer: view.outer, n: view.n, inner: view.inner });
      offset += view.n;
    }
    return key;
  };
  const keys = plans.map((plan) => plan.matches.map((m) => [want(plan.from, m.a), want(plan.to, m.b)] as const));
  if (jobs.length === 0) return;
  const out = new Float64Array(offset);
  await native.axisNorms(jobs, out, workOptions('unit_norms', options, abort));
  const get = (key: string | null) => {
    if (key === null) return null;
    const s = slot.get(key)!;
    return out.slice(s.start, s.start + s.n);
  };
  diffs.forEach((d, p) => {
    d.tensors.forEach((t, i) => {
      const [ka, kb] = keys[p][i];
      if (ka !== null || kb !== null) t.unitNorms = { a: get(ka), b: get(kb) };
    });
  });
}

function kindOfDescriptor(t: TensorDescriptor) {
  return kindOf({ name: t.name, a: t, b: null, index: [null, null], status: 'removed' });
}

async function computeTrajectory(
  native: RawAddon,
  models: readonly ModelFile[],
  keep: (name: string) => boolean,
  options: DiffOptions,
  abort: LinkedAbort | undefined,
): Promise<TrajectoryStep[]> {
  const steps: TrajectoryStep[] = [];
  const jobs: { x0: RawTensorRef; x1: RawTensorRef; x2: RawTensorRef }[] = [];
  const names: { step: number; name: string }[] = [];
  for (let k = 1; k + 1 < models.length; k++) {
    steps.push({ at: k, tensors: [] });
    const m1 = new Map(models[k].tensors.map((t) => [t.name, t]));
    const m2 = new Map(models[k + 1].tensors.map((t) => [t.name, t]));
    for (const t0 of models[k - 1].tensors) {
      const t1 = m1.get(t0.name);
      const t2 = m2.get(t0.name);
      if (!t1 || !t2 || !keep(t0.name)) continue;
      if ([t0, t1, t2].some((t) => kindOfDescriptor(t) !== 'float')) continue;
      if (t1.count !== t0.count || t2.count !== t0.count || !sameShape(t0.shape, t1.shape) || !sameShape(t0.shape, t2.shape)) continue;
      jobs.push({ x0: toRawRef(t0), x1: toRawRef(t1), x2: toRawRef(t2) });
      names.push({ step: steps.length - 1, name: t0.name });
    }
  }
  if (jobs.length) {
    const out = new Float64Array(jobs.length * 4);
    await native.trajectory(jobs, out, workOptions('trajectory', options, abort));
    names.forEach(({ step, name }, j) => {
      steps[step].tensors.push({ name, dot: out[j * 4], uu: out[j * 4 + 1], vv: out[j * 4 + 2] });
    });
  }
  return steps;
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

/** The matrix pairs the low-rank test runs on: changed float pairs of >= 2 dimensions whose test rank is >= 1. */
function lowRankTargets(plans: readonly PairPlan[], diffs: readonly ModelDiff[]): { p: number; i: number; rows: number; cols: number; k: number; bytes: number }[] {
  const out: { p: number; i: number; rows: number; cols: number; k: number; bytes: number }[] = [];
  for (let p = 0; p < plans.length; p++) {
    for (let i = 0; i < plans[p].matches.length; i++) {
      const m = plans[p].matches[i];
      const t = diffs[p].tensors[i];
      if (t.status !== 'changed' || t.kind !== 'float' || !t.diff || !m.a || !m.b || m.a.shape.length < 2) continue;
      const rows = m.a.shape[0];
      const cols = m.a.count / rows;
      const k = lowRankTestRank(rows, cols);
      if (k < 1) continue;
      out.push({ p, i, rows, cols, k, bytes: byteLengthOfSource(m.a) + byteLengthOfSource(m.b) });
    }
  }
  return out;
}

async function computeLowRank(
  native: RawAddon,
  plans: PairPlan[],
  diffs: ModelDiff[],
  options: DiffOptions,
  abort: LinkedAbort | undefined,
): Promise<void> {
  const targets = lowRankTargets(plans, diffs);
  // Progress by tensor (each takes 4 native passes over A and B, each reporting on its own).
  let total = 0;
  for (const x of targets) total += 4 * x.bytes;
  const report = workOptions('low_rank', options, abort, 0, total).onProgress;
  const work: RawWorkOptions = { abort: abort?.handle };
  let done = 0;
  for (const { p, i, rows, cols, k, bytes } of targets) {
    const m = plans[p].matches[i];
    const t = diffs[p].tensors[i];
    const energy = await lowRankEnergy(native, toRawRef(m.a!), toRawRef(m.b!), rows, cols, k, t.diff!.diff_sq, work);
    if (energy !== null) t.lowRank = { rank: k, energy };
    done += 4 * bytes;
    report?.(done, total);
  }
}
