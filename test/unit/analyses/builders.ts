/**
 * Builds {@link DiffRun} objects for the analysis tests from small explicit tensors. Every statistic
 * (per-tensor stats, pair statistics, unit norms, low-rank energy, trajectory dots) is computed here in
 * float64 from the data given, with the definitions of `lib/diff/ModelDiff.ts`, so the numbers a test
 * feeds an analysis are consistent with each other, as the diff engine's would be.
 */
import { symmetricEigenvalues } from '../../../lib/linalg/symmetricEigenvalues.js';
import { SeededRandom } from '../../../lib/linalg/seededRandom.js';
import { DEFAULT_CONFIG, type Config, type Thresholds } from '../../../lib/config/Config.js';
import type { AbsHistogram, DiffRun, DiffSummary, InputInfo, ModelDiff, PairDiff, SpectralNorm, TensorDiff, TensorStats, TensorStatus, TrajectoryStep } from '../../../lib/diff/ModelDiff.js';
import { byteLengthOf, DTYPES, type DType } from '../../../lib/formats/dtype.js';

/** One tensor of a checkpoint. */
export interface TensorSpec {
  data: readonly number[] | Float64Array;
  /** Defaults to [data.length]. */
  shape?: number[];
  /** Defaults to F32. Only a label: values are used as given. */
  dtype?: DType;
  /** Tied alias target. */
  aliasOf?: string;
  /** The role a format would state (`quantized`, `quant_scale`, `optimizer` ...). */
  role?: string;
  /**
   * `data` are integer codes of a quantized tensor: value = code * scale[c] + offset[c] along `axis`
   * (null: one scale). Gives `TensorDiff.dequant` when the other side is float.
   */
  quant?: { scale: number[]; offset: number[]; axis: number | null; convention?: string; tensors?: string[] };
}

/** One input file. */
export interface Checkpoint {
  metadata?: Record<string, unknown>;
  /** Whether the file keeps depth order (a `.pt` state dict). Default false. */
  orderIsDepth?: boolean;
  tensors: Record<string, TensorSpec>;
  path?: string;
}

/** What to compute beyond the basic diff (like `AnalysisNeeds`). Default: everything. */
export interface BuildOptions {
  epsilon?: number;
  unitNorms?: boolean;
  lowRank?: boolean;
  trajectory?: boolean;
  spectral?: boolean;
  histograms?: boolean;
  dequant?: boolean;
}

/** A seeded generator (mulberry32) with standard normal draws. */
export function rng(seed: number): { uniform(): number; normal(): number } {
  const r = new SeededRandom(seed);
  const uniform = () => r.uniform();
  const normal = () => {
    const u = Math.max(uniform(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/** n Gaussian values N(0, scale^2) from a seed. */
export function gaussian(n: number, seed: number, scale = 1): Float64Array {
  const g = rng(seed);
  return Float64Array.from({ length: n }, () => g.normal() * scale);
}

/** Element-wise a + c * b. */
export function axpy(a: ArrayLike<number>, c: number, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] + c * b[i]);
}

/** Element-wise c * a. */
export function scale(a: ArrayLike<number>, c: number): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => c * a[i]);
}

/** Rounds values to bfloat16 (round to nearest even), as a BF16 conversion would. */
export function toBF16(a: ArrayLike<number>): Float64Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  return Float64Array.from({ length: a.length }, (_, i) => {
    f[0] = a[i];
    const bits = u[0];
    u[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
    return f[0];
  });
}

/** A config with some thresholds / output options replaced. */
export function config(th: Partial<Thresholds> = {}, output: Partial<Config['output']> = {}): Config {
  return {
    ml_analysis: { ...DEFAULT_CONFIG.ml_analysis },
    thresholds: { ...DEFAULT_CONFIG.thresholds, ...th },
    output: { ...DEFAULT_CONFIG.output, ...output },
  };
}

