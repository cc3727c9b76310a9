/**
 * The per-sample input shape of `--input-shape` / `[thresholds] input_shape`.
 *
 * @module
 */
import { DiffaiError } from '../errors.js';

/**
 * Parses `C,H,W` (images) or `C,L` (sequences) into positive integers; an empty string is "unknown"
 * (null).
 *
 * @throws DiffaiError `ERR_USAGE` for anything else.
 */
export function parseInputShape(text: string): number[] | null {
  const s = text.trim();
  if (s === '') return null;
  const dims = s.split(',').map((d) => Number(d.trim()));
  if ((dims.length !== 2 && dims.length !== 3) || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new DiffaiError('ERR_USAGE', `input shape ${JSON.stringify(text)}: expected C,H,W or C,L of positive integers, e.g. 1,28,28`);
  }
  return dims;
}
