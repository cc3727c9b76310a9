import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../lib/report/formatNumber.js';

describe('formatNumber', () => {
  it.each([
    [0.0543, '0.0543'],
    [0.054312, '0.05431'],
    [-0.0002, '-2e-4'],
    [-0.0012345, '-0.001234'],
    [0.68, '0.68'],
    [0.8769697, '0.877'],
    [0.000212997, '2.1e-4'],
    [1.9e46, '1.9e46'],
    [12345.678, '12350'],
    [8192, '8192'],
    [0, '0'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ])('%s -> %s', (x, s) => {
    expect(formatNumber(x)).toBe(s);
  });
});