/** Per-tensor statistics over finite elements (TensorStats definitions). */
export function statsOf(x: ArrayLike<number>): TensorStats {
  let finite = 0;
  let sum = 0;
  let sq = 0;
  let l1 = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let nan = 0;
  let inf = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else {
      finite++;
      sum += v;
      sq += v * v;
      l1 += Math.abs(v);
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
    }
  }
  const mean = finite > 0 ? sum / finite : NaN;
  let m2 = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) m2 += (x[i] - mean) ** 2;
  return {
    count: x.length,
    finite,
    mean,
    std: finite > 0 ? Math.sqrt(m2 / finite) : NaN,
    min: finite > 0 ? min : NaN,
    max: finite > 0 ? max : NaN,
    abs_max: finite > 0 ? Math.max(Math.abs(min), Math.abs(max)) : NaN,
    l1: finite > 0 ? l1 : NaN,
    l2: finite > 0 ? Math.sqrt(sq) : NaN,
    zeros,
    nan,
    inf,
  };
}

/** Pair statistics (PairDiff definitions): D = B - A over both-finite positions. */
export function pairOf(a: ArrayLike<number>, b: ArrayLike<number>, epsilon = 0): PairDiff {
  let sqA = 0;
  let sqB = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(a[i])) sqA += a[i] * a[i];
    if (Number.isFinite(b[i])) sqB += b[i] * b[i];
  }
  let dot = 0;
  let dsum = 0;
  let dsq = 0;
  let maxAbs = 0;
  let sumAbs = 0;
  let both = 0;
  let changed = 0;
  let newNonFinite = 0;
  let identical = true;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!Object.is(x, y)) identical = false;
    const fx = Number.isFinite(x);
    const fy = Number.isFinite(y);
    if (fx && !fy) newNonFinite++;
    if (fx && fy) {
      both++;
      const d = y - x;
      dot += x * y;
      dsum += d;
      dsq += d * d;
      maxAbs = Math.max(maxAbs, Math.abs(d));
      sumAbs += Math.abs(d);
      if (Math.abs(d) > epsilon) changed++;
    } else if (!(Number.isNaN(x) && Number.isNaN(y)) && x !== y) {
      changed++;
    }
  }
  const nA = Math.sqrt(sqA);
  const nB = Math.sqrt(sqB);
  const l2 = Math.sqrt(dsq);
  return {
    rel_l2: nA > 0 ? l2 / nA : l2 > 0 ? Infinity : 0,
    cosine: nA > 0 && nB > 0 ? dot / (nA * nB) : NaN,
    max_abs: maxAbs,
    mean_abs: both > 0 ? sumAbs / both : 0,
    changed,
    l2_diff: l2,
    diff_sum: dsum,
    diff_sq: dsq,
    dot,
    both_finite: both,
    new_non_finite: newNonFinite,
    identical,
  };
}

/** Per-unit L2 norms along axis 0 (PyTorch layout) of a tensor of >= 2 dims with >= 2x2 view; else null. */
export function unitNormsOf(x: ArrayLike<number>, shape: readonly number[]): Float64Array | null {
  if (shape.length < 2) return null;
  const n = shape[0];
  const inner = x.length / n;
  if (n < 2 || inner < 2) return null;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < inner; j++) s += x[i * inner + j] ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** Eigenvalues of a symmetric matrix (the library's cyclic Jacobi), for the exact low-rank energy of small updates. */
function jacobiEigenvalues(m: Float64Array, n: number): number[] {
  return Array.from(symmetricEigenvalues(m, n));
}

/** Exact share of ||D||_F^2 in the best rank-k approximation of D = B - A viewed [m, n]. */
export function lowRankEnergyOf(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number): number {
  const small = Math.min(m, n);
  const g = new Float64Array(small * small);
  const d = (i: number, j: number) => b[i * n + j] - a[i * n + j];
  let total = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) total += d(i, j) ** 2;
  if (m <= n) {
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += d(i, c) * d(j, c);
      g[i * m + j] = s;
    }
  } else {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += d(r, i) * d(r, j);
      g[i * n + j] = s;
    }
  }
  const ev = jacobiEigenvalues(g, small).sort((x, y) => y - x);
  return ev.slice(0, k).reduce((s, x) => s + Math.max(0, x), 0) / total;
}

