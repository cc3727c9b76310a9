/**
 * The result types of the diff (SPEC section 2): what the diff engine produces and what every
 * analysis and formatter consumes.
 *
 * @module
 */
import type { DType, DTypeKind } from '../formats/dtype.js';
import type { ModelFormat } from '../formats/TensorDescriptor.js';

/** The class of a tensor in a diff of A (old) against B (new). */
export type TensorStatus = 'added' | 'removed' | 'shape_changed' | 'dtype_changed' | 'changed' | 'unchanged';

/**
 * Statistics of one tensor, computed natively with float64 accumulation. Mean, std (population),
 * min, max, abs_max, l1 and l2 are over finite elements; `nan` and `inf` count the others.
 * Fields are NaN when there is no finite element.
 */
export interface TensorStats {
  count: number;
  finite: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  abs_max: number;
  l1: number;
  l2: number;
  zeros: number;
  nan: number;
  inf: number;
}

/**
 * Pair statistics of a matched same-shape tensor. D = B - A over positions where both are finite.
 */
export interface PairDiff {
  /** ||D|| / ||A|| (||A|| over A's finite elements); Infinity when ||A|| = 0 and D != 0, 0 when both are 0. */
  rel_l2: number;
  /** (A . B) / (||A|| ||B||), over both-finite positions for the dot; NaN when a norm is 0. */
  cosine: number;
  /** max |D|. */
  max_abs: number;
  /** mean |D| over both-finite positions. */
  mean_abs: number;
  /** Elements that differ beyond epsilon (non-finite mismatches included). */
  changed: number;
  /** ||D||. */
  l2_diff: number;
  /** sum D (for Var(D) = diff_sq / n - (diff_sum / n)^2). */
  diff_sum: number;
  /** sum D^2. */
  diff_sq: number;
  /** A . B over both-finite positions. */
  dot: number;
  /** Positions where both are finite. */
  both_finite: number;
  /** Positions where B is non-finite and A finite. */
  new_non_finite: number;
  /** The two byte ranges were identical. */
  identical: boolean;
}

/** One tensor's entry in a diff. Two-element arrays are [A, B]; `null` on the side where it is absent. */
export interface TensorDiff {
  name: string;
  status: TensorStatus;
  dtype: [DType | null, DType | null];
  shape: [number[] | null, number[] | null];
  /** float / int / bool of the tensor (of A when present, else B). Integer tensors are never pooled into R. */
  kind: DTypeKind;
  stats: { a: TensorStats | null; b: TensorStats | null };
  /** Pair statistics; null unless both sides exist with the same shape. */
  diff: PairDiff | null;
  /** Position in each file's tensor order (depth order where the format keeps it). */
  index: [number | null, number | null];
  /** Tied-weight alias target on each side (the tensor shares storage with that one). */
  aliasOf?: [string | null, string | null];
  /**
   * Per-unit L2 norms along the output axis (rows of a PyTorch weight [out, ...]; last axis of a TF
   * HWIO kernel), for weight matrices of at least 2x2, computed when an analysis asks for them.
   */
  unitNorms?: { a: Float64Array | null; b: Float64Array | null };
  /**
   * Share of the update's energy ||D||_F^2 captured by its best rank-`rank` approximation, estimated
   * by a randomized range finder with one power iteration (Halko, Martinsson and Tropp 2011), for
   * changed 2-D weight matrices, computed when an analysis asks for it. `rank` = min(64, min(m, n) / 4).
   */
  lowRank?: { rank: number; energy: number };
  /**
   * Spectral norm and stable rank of a weight matrix on each side (the tensor viewed as a matrix:
   * [out, in*kh*kw] in PyTorch layout, [kh*kw*in, out] in TF layout; the singular values do not depend
   * on which), computed when an analysis asks for them (`AnalysisNeeds.spectral`).
   */
  spectral?: { a: SpectralNorm | null; b: SpectralNorm | null };
  /**
   * Histogram of |x| in units of the tensor's RMS on each side (weight tensors of >= 2 dimensions),
   * computed when an analysis asks for it (`AnalysisNeeds.histograms`).
   */
  histogram?: { a: AbsHistogram | null; b: AbsHistogram | null };
  /**
   * The comparison of the dequantized values, for a pair in which a side is stored as integer codes
   * with a recognised quantization convention (`lib/quant/`), computed when an analysis asks for it
   * (`AnalysisNeeds.dequant`). `diff` is then the precision loss measured on real values, where the
   * plain {@link TensorDiff.diff} compared raw codes.
   */
  dequant?: DequantDiff;
  /**
   * Why a side stored as integer codes could not be dequantized although quantization parameters are
   * stored beside it (a scale of the wrong dtype or length, a non-finite scale or offset), computed with
   * {@link TensorDiff.dequant}. `non_finite_elements` counts the elements whose dequantized value would
   * be non-finite (the channels of a NaN / Inf scale or offset), 0 for the other problems.
   */
  dequant_problem?: { side: 'a' | 'b'; reason: string; non_finite_elements: number };
}

/**
 * Spectral norm of a matrix M by seeded Lanczos on M^T M (`lib/diff/spectralNorm.ts`; one pass over M per
 * step through the native `gram` call, M^T (M v) row by row), run until the relative change of the
 * sigma_max^2 estimate stays below 1e-6 for 3 steps in a row, or 300 steps.
 */
