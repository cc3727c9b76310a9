import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml } from '../../lib/report/toYaml.js';

describe('toYaml', () => {
  it('quotes YAML 1.1 booleans and escapes line separators, and round-trips', () => {
    const doc = { yes: 'no', name: 'a\u2028b\u2029c\u0085d', stats: { mean: NaN, max: Infinity, min: -Infinity }, list: ['on', 'off', 'y'] };
    const text = toYaml(doc);
    expect(text).toBe(
      [
        '"yes": "no"',
        'name: "a\\Lb\\Pc\\Nd"',
        'stats:',
        '  mean: .nan',
        '  max: .inf',
        '  min: -.inf',
        'list:',
        '  - "on"',
        '  - "off"',
        '  - "y"',
        '',
      ].join('\n'),
    );
    const back = parse(text, { version: '1.1' });
    expect(back.name).toBe('a\u2028b\u2029c\u0085d');
    expect(back.yes).toBe('no');
    expect(back.stats.mean).toBeNaN();
  });
});