/** The dequantized values of a spec (its data when it has no `quant`). */
export function dequantValues(t: TensorSpec, shape: readonly number[]): Float64Array {
  const q = t.quant;
  if (!q) return Float64Array.from(t.data);
  let inner = 1;
  if (q.axis !== null) for (let k = q.axis + 1; k < shape.length; k++) inner *= shape[k];
  const n = q.scale.length;
  return Float64Array.from(t.data, (v, i) => {
    const c = q.axis === null ? 0 : Math.floor(i / inner) % n;
    return v * q.scale[c] + q.offset[c];
  });
}

/** Sum over the elements of the squared quantization step (scale of the element's channel); 0 without `quant`. */
export function stepSqOf(t: TensorSpec, shape: readonly number[]): number {
  const q = t.quant;
  if (!q) return 0;
  let inner = 1;
  if (q.axis !== null) for (let k = q.axis + 1; k < shape.length; k++) inner *= shape[k];
  const n = q.scale.length;
  let s = 0;
  for (let i = 0; i < t.data.length; i++) s += q.scale[q.axis === null ? 0 : Math.floor(i / inner) % n] ** 2;
  return s;
}

/**
 * Exact spectral norm of a tensor of >= 2 dims viewed [shape[0], rest] (PyTorch layout), with a view of
 * at least 2x2: sigma_max^2 = the largest eigenvalue of the Gram matrix (Jacobi); null otherwise.
 */
export function spectralOf(x: ArrayLike<number>, shape: readonly number[]): SpectralNorm | null {
  if (!unitNormsOf(x, shape)) return null;
  const m = shape[0];
  const n = x.length / m;
  const k = Math.min(m, n);
  const g = new Float64Array(k * k);
  let fro = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i])) fro += x[i] * x[i];
  const v = (r: number, c: number) => (Number.isFinite(x[r * n + c]) ? x[r * n + c] : 0);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let sum = 0;
      if (m <= n) for (let c = 0; c < n; c++) sum += v(i, c) * v(j, c);
      else for (let r = 0; r < m; r++) sum += v(r, i) * v(r, j);
      g[i * k + j] = sum;
    }
  }
  const top = Math.max(...jacobiEigenvalues(g, k));
  if (!(top > 0)) return null;
  return { rows: m, cols: n, sigma_max: Math.sqrt(top), frobenius_sq: fro, stable_rank: fro / top, iterations: 1, tolerance: 0, converged: true };
}

/** The |x| / RMS histogram of the diff engine (40 bins of 0.1 RMS). */
export function histogramOf(x: ArrayLike<number>): AbsHistogram | null {
  let sq = 0;
  let finite = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) continue;
    sq += x[i] * x[i];
    finite++;
  }
  const rms = finite > 0 ? Math.sqrt(sq / finite) : 0;
  if (!(rms > 0)) return null;
  const counts = new Array<number>(40).fill(0);
  let above = 0;
  let nonFinite = 0;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      nonFinite++;
      continue;
    }
    const b = Math.floor(Math.abs(x[i]) / (0.1 * rms));
    if (b >= 40) above++;
    else counts[b]++;
  }
  return { rms, bin_width: 0.1, counts, above, non_finite: nonFinite };
}

const sameShape = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((d, i) => d === y[i]);

