import { describe, expect, it } from 'vitest';
import { escapeControl } from '../../lib/report/escapeControl.js';

describe('escapeControl', () => {
  it('leaves printable names alone', () => {
    expect(escapeControl('blocks.0.attn.in_proj_weight /Conv_0 é 模型')).toBe('blocks.0.attn.in_proj_weight /Conv_0 é 模型');
  });
  it('escapes line breaks, ANSI escapes, DEL, C1 and Unicode line separators', () => {
    expect(escapeControl('x\nsummary: changed=0\r\x1b[8m\t\x7f\x85\u2028')).toBe('x\\nsummary: changed=0\\r\\u{1b}[8m\\t\\u{7f}\\u{85}\\u{2028}');
  });
});
