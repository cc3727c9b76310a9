import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../lib/report/formatNumber.js';

describe('formatNumber', () => {
  it.each([
    [0.0543, '0.0543'],
    [0.054312, '0.05431'],
    [-0.0002, '-2e-4'],
    [0.001, '0.001'],
    [-0.0012345, '-0.001234'],
    [0.68, '0.68'],
    [0.8769697, '0.877'],
    [0.000212997, '2.13e-4'],
    [0.0002079, '2.079e-4'],
    [1e4, '10000'],
    [99628, '99628'],
    [123456.7, '1.235e5'],
    [9.99995, '10'],
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