function diffPair(ck: Checkpoint[], from: number, to: number, opts: BuildOptions): ModelDiff {
  const A = ck[from].tensors;
  const B = ck[to].tensors;
  const eps = opts.epsilon ?? 0;
  const names = [...Object.keys(A), ...Object.keys(B).filter((n) => !(n in A))];
  const orderA = Object.keys(A);
  const orderB = Object.keys(B);
  const tensors: TensorDiff[] = names.map((name) => {
    const a = A[name] ?? null;
    const b = B[name] ?? null;
    const shapeA = a ? (a.shape ?? [a.data.length]) : null;
    const shapeB = b ? (b.shape ?? [b.data.length]) : null;
    const dtA = a ? (a.dtype ?? 'F32') : null;
    const dtB = b ? (b.dtype ?? 'F32') : null;
    let status: TensorStatus;
    if (!a) status = 'added';
    else if (!b) status = 'removed';
    else if (!sameShape(shapeA!, shapeB!)) status = 'shape_changed';
    else if (dtA !== dtB) status = 'dtype_changed';
    else status = 'changed';
    const td: TensorDiff = {
      name,
      status,
      dtype: [dtA, dtB],
      shape: [shapeA, shapeB],
      kind: DTYPES[(dtA ?? dtB)!].kind,
      stats: { a: a ? statsOf(a.data) : null, b: b ? statsOf(b.data) : null },
      diff: null,
      index: [a ? orderA.indexOf(name) : null, b ? orderB.indexOf(name) : null],
    };
    if (a?.aliasOf !== undefined || b?.aliasOf !== undefined) td.aliasOf = [a?.aliasOf ?? null, b?.aliasOf ?? null];
    if (a && b && (status === 'changed' || status === 'dtype_changed')) {
      td.diff = pairOf(a.data, b.data, eps);
      if (status === 'changed' && td.diff.changed === 0) td.status = 'unchanged';
      const isFloat = DTYPES[dtA!].kind === 'float' && DTYPES[dtB!].kind === 'float';
      if ((opts.unitNorms ?? true) && isFloat) {
        const ua = unitNormsOf(a.data, shapeA!);
        const ub = unitNormsOf(b.data, shapeB!);
        if (ua || ub) td.unitNorms = { a: ua, b: ub };
      }
      if ((opts.dequant ?? true) && (a.quant || b.quant) && a.data.length === b.data.length) {
        const va = dequantValues(a, shapeA!);
        const vb = dequantValues(b, shapeB!);
        const info = (x: TensorSpec) => (x.quant ? { convention: x.quant.convention ?? 'per_channel_symmetric', axis: x.quant.axis, channels: x.quant.scale.length, tensors: x.quant.tensors ?? [] } : null);
        td.dequant = { encoding: { a: info(a), b: info(b) }, stats: { a: statsOf(va), b: statsOf(vb) }, diff: pairOf(va, vb, eps), step_sq: stepSqOf(a, shapeA!) + stepSqOf(b, shapeB!) };
      }
      if ((opts.lowRank ?? true) && td.status === 'changed' && isFloat && shapeA!.length >= 2) {
        const m = shapeA![0];
        const n = a.data.length / m;
        const k = Math.min(64, Math.floor(Math.min(m, n) / 4));
        if (k >= 1 && td.diff.diff_sq > 0) td.lowRank = { rank: k, energy: lowRankEnergyOf(a.data, b.data, m, n, k) };
      }
    } else if ((opts.unitNorms ?? true) && (a || b)) {
      const ua = a && DTYPES[dtA!].kind === 'float' ? unitNormsOf(a.data, shapeA!) : null;
      const ub = b && DTYPES[dtB!].kind === 'float' ? unitNormsOf(b.data, shapeB!) : null;
      if (ua || ub) td.unitNorms = { a: ua, b: ub };
    }
    if (opts.spectral ?? true) {
      const sa = a && DTYPES[dtA!].kind === 'float' ? spectralOf(a.data, shapeA!) : null;
      const sb = b && DTYPES[dtB!].kind === 'float' ? spectralOf(b.data, shapeB!) : null;
      if (sa || sb) td.spectral = { a: sa, b: sb };
    }
    if (opts.histograms ?? true) {
      const ha = a && DTYPES[dtA!].kind === 'float' && unitNormsOf(a.data, shapeA!) ? histogramOf(a.data) : null;
      const hb = b && DTYPES[dtB!].kind === 'float' && unitNormsOf(b.data, shapeB!) ? histogramOf(b.data) : null;
      if (ha || hb) td.histogram = { a: ha, b: hb };
    }
    return td;
  });
  const summary: DiffSummary = { added: 0, removed: 0, tied_aliases: 0, shape_changed: 0, dtype_changed: 0, changed: 0, unchanged: 0, total: tensors.length };
  for (const t of tensors) {
    const alias = (t.status === 'added' && (t.aliasOf?.[1] ?? null) !== null) || (t.status === 'removed' && (t.aliasOf?.[0] ?? null) !== null);
    if (alias) summary.tied_aliases++;
    else summary[t.status]++;
  }
  return { from, to, epsilon: eps, tensors, summary };
}

