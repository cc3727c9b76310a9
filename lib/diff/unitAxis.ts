/**
 * Where the output units (neurons, channels) of a weight tensor are, for per-unit norms.
 *
 * PyTorch stores Linear weights as [out, in] and Conv kernels as [out, in, kh, kw] (OIHW): units are
 * axis 0. TensorFlow / TF.js store Dense kernels as [in, out] and Conv kernels as [kh, kw, in, out]
 * (HWIO), depthwise kernels as [kh, kw, C, multiplier]: units are the last axis. The layout is known
 * only from the file's metadata (safetensors `__metadata__.format == "tfjs-weights"`); otherwise the
 * PyTorch layout is assumed.
 *
 * @module
 */

/** A [outer, n, inner] view of a tensor whose middle axis holds the units. */
export interface UnitView {
  outer: number;
  n: number;
  inner: number;
  layout: 'output-first' | 'output-last';
}

/** Returns the layout convention a file's metadata declares. */
export function layoutOf(metadata: Record<string, unknown>): 'output-first' | 'output-last' {
  const fmt = metadata['format'];
  return fmt === 'tfjs-weights' || fmt === 'tf' || fmt === 'keras' ? 'output-last' : 'output-first';
}

/**
 * The unit view of a weight tensor of at least 2 dimensions, each of size >= 2 on the unit axis and the
 * rest; null for anything smaller (biases, gains, scalars, 1-wide matrices).
 */
export function unitViewOf(shape: readonly number[], layout: 'output-first' | 'output-last'): UnitView | null {
  if (shape.length < 2) return null;
  const count = shape.reduce((p, d) => p * d, 1);
  if (layout === 'output-first') {
    const n = shape[0];
    const inner = count / n;
    return n >= 2 && inner >= 2 ? { outer: 1, n, inner, layout } : null;
  }
  const n = shape[shape.length - 1];
  const outer = count / n;
  return n >= 2 && outer >= 2 ? { outer, n, inner: 1, layout } : null;
}
