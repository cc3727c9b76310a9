/**
 * Number formatting of the analyses' CLI lines.
 *
 * @module
 */

/**
 * Formats a number like C's `%.4g`: 4 significant figures, trailing zeros removed, exponent form when
 * the decimal exponent is below -4 or at least 4. The exponent is written the way the diff lines write
 * it (`2.1e-4`, `1e4`: no `+`, no zero padding). `null` prints as `null`, NaN as `nan`, infinities as
 * `inf` / `-inf`.
 *
 * @example formatNumber(0.05432) === '0.05432'; formatNumber(0.8) === '0.8'; formatNumber(1.5e-5) === '1.5e-5'
 */
export function formatNumber(x: number | null): string {
  if (x === null) return 'null';
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  // toExponential rounds first, so the exponent is the one of the rounded value (9.99995 -> 1.000e+1).
  const [mantissa, expText] = x.toExponential(3).split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 4) {
    const m = stripZeros(mantissa);
    return `${m}e${exp}`;
  }
  return stripZeros(x.toFixed(3 - exp));
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
