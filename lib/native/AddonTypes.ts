/**
 * Types of the raw native addon (`build/Release/diffai.node` or a prebuild). This file is the contract
 * between `native/addon/` (C++) and the TypeScript library; nothing outside `lib/native/` and
 * `lib/diff/` should call the addon directly.
 *
 * Conventions:
 * - Byte offsets, byte lengths and element counts are JS numbers (safe integers, up to 2^53); the
 *   addon rejects anything else with `ERR_INVALID_ARGUMENT`.
 * - Results are written into caller-allocated `Float64Array`s at fixed widths per job (below), so no
 *   JS objects are built per tensor on the native side.
 * - Errors are instances of the JS error class given to {@link RawAddon.setErrorClass}, with `.code`.
 *
 * @module
 */

/** Width (float64 slots) of one per-tensor statistics record. */
export const STATS_WIDTH = 13;

/**
 * Slot indices of a statistics record (one tensor). Mean, std, min, max, abs max, L1 and L2 are over
 * the finite elements; `nan` and `inf` count the others. Std is the population std. Empty tensors and
 * tensors without finite elements give count/zeros/nan/inf and NaN elsewhere.
 */
export const StatsSlot = {
  /** Number of elements. */
  count: 0,
  /** Number of finite elements. */
  finite: 1,
  /** Mean of finite elements. */
  mean: 2,
  /** Population standard deviation of finite elements. */
  std: 3,
  min: 4,
  max: 5,
  /** max |x| over finite elements. */
  absMax: 6,
  /** sum |x| over finite elements. */
  l1: 7,
  /** sqrt(sum x^2) over finite elements. */
  l2: 8,
  /** Number of elements equal to zero (+0 or -0). */
  zeros: 9,
  nan: 10,
  /** Number of +Inf or -Inf elements. */
  inf: 11,
  /** sum x over finite elements (mean x finite, kept for exact merging). */
  sum: 12,
} as const;

/** Width of one pair record: statistics of A, statistics of B, then {@link PairSlot} values. */
export const PAIR_WIDTH = 2 * STATS_WIDTH + 9;

/**
 * Slot indices of the pair part of a pair record, relative to offset `2 * STATS_WIDTH`.
 * D = B - A, taken at positions where both A and B are finite.
 */
export const PairSlot = {
  /** 1 when the two byte ranges are identical (then D = 0 and stats B = stats A), else 0. */
  identical: 0,
  /** Number of positions where both are finite. */
  bothFinite: 1,
  /** sum D^2. */
  diffSq: 2,
  /** sum A*B. */
  dot: 3,
  /** sum D. */
  diffSum: 4,
  /** max |D|. */
  maxAbs: 5,
  /** sum |D|. */
  sumAbs: 6,
  /**
   * Number of positions that differ: |D| > epsilon at both-finite positions, plus positions where the
   * non-finite values are not the same (NaN vs NaN is equal, +Inf vs +Inf is equal, -0 equals +0).
   */
  changed: 7,
  /** Number of positions where B is non-finite but A is finite (new NaN/Inf). */
  newNonFinite: 8,
} as const;

/**
 * One side of a kernel job: a tensor's bytes, either a range of a mapped file or an in-memory buffer.
 * `byteLength` must equal `count * size(dtype)`; the addon re-checks the range against the file size
 * (overflow-safe) before touching memory.
 */
export interface RawTensorRef {
  /** Mapped file holding the data; exclusive with `data`. */
  file?: NativeMappedFile;
  /** In-memory data; exclusive with `file`. Kept alive by the worker until it finishes. */
  data?: Uint8Array;
  /** Byte offset in the file (or in `data`). */
  offset: number;
  byteLength: number;
  /** Native dtype code (see `DTYPES[...].code`). */
  dtype: number;
  /** Element count. */
  count: number;
}

/** Float64 slots of one tensor side in a {@link RawPackedJobs} table: source index, offset, byteLength, dtype, count. */
export const PACKED_REF_WIDTH = 5;

