/**
 * The CLI's progress bar: one line on stderr, redrawn in place, for diffs that take more than about a
 * second. It is shown only when stderr is a terminal (never in a pipe, a file or CI logs, whatever the
 * output format on stdout) and never with `--quiet`; it is erased before anything else is printed.
 *
 * ```
 * diffai [##########--------------]  41%  0.81/1.98 GB  118/290 tensors  15.2 GB/s  ETA 0:01
 * diffai spectral [#################-------]  72%  14.40/20.00 GB  9.8 GB/s  ETA 0:01
 * ```
 *
 * One bar covers the whole run: the reports count every phase in one total (see `DiffProgress`), the
 * label names the phase running, the bar never moves back, and the rate and ETA are those of the run
 * so far (bytes per second since the first report), not of the current phase.
 *
 * @module
 */
import type { DiffProgress } from '../diff/diffModels.js';

/** Where the bar is drawn: a terminal-like stream (process.stderr in the CLI, a fake one in tests). */
export interface ProgressStream {
  write(s: string): unknown;
  /** Width in columns; 80 when unknown (0 or absent: a pseudo-terminal without a window size). */
  columns?: number;
}

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Milliseconds from creation before the bar may appear (work shorter than this shows nothing). Default 1000. */
  delayMs?: number;
  /** Minimum milliseconds between two redraws. Default 100. */
  intervalMs?: number;
  /** Clock in milliseconds (tests inject one). Default `performance.now`. */
  now?: () => number;
  /** Timer factory (tests inject one). Default `setTimeout` with `unref`. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

const PHASE_LABEL: Record<string, string> = {
  stats: '',
  unit_norms: 'unit norms ',
  trajectory: 'trajectory ',
  low_rank: 'low rank ',
  spectral: 'spectral ',
  histograms: 'histograms ',
  dequant: 'dequant ',
};

/** Bytes as GB with two decimals (the unit of the benchmark figures). */
function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(2);
}

/** Seconds as m:ss (or h:mm:ss). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * The text of one bar line for a progress report, at most `columns - 1` characters (so the cursor never
 * wraps). `rate` is in bytes per second (NaN when not known yet).
 */
export function renderProgressLine(p: DiffProgress, rate: number, columns: number): string {
  const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
  const parts = [`${String(Math.floor(frac * 100)).padStart(3)}%`, `${gb(p.bytesDone)}/${gb(p.bytesTotal)} GB`];
  if (p.tensorsTotal !== undefined && p.tensorsDone !== undefined) parts.push(`${p.tensorsDone}/${p.tensorsTotal} tensors`);
  if (Number.isFinite(rate) && rate > 0) {
    parts.push(`${(rate / 1e9).toFixed(1)} GB/s`);
    parts.push(`ETA ${formatDuration((p.bytesTotal - p.bytesDone) / rate)}`);
  }
  const head = `diffai ${PHASE_LABEL[p.phase] ?? `${p.phase} `}`;
  const tail = `  ${parts.join('  ')}`;
  // The bar keeps one width for the whole run: sized for the longest tail this run can print.
  const longest = 2 + [
    '100%',
    `${gb(p.bytesTotal)}/${gb(p.bytesTotal)} GB`,
    ...(p.tensorsTotal !== undefined ? [`${p.tensorsTotal}/${p.tensorsTotal} tensors`] : []),
    '999.9 GB/s',
    'ETA 99:99',
  ].join('  ').length;
  const width = Math.max(0, Math.min(30, columns - 1 - head.length - longest - 2));
  const bar = width >= 5 ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '-')}]` : '';
  return `${head}${bar}${tail}`.slice(0, Math.max(0, columns - 1));
}

/**
 * The rate of the run in bytes per second between its first report and now (times in
 * milliseconds); NaN until 0.2 s have passed or while nothing has been done.
 */
export function runRate(start: { t: number; bytes: number }, now: { t: number; bytes: number }): number {
  const dt = (now.t - start.t) / 1000;
  const bytes = now.bytes - start.bytes;
  return dt > 0.2 && bytes > 0 ? bytes / dt : NaN;
}

/**
 * A progress bar fed with {@link DiffProgress} reports (the `onProgress` callback of `compare`).
 * Call {@link ProgressBar.stop} when the work ends or fails: it erases the line.
 */
export class ProgressBar {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly timer: { cancel(): void };
  private visible = false;
  private drawn = false;
  private stopped = false;
  private last: DiffProgress | null = null;
  /** bytesDone of the last report as received. */
  private lastDone = -Infinity;
  private lastDraw = -Infinity;
  /** The first report, for the rate of the run: [time, bytesDone]. */
  private start: { t: number; bytes: number } | null = null;
  /** The largest fraction done shown so far (the bar never moves back). */
  private shown = 0;

  constructor(
    private readonly stream: ProgressStream,
    options: ProgressBarOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? 100;
    const setTimer =
      options.setTimer ??
      ((fn: () => void, ms: number) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return { cancel: () => clearTimeout(t) };
      });
    this.timer = setTimer(() => {
      this.visible = true;
      this.draw(true);
    }, options.delayMs ?? 1000);
  }

  /**
   * Records a progress report; redraws at most every `intervalMs` once the delay has passed. Within a
   * run `bytesDone` never decreases; a report with a smaller one starts a new run (a directory
   * comparison diffs its file pairs one after another): the bar and the rate start again.
   */
  readonly update = (p: DiffProgress): void => {
    if (this.stopped) return;
    if (p.bytesDone < this.lastDone) {
      this.start = null;
      this.shown = 0;
    }
    this.lastDone = p.bytesDone;
    this.start ??= { t: this.now(), bytes: p.bytesDone };
    const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 0;
    this.shown = Math.max(this.shown, frac);
    this.last = frac < this.shown ? { ...p, bytesDone: this.shown * p.bytesTotal } : p;
    this.draw(false);
  };

  /** Erases the bar (if it was drawn) and ignores later reports. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timer.cancel();
    if (this.drawn) this.stream.write('\r\x1b[2K');
  }

  private draw(force: boolean): void {
    if (!this.visible || this.stopped || !this.last) return;
    const t = this.now();
    if (!force && t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    const rate = runRate(this.start!, { t, bytes: this.last.bytesDone });
    this.stream.write(`\r${renderProgressLine(this.last, rate, this.stream.columns || 80)}\x1b[K`);
    this.drawn = true;
  }
}
