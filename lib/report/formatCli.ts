/**
 * The default human-readable output (`-o cli`), in the vocabulary of SPEC sections 2 and 3.2.
 *
 * @module
 */
import { createColors } from 'picocolors';
import type { AnalysisLevel } from '../analyses/Analysis.js';
import { isTiedAlias } from '../diff/diffModels.js';
import { DTYPES } from '../formats/dtype.js';
import type { DiffRun, DiffSummary, ModelDiff, TensorDiff } from '../diff/ModelDiff.js';
import { escapeControl } from './escapeControl.js';
import { formatNumber as n, formatShape } from './formatNumber.js';
import type { FormatOptions, Report } from './Report.js';

type Colors = ReturnType<typeof createColors>;

/** One CLI line of a tensor, e.g. `~ fc1.weight: mean=-0.0002->-0.0001, ...`; null for hidden ones. */
export function tensorLine(t: TensorDiff, verbose: boolean, c: Colors = createColors(false)): string | null {
  return rawTensorLine({ ...t, name: escapeControl(t.name) }, verbose, c);
}

function rawTensorLine(t: TensorDiff, verbose: boolean, c: Colors): string | null {
  const [sa, sb] = t.shape;
  const [da, db] = t.dtype;
  const params = (t.stats.a ?? t.stats.b)?.count;
  switch (t.status) {
    case 'added':
    case 'removed': {
      const side = t.status === 'added' ? 1 : 0;
      if (isTiedAlias(t)) {
        return c.dim(`= ${t.name}: tied alias of ${escapeControl(t.aliasOf![side] ?? '')} (${t.status === 'added' ? 'only in B' : 'only in A'}; not a difference)`);
      }
      const sym = t.status === 'added' ? c.green('+') : c.red('-');
      return `${sym} ${t.name}: shape=${formatShape(t.shape[side])}, dtype=${t.dtype[side]}, params=${params}`;
    }
    case 'shape_changed':
      return `${c.yellow('!')} ${t.name}: shape ${formatShape(sa)} -> ${formatShape(sb)}${da !== db ? `, dtype ${da} -> ${db}` : ''}`;
    case 'dtype_changed': {
      const head = `${c.yellow('!')} ${t.name}: dtype ${da} -> ${db}`;
      if (t.dequant) {
        const q = t.dequant.diff;
        return `${head}, dequantized rel_l2=${n(q.rel_l2)}, max_abs=${n(q.max_abs)}${nonFinite(t)}`;
      }
      if (da && db && DTYPES[da].kind !== DTYPES[db].kind) {
        // Float weights against integer codes: the raw difference measures the encoding, not the weights.
        return `${head} (integer codes, not compared as values; --quantization-analysis dequantizes them)`;
      }
      const d = t.diff!;
      return `${head}, rel_l2=${n(d.rel_l2)}, max_abs=${n(d.max_abs)}${nonFinite(t)}`;
    }
    case 'changed': {
      const a = t.stats.a!;
      const b = t.stats.b!;
      const d = t.diff!;
      return (
        `${c.cyan('~')} ${t.name}: mean=${n(a.mean)}->${n(b.mean)}, std=${n(a.std)}->${n(b.std)}, ` +
        `rel_l2=${n(d.rel_l2)}, cos=${n(d.cosine)}, max_abs=${n(d.max_abs)}${nonFinite(t)}`
      );
    }
    case 'unchanged':
      return verbose ? c.dim(`  ${t.name}: unchanged, shape=${formatShape(sa)}, dtype=${da}`) : null;
  }
}

function nonFinite(t: TensorDiff): string {
  const a = t.stats.a!;
  const b = t.stats.b!;
  const parts: string[] = [];
  if (a.nan !== b.nan) parts.push(`nan=${a.nan}->${b.nan}`);
  if (a.inf !== b.inf) parts.push(`inf=${a.inf}->${b.inf}`);
  return parts.length ? ', ' + parts.join(', ') : '';
}

/** `summary: changed=4, unchanged=2, ...` */
export function summaryLine(s: DiffSummary): string {
  const parts = [
    `changed=${s.changed}`,
    `unchanged=${s.unchanged}`,
    `added=${s.added}`,
    `removed=${s.removed}`,
    `shape_changed=${s.shape_changed}`,
    `dtype_changed=${s.dtype_changed}`,
  ];
  if (s.tied_aliases) parts.push(`tied_aliases=${s.tied_aliases}`);
  return `${parts.join(', ')} (${s.total} tensors)`;
}

function levelPrefix(level: AnalysisLevel | undefined, c: Colors): string {
  if (!level) return '';
  const text = `[${level}] `;
  return level === 'CRITICAL' || level === 'ALERT' ? c.bold(c.red(text)) : level === 'HIGH' ? c.red(text) : c.yellow(text);
}

function pairTitle(run: DiffRun, d: ModelDiff): string {
  return `${run.inputs[d.from].path} -> ${run.inputs[d.to].path}`;
}

/**
 * Renders the report for a terminal: tensor lines (first input against last), then one line per
 * analysis, then the summary; with 3 or more inputs, a summary line per consecutive pair first.
 */
export function formatCli(report: Report, options: FormatOptions = {}): string {
  const c = createColors(options.color ?? false);
  const { run } = report;
  const out: string[] = [];
  for (const w of report.warnings ?? []) out.push(levelPrefix('WARNING', c) + escapeControl(`inputs: ${w}`));
  if (run.inputs.length > 2) {
    for (const p of run.pairs) out.push(c.bold(`pair ${p.from + 1}->${p.to + 1}: `) + `${escapeControl(pairTitle(run, p))}: ${summaryLine(p.summary)}`);
    out.push(c.bold(`overall: ${escapeControl(pairTitle(run, run.overall))}`));
  }
  if (!options.brief) {
    let tensors = run.overall.tensors;
    if (report.ordering) {
      const rank = new Map(report.ordering.map((name, i) => [name, i]));
      tensors = [...tensors].sort((x, y) => (rank.get(x.name) ?? Infinity) - (rank.get(y.name) ?? Infinity));
    }
    for (const t of tensors) {
      const line = tensorLine(t, options.verbose ?? false, c);
      if (line !== null) out.push(line);
    }
  }
  for (const a of report.analyses) {
    // Analysis lines quote tensor names from the files: escape them too.
    for (const line of a.lines) out.push(levelPrefix(a.result.level, c) + escapeControl(line));
  }
  out.push(c.bold('summary: ') + summaryLine(run.overall.summary));
  return out.join('\n') + '\n';
}
