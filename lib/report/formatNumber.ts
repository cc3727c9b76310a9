/**
 * Number formatting of every CLI line (diff lines and analysis lines): short, readable, and stable
 * across platforms.
 *
 * @module
 */

/**
 * Formats a number for a CLI line: integers as they are (below 1e15); otherwise 4 significant digits,
 * in decimal form for magnitudes in [1e-3, 1e5) and in exponent form outside (`2.13e-4`, `1.9e46`),
 * trailing zeros removed, the exponent without `+` or padding; `nan`, `inf`, `-inf` for non-finite
 * values.
 *
 * @example formatNumber(0.05432) === '0.05432'; formatNumber(0.000212997) === '2.13e-4'; formatNumber(8192) === '8192'
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  // toExponential rounds first, so the exponent is the one of the rounded value (9.99995 -> 1.000e+1).
  const [mantissa, expText] = x.toExponential(3).split('e');
  const exp = Number(expText);
  if (exp < -3 || exp >= 5) return `${stripZeros(mantissa)}e${exp}`;
  return String(Number(x.toPrecision(4)));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** Formats a shape as `[64, 128]`. */
export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? '-' : `[${shape.join(', ')}]`;
}