function trajectoryOf(ck: Checkpoint[]): TrajectoryStep[] {
  const steps: TrajectoryStep[] = [];
  for (let k = 1; k + 1 < ck.length; k++) {
    const step: TrajectoryStep = { at: k, tensors: [] };
    for (const [name, t0] of Object.entries(ck[k - 1].tensors)) {
      const t1 = ck[k].tensors[name];
      const t2 = ck[k + 1].tensors[name];
      if (!t1 || !t2) continue;
      const all = [t0, t1, t2];
      if (all.some((t) => DTYPES[t.dtype ?? 'F32'].kind !== 'float')) continue;
      const shapes = all.map((t) => t.shape ?? [t.data.length]);
      if (!sameShape(shapes[0], shapes[1]) || !sameShape(shapes[0], shapes[2])) continue;
      let dot = 0;
      let uu = 0;
      let vv = 0;
      for (let i = 0; i < t0.data.length; i++) {
        const x0 = t0.data[i];
        const x1 = t1.data[i];
        const x2 = t2.data[i];
        if (![x0, x1, x2].every(Number.isFinite)) continue;
        const u = x1 - x0;
        const v = x2 - x1;
        dot += u * v;
        uu += u * u;
        vv += v * v;
      }
      step.tensors.push({ name, dot, uu, vv });
    }
    steps.push(step);
  }
  return steps;
}

/**
 * A DiffRun over N >= 2 checkpoints: every consecutive pair, first -> last, and (N >= 3) the trajectory,
 * like the diff engine's `diffModels` with all analysis needs.
 */
export function makeRun(ck: Checkpoint[], opts: BuildOptions = {}): DiffRun {
  if (ck.length < 2) throw new Error('makeRun needs 2 or more checkpoints');
  const inputs: InputInfo[] = ck.map((c, i) => {
    const names = Object.keys(c.tensors);
    let params = 0;
    let bytes = 0;
    for (const t of Object.values(c.tensors)) {
      params += t.data.length;
      bytes += t.data.length * DTYPES[t.dtype ?? 'F32'].size;
    }
    return {
      path: c.path ?? `ckpt${i}.safetensors`,
      format: 'safetensors',
      tensors: names.length,
      params,
      bytes,
      metadata: { ...(c.metadata ?? {}) },
      orderIsDepth: c.orderIsDepth ?? false,
      order: names,
      entries: Object.entries(c.tensors).map(([name, t]) => {
        const dtype = t.dtype ?? 'F32';
        const e: InputInfo['entries'][number] = { name, dtype, shape: t.shape ?? [t.data.length], count: t.data.length, bytes: t.aliasOf !== undefined ? 0 : byteLengthOf(dtype, t.data.length) };
        if (t.role !== undefined) e.role = t.role;
        if (t.aliasOf !== undefined) e.aliasOf = t.aliasOf;
        return e;
      }),
    };
  });
  const pairs: ModelDiff[] = [];
  for (let k = 0; k + 1 < ck.length; k++) pairs.push(diffPair(ck, k, k + 1, opts));
  const overall = ck.length > 2 ? diffPair(ck, 0, ck.length - 1, opts) : pairs[0];
  const run: DiffRun = { inputs, pairs, overall };
  if (ck.length >= 3 && (opts.trajectory ?? true)) run.trajectory = trajectoryOf(ck);
  return run;
}

/** Shorthand for a two-checkpoint run. */
export function pairRun(a: Record<string, TensorSpec>, b: Record<string, TensorSpec>, opts: BuildOptions & { metaA?: Record<string, unknown>; metaB?: Record<string, unknown> } = {}): DiffRun {
  return makeRun([{ tensors: a, metadata: opts.metaA }, { tensors: b, metadata: opts.metaB }], opts);
}

