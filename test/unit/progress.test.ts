/**
 * The CLI progress bar (lib/cli/progress.ts): when it appears, how often it redraws, what a line
 * holds, and that it erases itself. Driven by a fake clock, a fake timer and a fake stream.
 */
import { describe, expect, it } from 'vitest';

import { formatDuration, ProgressBar, renderProgressLine } from '../../lib/cli/progress.js';
import type { DiffProgress } from '../../lib/diff/diffModels.js';

function harness(columns = 100) {
  let t = 0;
  let fire: (() => void) | null = null;
  let cancelled = false;
  const writes: string[] = [];
  const bar = new ProgressBar(
    { write: (s: string) => writes.push(s), columns },
    {
      now: () => t,
      setTimer: (fn, ms) => {
        expect(ms).toBe(1000);
        fire = fn;
        return { cancel: () => (cancelled = true) };
      },
    },
  );
  return {
    bar,
    writes,
    advance: (ms: number) => (t += ms),
    fireTimer: () => fire?.(),
    cancelled: () => cancelled,
  };
}

const report = (done: number, total = 2e9, extra: Partial<DiffProgress> = {}): DiffProgress => ({ phase: 'stats', bytesDone: done, bytesTotal: total, ...extra });

describe('ProgressBar', () => {
  it('draws nothing for work that ends before the delay, and then writes nothing on stop', () => {
    const h = harness();
    h.bar.update(report(1e9));
    h.advance(500);
    h.bar.update(report(2e9));
    h.bar.stop();
    expect(h.writes).toEqual([]);
    expect(h.cancelled()).toBe(true);
  });

  it('appears when the delay timer fires, redraws at most every 100 ms, and erases its line on stop', () => {
    const h = harness();
    h.bar.update(report(0));
    h.advance(1000);
    h.bar.update(report(5e8));
    expect(h.writes).toEqual([]); // the timer has not fired yet
    h.fireTimer();
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]).toMatch(/^\rdiffai \[#+-+\] +25% {2}0\.50\/2\.00 GB/);
    h.advance(50);
    h.bar.update(report(6e8));
    expect(h.writes).toHaveLength(1); // throttled
    h.advance(60);
    h.bar.update(report(7e8));
    expect(h.writes).toHaveLength(2);
    // 7e8 bytes in 1.11 s since the phase began: 0.6 GB/s, 1.3e9 bytes left.
    expect(h.writes[1]).toContain('0.6 GB/s');
    expect(h.writes[1]).toContain('ETA 0:02');
    h.bar.stop();
    expect(h.writes.at(-1)).toBe('\r\x1b[2K');
    h.bar.update(report(8e8));
    h.bar.stop();
    expect(h.writes.at(-1)).toBe('\r\x1b[2K');
    expect(h.writes).toHaveLength(3);
  });

  it('shows tensors when the report has them, and the phase name of the extra passes', () => {
    const h = harness();
    h.bar.update(report(1e9, 2e9, { tensorsDone: 120, tensorsTotal: 290 }));
    h.fireTimer();
    expect(h.writes[0]).toContain('120/290 tensors');
    h.advance(200);
    h.bar.update({ phase: 'unit_norms', bytesDone: 1e8, bytesTotal: 4e8 });
    expect(h.writes[1]).toMatch(/^\rdiffai unit norms \[/);
    expect(h.writes[1]).not.toContain('GB/s'); // a new phase: no rate until 0.2 s of it
  });
});

describe('renderProgressLine', () => {
  it('fits the terminal width and keeps one bar width for the whole run', () => {
    for (const columns of [20, 40, 60, 80, 200]) {
      const lines = [0, 0.3, 1].map((f) => renderProgressLine(report(f * 1.5e10, 1.5e10, { tensorsDone: Math.round(f * 1200), tensorsTotal: 1200 }), 2.5e10, columns));
      for (const l of lines) expect(l.length).toBeLessThan(columns);
      const bars = lines.map((l) => /\[[#-]*\]/.exec(l)?.[0].length ?? 0);
      expect(new Set(bars).size).toBe(1);
    }
  });

  it('formats percent, bytes, rate and ETA', () => {
    const l = renderProgressLine(report(5e8, 2e9), 1e9, 120);
    expect(l).toContain(' 25%');
    expect(l).toContain('0.50/2.00 GB');
    expect(l).toContain('1.0 GB/s');
    expect(l).toContain('ETA 0:02');
    expect(renderProgressLine(report(0, 0), NaN, 120)).toContain('  0%');
  });

  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61.4)).toBe('1:01');
    expect(formatDuration(3 * 3600 + 5)).toBe('3:00:05');
    expect(formatDuration(NaN)).toBe('--:--');
  });
});
