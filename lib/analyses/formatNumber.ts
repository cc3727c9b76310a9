/**
 * Number formatting of the analyses' CLI lines: the same as the diff lines
 * ({@link formatNumber} in `lib/report/formatNumber.ts`), with `null` printed as `null`.
 *
 * @module
 */
import { formatNumber as formatReportNumber } from '../report/formatNumber.js';

/** {@link formatReportNumber}, or `null` for a null field. */
export function formatNumber(x: number | null): string {
  return x === null ? 'null' : formatReportNumber(x);
}