/** A weight-matrix spec [rows, cols] from data. */
export function mat(data: ArrayLike<number>, rows: number, cols: number, dtype: DType = 'F32'): TensorSpec {
  if (data.length !== rows * cols) throw new Error(`mat: ${data.length} values for [${rows}, ${cols}]`);
  return { data: Float64Array.from(data), shape: [rows, cols], dtype };
}

/** A 1-D spec. */
export function vec(data: ArrayLike<number>, dtype: DType = 'F32'): TensorSpec {
  return { data: Float64Array.from(data), shape: [data.length], dtype };
}

/**
 * Asserts a value survives JSON unchanged: no NaN, no Infinity, no typed arrays, no undefined inside
 * arrays. Returns the parsed copy.
 */
export function jsonRoundTrip<T>(x: T): T {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`non-finite number at ${path}`);
    if (ArrayBuffer.isView(v)) throw new Error(`typed array at ${path}`);
    if (Array.isArray(v)) v.forEach((e, i) => walk(e, `${path}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, e] of Object.entries(v)) walk(e, `${path}.${k}`);
  };
  walk(x, '$');
  return JSON.parse(JSON.stringify(x)) as T;
}

/**
 * The hand-computed pair used across the shared tests:
 *   l1.weight [2,2]: A = [1,0,0,1], B = [1,0.1,0,1]   ||A||^2 = 2,  ||D||^2 = 0.01
 *   l1.bias   [2]  : A = [3,4],     B = [3,4.3]       ||A||^2 = 25, ||D||^2 = 0.09
 *   bn.num_batches_tracked I64 []: 100 -> 900         (a counter: never pooled)
 *   bn.running_var [2]: [1,1] -> [5,5]                (a buffer: never pooled)
 * R = sqrt(0.1) / sqrt(27) = 0.060858061945018...
 * With the counter pooled R would be sqrt(0.1 + 640000) / sqrt(27 + 10000) = 7.99...
 */
export function handRun(): DiffRun {
  return pairRun(
    {
      'l1.weight': mat([1, 0, 0, 1], 2, 2),
      'l1.bias': vec([3, 4]),
      'bn.num_batches_tracked': { data: [100], shape: [], dtype: 'I64' },
      'bn.running_var': vec([1, 1]),
    },
    {
      'l1.weight': mat([1, 0.1, 0, 1], 2, 2),
      'l1.bias': vec([3, 4.3]),
      'bn.num_batches_tracked': { data: [900], shape: [], dtype: 'I64' },
      'bn.running_var': vec([5, 5]),
    },
  );
}

/** a + Gaussian noise with ||noise|| close to `relative` x ||a|| (seeded): a small dense update. */
export function pairNoise(a: ArrayLike<number>, relative: number, seed: number): Float64Array {
  const n = a.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * a[i];
  const noise = gaussian(n, seed, (relative * Math.sqrt(s)) / Math.sqrt(n));
  return Float64Array.from({ length: n }, (_, i) => a[i] + noise[i]);
}

/**
 * Checkpoints x_0 .. x_N of one 2x2 weight matrix `fc.weight` where interval k has exactly
 * R_k = ||x_{k+1} - x_k|| / ||x_k|| = rs[k]: x_{k+1} = x_k + rs[k] ||x_k|| e_k with unit directions
 * e_k (default [1, 0, 0, 0]).
 */
export function chain(x0: readonly number[], rs: readonly number[], dirs?: readonly (readonly number[])[], metadata?: Record<string, unknown>[]): Checkpoint[] {
  const xs: number[][] = [[...x0]];
  rs.forEach((r, k) => {
    const x = xs[k];
    const norm = Math.hypot(...x);
    const e = dirs?.[k] ?? [1, 0, 0, 0];
    const en = Math.hypot(...e);
    xs.push(x.map((v, i) => v + (r * norm * e[i]) / en));
  });
  return xs.map((x, i) => ({ tensors: { 'fc.weight': mat(x, 2, 2) }, metadata: metadata?.[i] }));
}