export interface SpectralNorm {
  /** The matrix view [rows, cols]. */
  rows: number;
  cols: number;
  /** Largest singular value (finite elements; non-finite read as 0). */
  sigma_max: number;
  /** ||M||_F^2 over finite elements. */
  frobenius_sq: number;
  /** ||M||_F^2 / sigma_max^2, in [1, min(rows, cols)]. */
  stable_rank: number;
  /** Lanczos steps (each one product with M and one with M^T). */
  iterations: number;
  /** The last relative change of sigma_max^2 (the achieved tolerance). */
  tolerance: number;
  converged: boolean;
}

/** Counts of |x| / RMS(x) in bins of `bin_width` over [0, bins * bin_width). */
export interface AbsHistogram {
  /** RMS of the finite elements (||x|| / sqrt(finite)). */
  rms: number;
  /** Bin width in units of the RMS (0.1). */
  bin_width: number;
  counts: number[];
  /** Elements at or above bins * bin_width RMS. */
  above: number;
  non_finite: number;
}

/** A dequantized comparison (see {@link TensorDiff.dequant}). */
export interface DequantDiff {
  /** The encoding of each side; null for a side compared as stored (a float side). */
  encoding: { a: QuantEncodingInfo | null; b: QuantEncodingInfo | null };
  /** Statistics of the dequantized values. */
  stats: { a: TensorStats; b: TensorStats };
  /** Pair statistics of the dequantized values. */
  diff: PairDiff;
  /**
   * Sum over the elements of the squared quantization step (the scale of each element's channel) of
   * the coded side(s): rounding to the codes moves an element by at most half a step, so a conversion
   * alone gives `diff.diff_sq` <= step_sq / 4 (`lib/analyses/precisionChange.ts`).
   */
  step_sq: number;
}

/** How a side's integer codes were dequantized. */
export interface QuantEncodingInfo {
  /** `per_channel_symmetric` (`<name>_scale`), `torch_affine` (quantized tensor), `tfjs_affine` (`q_scale`, `q_min`). */
  convention: string;
  /** Channel axis of the scales; null for one scale per tensor. */
  axis: number | null;
  /** Number of scales. */
  channels: number;
  /** The tensors holding scales, zero points or minimums. */
  tensors: string[];
}

/** One tensor of an input, without data: what the structure, memory and cost analyses read. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  count: number;
  /** Bytes of its data as stored (Q8_0: 34 per 32 elements); 0 for a tied alias, whose storage is another tensor's. */
  bytes: number;
  /** Role the format states (`quantized`, `quant_scale`, `optimizer`, ...), when it states one. */
  role?: string;
  /** The tensor it shares storage with (tied weights). */
  aliasOf?: string;
}

/** What the diff says about one input file. */
export interface InputInfo {
  path: string;
  format: ModelFormat;
  /** Number of tensors. */
  tensors: number;
  /**
   * Elements of every tensor stored in the file, a tied alias counted once: weights, quantization scales,
   * buffers, counters and optimizer state alike. The model's parameter count (what #5-#7 use: no scales,
   * counters or optimizer state) is in `--memory-analysis` / `--param-efficiency-analysis`.
   */
  params: number;
  /** Bytes on disk. */
  bytes: number;
  /** Non-tensor metadata of the file (safetensors `__metadata__`, checkpoint scalars, config.json ...). */
  metadata: Record<string, unknown>;
  /** True when the file keeps the model's depth order (a PyTorch state dict). */
  orderIsDepth: boolean;
  /** Tensor names in file order. */
  order: string[];
  /** Every tensor (names, dtypes, shapes, stored bytes) in file order. */
  entries: TensorEntry[];
}

/**
 * Counts by status. A tensor present on one side only that is a tied alias of another tensor (e.g.
 * `lm_head.weight` tied to `tok_emb.weight` in a PyTorch state dict, absent from the safetensors copy)
 * is counted in `tied_aliases`, not in `added` / `removed`, and is not a difference.
 */
export interface DiffSummary {
  added: number;
  removed: number;
  tied_aliases: number;
  shape_changed: number;
  dtype_changed: number;
  changed: number;
  unchanged: number;
  total: number;
}

/** The diff of one pair of inputs, A (old) against B (new). */
export interface ModelDiff {
  /** Index of A and B in {@link DiffRun.inputs}. */
  from: number;
  to: number;
  epsilon: number;
  /** Tensors in display order: depth order when A keeps it, else natural name order. */
  tensors: TensorDiff[];
  summary: DiffSummary;
}

/**
 * Consecutive-update dot products for one triple of checkpoints (k, k+1, k+2), per tensor in S
 * (float tensors present in all three with equal shape).
 */
export interface TrajectoryStep {
  /** Index of the middle checkpoint. */
  at: number;
  /** Per tensor: u.v, |u|^2, |v|^2 with u = x1 - x0, v = x2 - x1. */
  tensors: { name: string; dot: number; uu: number; vv: number }[];
}

/**
 * A whole run: N >= 2 inputs, the diff of every consecutive pair, and the first-against-last diff.
 * With N = 2, `pairs` has one element and `overall === pairs[0]`.
 */
export interface DiffRun {
  inputs: InputInfo[];
  /** Diffs of consecutive inputs: pairs[k] is inputs[k] -> inputs[k+1]. */
  pairs: ModelDiff[];
  /** inputs[0] -> inputs[N-1]. */
  overall: ModelDiff;
  /** For N >= 3 when an analysis needs it: consecutive-update dots, one entry per interior checkpoint. */
  trajectory?: TrajectoryStep[];
}