/** Float64 slots of one pair job in a {@link RawPackedJobs} table: side A, side B, epsilon. */
export const PACKED_PAIR_WIDTH = 2 * PACKED_REF_WIDTH + 1;

/**
 * Jobs of {@link RawAddon.stats} or {@link RawAddon.pair} packed into one Float64Array: the same fields
 * as {@link RawTensorRef} (and {@link RawPairJob}), with the file or buffer given as an index into
 * `sources`. Each source is validated and kept alive once per call, so a call over thousands of small
 * tensors costs nanoseconds per job instead of several N-API property reads per field.
 *
 * Rows: stats, {@link PACKED_REF_WIDTH} values `[source, offset, byteLength, dtype, count]`; pair,
 * {@link PACKED_PAIR_WIDTH} values `[...a, ...b, epsilon]`. The table length must be a whole number
 * of rows; every value is checked as in the object form.
 */
export interface RawPackedJobs {
  sources: (NativeMappedFile | Uint8Array)[];
  table: Float64Array;
}

/** A pair job: two same-shape tensors, possibly of different dtypes. */
export interface RawPairJob {
  a: RawTensorRef;
  b: RawTensorRef;
  /** Values differ when |B - A| > epsilon (0: exact). */
  epsilon: number;
}

/**
 * A trajectory job: three same-shape tensors x0, x1, x2 (consecutive checkpoints). The kernel returns
 * sum (x1 - x0) * (x2 - x1) over positions where all three are finite: the dot product of consecutive
 * updates, used to detect oscillation without the cancellation of computing it from pair dots.
 */
export interface RawTrajectoryJob {
  x0: RawTensorRef;
  x1: RawTensorRef;
  x2: RawTensorRef;
}

/**
 * An axis-norm job: the tensor viewed as [outer, n, inner] (row-major); the kernel returns for each
 * i < n the L2 norm over all (outer, inner) of x[., i, .], non-finite values skipped.
 * A PyTorch Linear/Conv weight [out, ...] is outer=1, n=out, inner=rest; a TF HWIO kernel is
 * outer=H*W*I, n=O, inner=1.
 */
export interface RawAxisNormJob {
  ref: RawTensorRef;
  outer: number;
  n: number;
  inner: number;
}

/** A dense product job, see {@link RawAddon.matmul}. Non-finite elements of M are treated as 0. */
export interface RawMatmulJob {
  a: RawTensorRef;
  /** When given, M = B - A (same count as A; dtypes may differ). */
  b?: RawTensorRef;
  rows: number;
  cols: number;
  /** Dense operand, float64 row-major: [cols, k] (transpose false) or [rows, k] (transpose true). */
  x: Float64Array;
  k: number;
  transpose: boolean;
}

/** A gram job, see {@link RawAddon.gram}: the tensor viewed as a row-major matrix M [rows, cols]. */
export interface RawGramJob {
  ref: RawTensorRef;
  rows: number;
  cols: number;
  /** The vector, `cols` float64 values (copied when the call starts). */
  v: Float64Array;
}

/** Options of the asynchronous kernels. */
export interface RawWorkOptions {
  /**
   * Called on the main thread with (bytesDone, bytesTotal), at most about every 50 ms while work runs.
   */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** An abort handle made by {@link RawAddon.createAbortHandle}; aborting makes the promise reject with ERR_ABORTED. */
  abort?: RawAbortHandle;
}

/** A flag shared with native workers; `abort()` stops them at the next chunk boundary. */
export interface RawAbortHandle {
  abort(): void;
  readonly aborted: boolean;
}

/**
 * A read-only memory mapping of a whole file (RAII on the native side: unmapped on close or GC).
 */
