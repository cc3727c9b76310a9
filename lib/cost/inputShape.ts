/**
 * The per-sample input shape of `--input-shape` / `[thresholds] input_shape`.
 *
 * @module
 */
import { DiffaiError } from '../errors.js';

/** Largest accepted dimension: 2^20 (1,048,576 pixels or samples along one axis). */
export const MAX_INPUT_DIM = 2 ** 20;
/** Largest accepted element count per sample, 2^40: what the largest `C,L` shape reaches; more is not a real input. */
export const MAX_INPUT_ELEMENTS = 2 ** 40;

/**
 * Why `text` is not a valid input shape, or null when it is one (or empty: unknown). A valid shape is
 * `C,H,W` (images) or `C,L` (sequences) of integers from 1 to {@link MAX_INPUT_DIM}, with at most
 * {@link MAX_INPUT_ELEMENTS} elements in all. The problem names the dimension at fault.
 */
export function inputShapeProblem(text: string): string | null {
  const s = text.trim();
  if (s === '') return null;
  const parts = s.split(',').map((d) => d.trim());
  if (parts.length !== 2 && parts.length !== 3) return `${parts.length} dimension${parts.length === 1 ? '' : 's'}: give C,H,W (images) or C,L (sequences), e.g. 1,28,28`;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (!/^[-+]?\d+$/.test(p)) return `dimension ${i + 1} ${JSON.stringify(p)} is not an integer`;
    const v = Number(p);
    if (v < 1) return `dimension ${i + 1} is ${v}: every dimension must be at least 1`;
    if (v > MAX_INPUT_DIM) return `dimension ${i + 1} is ${p}: at most ${MAX_INPUT_DIM} (2^20) per dimension`;
  }
  const elements = parts.reduce((n, p) => n * Number(p), 1);
  if (elements > MAX_INPUT_ELEMENTS) return `${elements.toPrecision(3)} elements per sample: at most 2^40 (${MAX_INPUT_ELEMENTS})`;
  return null;
}

/**
 * Parses `C,H,W` (images) or `C,L` (sequences) into integers from 1 to 2^20 with at most 2^40 elements
 * ({@link inputShapeProblem}); an empty string is "unknown" (null).
 *
 * @throws DiffaiError `ERR_USAGE` for anything else, naming the problem.
 */
export function parseInputShape(text: string): number[] | null {
  const problem = inputShapeProblem(text);
  if (problem !== null) throw new DiffaiError('ERR_USAGE', `input shape ${JSON.stringify(text)}: ${problem} (expected C,H,W or C,L, e.g. 1,28,28)`);
  const s = text.trim();
  return s === '' ? null : s.split(',').map((d) => Number(d.trim()));
}
