/**
 * Tensor roles by name and shape: which tensors are weight matrices (the ones the anomaly tests compare
 * with each other), which are embeddings, norm gains, biases, and which are not parameters at all
 * (buffers, graph constants, optimizer state, quantization scales). See `docs/analyses.md`, "Roles".
 *
 * @module
 */
import { layoutOf } from '../diff/unitAxis.js';
import { QUANT_PARAM_SUFFIXES as QUANT_SUFFIXES } from '../quant/quantParamSuffixes.js';

/**
 * Role of a tensor.
 *
 * - `weight_matrix`: a trainable tensor of >= 2 dimensions that is not an embedding (Linear, Conv,
 *   attention projections, output heads).
 * - `embedding`: a lookup table (name segment containing `emb`, or `wte` / `wpe`), >= 2 dimensions.
 * - `norm_gain`: a 1-D weight of a normalisation layer (LayerNorm, BatchNorm, RMSNorm, `gamma`).
 * - `bias`: an additive vector (`...bias`, `beta`, Paddle `b_0`), at most one dimension larger than 1.
 * - `vector`: any other 1-D parameter (PReLU slopes, layer-scale vectors).
 * - `scalar`: a 0-d or single-element parameter (temperature, logit scale).
 * - `buffer`: running statistics and fixed buffers, not trained by the optimizer: BatchNorm
 *   `running_mean`, `running_var`, `num_batches_tracked` (and Paddle's `batch_norm_<i>.w_1` / `.w_2`),
 *   rotary `inv_freq`, `position_ids`, GPT-2 `masked_bias` and its [1, 1, n, n] causal-mask `attn.bias`.
 * - `constant`: ONNX graph constants (`.../Constant_output_0`).
 * - `optimizer_state`: tensors of an optimizer state dict (`optimizer.*`, `exp_avg`, `exp_avg_sq`,
 *   `momentum_buffer`).
 * - `quant_scale`: the scale / zero point of a quantized tensor stored beside it (`<name>_scale`,
 *   `<name>.scale`, `<name>.q_scale`, `<name>.q_min`, `<name>_zero_point`, `<name>.zero_point` where
 *   `<name>` is another tensor of the file; a Flax `norm.scale` beside `norm.bias` is not one).
 */
export type TensorRole =
  | 'weight_matrix'
  | 'embedding'
  | 'norm_gain'
  | 'bias'
  | 'vector'
  | 'scalar'
  | 'buffer'
  | 'constant'
  | 'optimizer_state'
  | 'quant_scale';

/** Roles that are not model parameters: never pooled into R, stability or the anomaly populations. */
export const NON_PARAMETER_ROLES: ReadonlySet<TensorRole> = new Set<TensorRole>(['buffer', 'constant', 'optimizer_state', 'quant_scale']);

const BUFFER_LEAVES = new Set(['running_mean', 'running_var', 'num_batches_tracked', 'inv_freq', 'position_ids', 'masked_bias']);
const OPTIMIZER_SEGMENTS = new Set(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'momentum_buffer']);

/** Splits a tensor name into its path segments (`.` and `/` separate them). */
function segments(name: string): string[] {
  return name.split(/[./]/).filter((s) => s.length > 0);
}

function isNormSegment(seg: string): boolean {
  return /norm/i.test(seg) || /^(ln|bn)(_?[a-z0-9]*)?$/i.test(seg) || /^gamma$/i.test(seg);
}

function isEmbeddingSegment(seg: string): boolean {
  return /emb/i.test(seg) || /^(wte|wpe)$/i.test(seg);
}

/**
 * The role of a tensor from its name and shape (first rule that holds, in the order of
 * {@link TensorRole}'s non-parameter roles, then scalar, bias, 1-D, embedding, weight matrix).
 *
 * @param name - full tensor name, e.g. `blocks.0.ln1.weight`.
 * @param shape - its shape (`[]` for 0-d).
 * @param siblings - names of all tensors of the model, to recognise quantization scales stored beside
 *   their tensor; without it no tensor is a `quant_scale`.
 */
export function tensorRole(name: string, shape: readonly number[], siblings?: ReadonlySet<string>): TensorRole {
  const segs = segments(name);
  const leaf = segs.length > 0 ? segs[segs.length - 1] : name;
  if (/^optim(izer)?$/i.test(segs[0] ?? '') || segs.some((s) => OPTIMIZER_SEGMENTS.has(s))) return 'optimizer_state';
  if (BUFFER_LEAVES.has(leaf)) return 'buffer';
  if (/(^|[._])batch_norm_\d+\.w_[12]$/.test(name)) return 'buffer';
  if (/bias$/i.test(leaf) && shape.length === 4 && shape[0] === 1 && shape[1] === 1 && shape[2] === shape[3] && shape[2] > 1) return 'buffer';
  if (/Constant(_\d+)?_output_\d+$/.test(name)) return 'constant';
  if (siblings) {
    for (const suffix of QUANT_SUFFIXES) {
      if (name.endsWith(suffix) && siblings.has(name.slice(0, -suffix.length))) return 'quant_scale';
    }
  }
  const wide = shape.filter((d) => d > 1).length;
  if (wide === 0) return 'scalar';
  if (wide === 1 && (/bias$/i.test(leaf) || /^beta$/i.test(leaf) || /^b_\d+$/.test(leaf))) return 'bias';
  if (shape.length === 1) return segs.some(isNormSegment) ? 'norm_gain' : 'vector';
  if (segs.some(isEmbeddingSegment)) return 'embedding';
  return 'weight_matrix';
}

/**
 * The [out, in] matrix view of a weight tensor of >= 2 dimensions (SPEC section 3, Notation).
 *
 * - PyTorch layout (the default): Linear [out, in]; Conv [out, in, kh, kw] (OIHW) viewed as
 *   [out, in * kh * kw].
 * - TensorFlow layout (declared by the file's metadata, `format` = `tfjs-weights`, `tf` or `keras`,
 *   the same rule the diff engine uses for unit norms): Dense [in, out] and Conv [kh, kw, in, out]
 *   (HWIO) have the output last: [out, prod(other dims)]. A depthwise kernel [kh, kw, C, mult] is
 *   viewed the same way, [mult, kh * kw * C]; its per-channel structure is not modelled.
 *
 * @param metadata - the file's metadata ({@link InputInfo.metadata}).
 * @returns [out, in], or null for tensors of fewer than 2 dimensions.
 */
export function matrixView(shape: readonly number[], metadata: Record<string, unknown>): [number, number] | null {
  if (shape.length < 2) return null;
  const count = shape.reduce((p, d) => p * d, 1);
  const out = layoutOf(metadata) === 'output-last' ? shape[shape.length - 1] : shape[0];
  return out === 0 ? [0, 0] : [out, count / out];
}