export interface NativeMappedFile {
  /** The path it was opened with. */
  readonly path: string;
  /** File size in bytes at open time. */
  readonly size: number;
  /** True after close(). */
  readonly closed: boolean;
  /**
   * A copy of bytes [offset, offset + length) in a new Buffer. For headers and container metadata
   * only: length is capped at 256 MiB.
   * @throws ERR_RANGE when the range is outside the file or over the cap; ERR_FILE_CLOSED.
   */
  read(offset: number, length: number): Buffer;
  /**
   * safetensors framing: reads the 8-byte little-endian header length N, checks 8 <= ... and
   * N <= 100,000,000 and 8 + N <= size, and returns a copy of the N header bytes.
   * @throws ERR_SAFETENSORS_HEADER_TOO_SMALL (file < 8 bytes), ERR_SAFETENSORS_HEADER_TOO_LARGE (N over the cap),
   *   ERR_SAFETENSORS_INVALID_HEADER_LENGTH (8 + N beyond the file).
   */
  safetensorsHeader(): { header: Buffer; dataOffset: number };
  /**
   * Hints the kernel that [offset, offset+length) will be read sequentially (madvise). Never throws.
   */
  adviseSequential(offset: number, length: number): void;
  /**
   * Unmaps the file. @throws ERR_FILE_BUSY while an async kernel uses it. Idempotent otherwise.
   */
  close(): void;
}

/** The raw addon module. */
export interface RawAddon extends RawModelKernels {
  /** Registers the JS error class the addon constructs its errors from: `new Cls(code, message, {file})`. */
  setErrorClass(cls: new (code: string, message: string, options?: { file?: string }) => Error): void;

  /**
   * Maps a file read-only.
   * @throws ERR_FILE_NOT_FOUND, ERR_FILE_IO (not a regular file, permission), ERR_FILE_TOO_LARGE (> 2^53).
   */
  MappedFile: new (path: string) => NativeMappedFile;

  /** Creates an abort handle for the async kernels. */
  createAbortHandle(): RawAbortHandle;

  /**
   * Per-tensor statistics. Writes STATS_WIDTH float64 per job into `out` (length >= jobs.length * STATS_WIDTH).
   * Runs on the native thread pool; large tensors are split into chunks merged exactly (Chan et al.).
   */
  stats(jobs: RawTensorRef[] | RawPackedJobs, out: Float64Array, options?: RawWorkOptions): Promise<void>;
  statsSync(jobs: RawTensorRef[] | RawPackedJobs, out: Float64Array): void;

  /**
   * Fused pair statistics: one pass over A and B computes stats(A), stats(B) and the pair values.
   * Writes PAIR_WIDTH float64 per job. A and B must have the same count; dtypes may differ (each
   * side is converted to float, F64 sides are computed in double).
   */
  pair(jobs: RawPairJob[] | RawPackedJobs, out: Float64Array, options?: RawWorkOptions): Promise<void>;
  pairSync(jobs: RawPairJob[] | RawPackedJobs, out: Float64Array): void;

  /**
   * Consecutive-update dots. Writes 4 float64 per job: sum (x1-x0)(x2-x1), sum (x1-x0)^2, sum (x2-x1)^2,
   * number of positions where all three are finite.
   */
  trajectory(jobs: RawTrajectoryJob[], out: Float64Array, options?: RawWorkOptions): Promise<void>;

  /** Axis norms: writes `n` float64 per job, concatenated in job order. */
  axisNorms(jobs: RawAxisNormJob[], out: Float64Array, options?: RawWorkOptions): Promise<void>;

  /**
   * Dense products with a tensor viewed as a row-major matrix M [rows, cols], where M = A, or
   * M = B - A when `b` is given (the update, never materialised). With `transpose` false:
   * out = M X, X [cols, k] row-major, out [rows, k]. With `transpose` true: out = X^T M, X [rows, k],
   * out [k, cols]. Accumulates in float64. Used for randomized range finding (Halko, Martinsson and
   * Tropp 2011; the spectral step uses {@link RawAddon.gram}). One job per call; out is caller-allocated.
   */
  matmul(job: RawMatmulJob, out: Float64Array, options?: RawWorkOptions): Promise<void>;
  matmulSync(job: RawMatmulJob, out: Float64Array): void;

