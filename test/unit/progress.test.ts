/**
 * Progress: the CLI bar (lib/cli/progress.ts: when it appears, how often it redraws, what a line
 * holds, that it never moves back within a run and erases itself; driven by a fake clock, a fake
 * timer and a fake stream), the run-wide total the diff engine reports (lib/diff/runProgress.ts), and
 * the spectral step's estimate of its remaining work. Arithmetic only: no timing.
 */
import { describe, expect, it } from 'vitest';

import { formatDuration, ProgressBar, renderProgressLine, runRate } from '../../lib/cli/progress.js';
import type { DiffProgress } from '../../lib/diff/diffModels.js';
import { estimatePhases, RunProgress } from '../../lib/diff/runProgress.js';
import { remainingSteps, SPECTRAL_CALM_STEPS, SPECTRAL_EXPECTED_ITERATIONS, SPECTRAL_MAX_ITERATIONS, SPECTRAL_TOLERANCE } from '../../lib/diff/spectralNorm.js';

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
    // 7e8 bytes in 1.11 s since the first report: 0.6 GB/s, 1.3e9 bytes left.
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
    h.bar.update({ phase: 'unit_norms', bytesDone: 1.2e9, bytesTotal: 2e9 });
    expect(h.writes[1]).toMatch(/^\rdiffai unit norms \[/);
    h.advance(200);
    h.bar.update({ phase: 'spectral', bytesDone: 1.5e9, bytesTotal: 2e9 });
    expect(h.writes[2]).toMatch(/^\rdiffai spectral \[/);
  });

  it('keeps one rate and one bar over the phases of a run, never moving back, and starts again for a new run', () => {
    const h = harness(120);
    h.bar.update(report(0, 1e10));
    h.fireTimer();
    h.advance(1000);
    h.bar.update(report(2e9, 1e10));
    h.advance(1000);
    h.bar.update({ phase: 'spectral', bytesDone: 4e9, bytesTotal: 1e10 });
    // the run's rate: 4e9 bytes in 2 s, 6e9 left
    expect(h.writes.at(-1)).toContain(' 40%');
    expect(h.writes.at(-1)).toContain('2.0 GB/s');
    expect(h.writes.at(-1)).toContain('ETA 0:03');
    // a report whose total grew would show less done: the bar holds at 40 %
    h.advance(200);
    h.bar.update({ phase: 'spectral', bytesDone: 4.1e9, bytesTotal: 1.2e10 });
    expect(h.writes.at(-1)).toContain(' 40%');
    expect(h.writes.at(-1)).toContain('4.80/12.00 GB');
    // a smaller bytesDone is a new run (a directory comparison's next file pair)
    h.advance(200);
    h.bar.update(report(1e8, 1e9));
    expect(h.writes.at(-1)).toMatch(/^\rdiffai \[#*-+\] +10%/);
    expect(h.writes.at(-1)).not.toContain('GB/s');
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

  it('runRate: bytes per second since the first report, NaN before 0.2 s or without work', () => {
    expect(runRate({ t: 0, bytes: 0 }, { t: 2000, bytes: 4e9 })).toBe(2e9);
    expect(runRate({ t: 1000, bytes: 1e9 }, { t: 3000, bytes: 2e9 })).toBe(5e8);
    expect(runRate({ t: 0, bytes: 0 }, { t: 150, bytes: 4e9 })).toBeNaN();
    expect(runRate({ t: 0, bytes: 5 }, { t: 5000, bytes: 5 })).toBeNaN();
  });

  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61.4)).toBe('1:01');
    expect(formatDuration(3 * 3600 + 5)).toBe('3:00:05');
    expect(formatDuration(NaN)).toBe('--:--');
  });
});

