/**
 * Robust outlier scores.
 *
 * @module
 */

/** Median of the values (NaN for an empty list). Does not modify the input. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Modified z-scores, M_i = 0.6745 (x_i - median(x)) / MAD with MAD = median(|x_i - median(x)|)
 * (Iglewicz and Hoaglin, "How to Detect and Handle Outliers", ASQC 1993; they recommend calling
 * |M_i| > 3.5 an outlier). 0.6745 is the 0.75 quantile of the standard normal, so M is comparable to an
 * ordinary z-score on Gaussian data.
 *
 * When MAD = 0 (more than half of the values are equal) the mean absolute deviation stands in:
 * M_i = (x_i - median) / (1.253314 MeanAD), 1.253314 = sqrt(pi / 2) making MeanAD consistent with
 * the standard deviation for Gaussian data. When that is also 0, every score is 0.
 *
 * @param values - finite numbers.
 * @returns one score per value, in input order.
 */
export function modifiedZScores(values: readonly number[]): number[] {
  if (values.length === 0) return [];
  const med = median(values);
  const dev = values.map((x) => Math.abs(x - med));
  const mad = median(dev);
  if (mad > 0) return values.map((x) => (0.6745 * (x - med)) / mad);
  const meanAD = dev.reduce((s, d) => s + d, 0) / dev.length;
  if (meanAD > 0) return values.map((x) => (x - med) / (1.253314 * meanAD));
  return values.map(() => 0);
}