  /**
   * The row pass of the spectral step (`lib/diff/spectralNorm.ts`): for every job, M^T (M v) =
   * sum over rows r of (row_r . v) row_r, in float64 with M's non-finite elements read as 0, reading
   * each row of M from memory once. Writes `cols` float64 per job, concatenated in job order; the
   * jobs of one call share the thread pool. Results are bit-identical at any thread count.
   */
  gram(jobs: RawGramJob[], out: Float64Array, options?: RawWorkOptions): Promise<void>;
  gramSync(jobs: RawGramJob[], out: Float64Array): void;

  /**
   * The bandwidth probe of `bench/`: reads every byte of each ref once with the plain read of the
   * current SIMD level (no statistics), planned and run like {@link RawAddon.stats} (same chunks, pool
   * and mappings), and writes 1 float64 per job: the sum of its bytes modulo 2^53. The ratio of a
   * kernel's throughput to this one's measures the kernel. `dtype` and `count` are checked as usual.
   */
  readProbe(jobs: RawTensorRef[] | RawPackedJobs, out: Float64Array, options?: RawWorkOptions): Promise<void>;

  /** Conversion test hook: F16 (dtype code 2) or BF16 (3) bit patterns to float32 at a given SIMD level. */
  convertToF32(src: Uint16Array, dtype: number, level: SimdLevel): Float32Array;

  /** The SIMD level in use (after `DIFFAI_SIMD` lowering). */
  simdLevel(): SimdLevel;
  /** Levels this CPU supports, lowest first (always includes `scalar`). */
  simdLevels(): SimdLevel[];
  /** Lowers (or restores up to the CPU's maximum) the level in use; throws ERR_INVALID_ARGUMENT above it. */
  setSimdLevel(level: SimdLevel): void;
  /** Threads in the native pool. */
  threadCount(): number;
}

/** Kernel instruction-set levels. */
export type SimdLevel = 'scalar' | 'avx2' | 'avx512';

/**
 * The affine map of one side of a {@link RawDequantPairJob}: the tensor is viewed as
 * [outer, n, inner] (row-major) and its value at (o, c, i) is raw * scale[c] + offset[c]. Per-tensor
 * quantization is n = 1. Conventions: symmetric per-channel int8 (offset 0); torch affine
 * (q - zero_point) * scale (offset = -zero_point * scale); TF.js uint8 q * scale + min (offset = min).
 */
export interface RawAffine {
  outer: number;
  n: number;
  inner: number;
  /** n finite values (copied when the call starts). */
  scale: Float64Array;
  /** n finite values (copied when the call starts). */
  offset: Float64Array;
}

/**
 * A dequantized pair job: like {@link RawPairJob}, but a side with an affine map is dequantized on
 * the fly (any stored dtype: I8, U8, I32 codes ...) before the pair statistics are taken, in float64.
 */
export interface RawDequantPairJob {
  a: RawTensorRef;
  b: RawTensorRef;
  aAffine?: RawAffine;
  bAffine?: RawAffine;
  epsilon: number;
}

/**
 * A histogram job: x (or |x| with `abs`) in `bins` equal bins over [lo, hi), lo < hi finite,
 * 1 <= bins <= 2^20.
 */
export interface RawHistogramJob {
  ref: RawTensorRef;
  lo: number;
  hi: number;
  bins: number;
  abs?: boolean;
}

/** The model-structure kernels (appended to the contract; part of {@link RawAddon}). */
export interface RawModelKernels {
  /**
   * Pair statistics of dequantized values: writes PAIR_WIDTH float64 per job (stats of the
   * dequantized A and B, then the {@link PairSlot} values), float64 throughout. `identical` is
   * always 0 (values are compared, not bytes).
   */
  dequantPair(jobs: RawDequantPairJob[], out: Float64Array, options?: RawWorkOptions): Promise<void>;
  /**
   * Histograms: writes bins + 3 float64 per job, concatenated: the bin counts, then the count below
   * `lo`, the count at or above `hi`, and the count of non-finite elements.
   */
  histogram(jobs: RawHistogramJob[], out: Float64Array, options?: RawWorkOptions): Promise<void>;
}