describe('RunProgress', () => {
  const collect = (phases: Parameters<typeof estimatePhases>[0], needs: Parameters<typeof estimatePhases>[1], steps = 10) => {
    const seen: DiffProgress[] = [];
    const rp = new RunProgress((p) => seen.push(p), estimatePhases(phases, needs, steps));
    return { rp, seen };
  };
  const shape = { modelBytes: [100, 100, 100], statsBytes: 200, weightBytes: 150, changedMatrixBytes: 120, codedPairBytes: 0 };

  it('plans the phases a run needs, in order, with their expected bytes', () => {
    expect(estimatePhases(shape, {}, 10)).toEqual([{ phase: 'stats', bytes: 200 }]);
    expect(estimatePhases(shape, { unitNorms: true, trajectory: true, lowRank: true, spectral: true, histograms: true, dequant: true }, 10)).toEqual([
      { phase: 'stats', bytes: 200 },
      { phase: 'unit_norms', bytes: 150 },
      { phase: 'trajectory', bytes: 300 },
      { phase: 'low_rank', bytes: 480 },
      { phase: 'spectral', bytes: 1500 },
      { phase: 'histograms', bytes: 150 },
      { phase: 'dequant', bytes: 0 },
    ]);
    // a trajectory needs 3 models
    expect(estimatePhases({ ...shape, modelBytes: [100, 100] }, { trajectory: true }, 10).map((p) => p.phase)).toEqual(['stats']);
  });

  it('places each phase inside its share of one total, so bytesDone only grows', () => {
    const { rp, seen } = collect(shape, { unitNorms: true, spectral: true });
    // total 200 + 150 + 1500
    rp.report({ phase: 'stats', bytesDone: 100, bytesTotal: 200, tensorsDone: 3, tensorsTotal: 7 });
    expect(seen.at(-1)).toEqual({ phase: 'stats', bytesDone: 100, bytesTotal: 1850, tensorsDone: 3, tensorsTotal: 7 });
    rp.report({ phase: 'stats', bytesDone: 150, bytesTotal: 200 });
    // the next phase starts at the end of the previous share, whatever the last report of it said
    rp.report({ phase: 'unit_norms', bytesDone: 0, bytesTotal: 999 });
    expect(seen.at(-1)!.bytesDone).toBe(200);
    rp.report({ phase: 'unit_norms', bytesDone: 999, bytesTotal: 999 });
    expect(seen.at(-1)!.bytesDone).toBe(350);
    // the spectral step's own total moves (an estimate): the fraction shown never goes back
    rp.report({ phase: 'spectral', bytesDone: 300, bytesTotal: 1000 });
    expect(seen.at(-1)!.bytesDone).toBe(350 + 450);
    rp.report({ phase: 'spectral', bytesDone: 310, bytesTotal: 1200 });
    expect(seen.at(-1)!.bytesDone).toBe(350 + 450);
    rp.report({ phase: 'spectral', bytesDone: 900, bytesTotal: 1000 });
    expect(seen.at(-1)).toEqual({ phase: 'spectral', bytesDone: 350 + 1350, bytesTotal: 1850 });
    // a late report of an earlier phase is dropped
    rp.report({ phase: 'unit_norms', bytesDone: 10, bytesTotal: 999 });
    expect(seen).toHaveLength(7);
    for (let i = 1; i < seen.length; i++) expect(seen[i].bytesDone).toBeGreaterThanOrEqual(seen[i - 1].bytesDone);
  });

  it('lowers a phase estimate that has not started, never raises one, and gives an unplanned phase no share', () => {
    const { rp, seen } = collect(shape, { lowRank: true });
    expect(rp.total).toBe(200 + 480);
    rp.report({ phase: 'stats', bytesDone: 200, bytesTotal: 200 });
    rp.revise('low_rank', 1000);
    expect(rp.total).toBe(680);
    rp.revise('low_rank', 80);
    expect(rp.total).toBe(280);
    rp.report({ phase: 'low_rank', bytesDone: 40, bytesTotal: 80 });
    expect(seen.at(-1)).toEqual({ phase: 'low_rank', bytesDone: 240, bytesTotal: 280 });
    rp.revise('stats', 0); // started already: unchanged
    expect(rp.total).toBe(280);
    rp.report({ phase: 'histograms', bytesDone: 5, bytesTotal: 10 });
    expect(seen.at(-1)).toEqual({ phase: 'histograms', bytesDone: 280, bytesTotal: 280 });
  });
});

describe('remainingSteps (spectral progress estimate)', () => {
  it('expects SPECTRAL_EXPECTED_ITERATIONS steps until the changes show a trend', () => {
    expect(remainingSteps([], 0)).toBe(SPECTRAL_EXPECTED_ITERATIONS);
    expect(remainingSteps([1, 0.5, 0.4], 0)).toBe(SPECTRAL_EXPECTED_ITERATIONS - 3);
    // changes that do not shrink: no trend
    const flat = Array.from({ length: 10 }, () => 1e-3);
    expect(remainingSteps(flat, 0)).toBe(SPECTRAL_EXPECTED_ITERATIONS - 10);
    // past the expectation: at least one more
    expect(remainingSteps(Array.from({ length: 50 }, () => 1e-3), 0)).toBe(1);
  });

  it('extrapolates shrinking changes to the tolerance, then counts the calm steps left', () => {
    // changes divided by 10 per step, last 1e-3: 3 more steps to 1e-6, plus the calm steps
    const six = [1e2, 1e1, 1, 1e-1, 1e-2, 1e-3];
    expect(SPECTRAL_TOLERANCE).toBe(1e-6);
    expect(remainingSteps(six, 0)).toBe(3 + SPECTRAL_CALM_STEPS);
    // below the tolerance already: the calm steps still missing
    expect(remainingSteps([...six, 1e-7], 1)).toBe(SPECTRAL_CALM_STEPS - 1);
    // never beyond the cap
    const slow = Array.from({ length: SPECTRAL_MAX_ITERATIONS - 2 }, (_, i) => 0.96 ** i);
    expect(remainingSteps(slow, 0)).toBe(2);
  });
});
