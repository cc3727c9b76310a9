/**
 * JSON-safe numbers for analysis results and their detail.
 *
 * @module
 */

/**
 * `x` when it is a finite number, else `null`: results and their detail never hold NaN or
 * Infinity (JSON has neither). Where an infinite value has a meaning (a relative update from an
 * all-zero tensor), the analysis lists that tensor apart instead.
 */
export function jsonNumber(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
