import { describe, expect, it } from 'vitest';
import { sortByChangeMagnitude } from '../../../lib/analyses/sortByChangeMagnitude.js';
import type { SortKey } from '../../../lib/config/Config.js';
import { config, jsonRoundTrip, mat, pairRun, vec } from './builders.js';

/**
 * a: [3,4] -> [3,4.5]   rel_l2 0.1, cosine 27 / (5 sqrt(29.25)) = 0.99852, max_abs 0.5
 * b: [1,0] -> [1,0.5]   rel_l2 0.5, cosine 1 / sqrt(1.25) = 0.89443,     max_abs 0.5
 * c: unchanged          rel_l2 0,   cosine 1
 * e: [0,0] -> [0.2,0]   rel_l2 inf (moved from zero), cosine NaN,       max_abs 0.2
 * f: shape [2] -> [3]   no pair statistics
 * d: added              no pair statistics
 */
const run = pairRun(
  { a: vec([3, 4]), b: vec([1, 0]), c: vec([7, 7]), e: vec([0, 0]), f: vec([1, 1]) },
  { a: vec([3, 4.5]), b: vec([1, 0.5]), c: vec([7, 7]), e: vec([0.2, 0]), f: vec([1, 1, 1]), d: mat([1, 2, 3, 4], 2, 2) },
);
const order = (key: SortKey) => sortByChangeMagnitude.run({ run, config: config({}, { sort_key: key }) });

describe('sort_by_change_magnitude (#27)', () => {
  it('orders by rel_l2 descending by default: moved-from-zero first, tensors without a value last', () => {
    const r = sortByChangeMagnitude.run({ run, config: config() });
    expect(r.key).toBe('rel_l2');
    expect(r.ordering).toEqual(['e', 'b', 'a', 'c', 'f', 'd']);
    expect(r.detail.entries[0]).toEqual({ name: 'e', status: 'changed', value: null, from_zero: true });
    expect(r.detail.entries[1].value).toBeCloseTo(0.5, 14);
    expect(jsonRoundTrip(r)).toEqual(r);
    expect(sortByChangeMagnitude.format(r)).toEqual([
      'sort_by_change_magnitude: ordering=[e=inf (from zero), b=0.5, a=0.1, f=shape_changed, d=added] (by rel_l2, descending)',
    ]);
  });

  it('orders by cosine ascending (less similar first), NaN cosine last', () => {
    const r = order('cosine');
    expect(r.direction).toBe('ascending');
    expect(r.ordering).toEqual(['b', 'a', 'c', 'e', 'f', 'd']);
    expect(r.detail.entries[0].value).toBeCloseTo(1 / Math.sqrt(1.25), 14);
  });

  it('orders by max_abs with ties in diff order, and by name', () => {
    expect(order('max_abs').ordering).toEqual(['a', 'b', 'e', 'c', 'f', 'd']);
    expect(order('name').ordering).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('shows top_k changed tensors in the CLI line', () => {
    const r = sortByChangeMagnitude.run({ run, config: config({}, { top_k: 2 }) });
    expect(sortByChangeMagnitude.format(r)).toEqual(['sort_by_change_magnitude: ordering=[e=inf (from zero), b=0.5, +3 more] (by rel_l2, descending)']);
  });
});
