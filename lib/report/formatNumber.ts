/**
 * Number formatting of CLI lines: short, readable, and stable across platforms.
 *
 * @module
 */

/**
 * Formats a number for a CLI line: 4 significant digits for |x| in [1e-3, 1e5), else 2 significant
 * digits in exponent form (`2.1e-4`, `1.9e46`); `nan`, `inf`, `-inf` for non-finite values.
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (Number.isInteger(x) && a < 1e15) return String(x);
  if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(4)));
  return Number(x.toPrecision(2)).toExponential().replace('e+', 'e');
}

/** Formats a shape as `[64, 128]`. */
export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? '-' : `[${shape.join(', ')}]`;
}
