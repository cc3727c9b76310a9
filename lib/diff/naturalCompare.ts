/**
 * Natural order of tensor names: digit runs compare as numbers, so `blocks.2` sorts before `blocks.10`.
 *
 * @module
 */

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Compares two tensor names in natural order (a comparator for `Array.prototype.sort`). */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
