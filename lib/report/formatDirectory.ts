/**
 * Output of a directory comparison (`diffai dirA dirB`) in every format.
 *
 * @module
 */
import { createColors } from 'picocolors';
import type { DirectoryReport } from '../compareDirectories.js';
import { escapeControl } from './escapeControl.js';
import { formatCli } from './formatCli.js';
import { jsonReplacer } from './formatJson.js';
import type { FormatOptions } from './Report.js';
import { hasDifferences, SCHEMA, toDocument } from './toDocument.js';
import { toYaml } from './toYaml.js';

/** True when any file pair differs or a model file is present on one side only. */
export function directoryHasDifferences(d: DirectoryReport): boolean {
  return d.onlyA.length > 0 || d.onlyB.length > 0 || d.files.some((f) => f.report.run.pairs.some(hasDifferences));
}

/** The `diffai/1` document of a directory comparison: one full document per file pair. */
export function directoryDocument(d: DirectoryReport): Record<string, unknown> {
  return {
    schema: SCHEMA,
    directories: [d.a, d.b],
    files: d.files.map((f) => ({ relative: f.relative, ...toDocument(f.report) })),
    only_a: d.onlyA,
    only_b: d.onlyB,
    ignored: d.ignored,
    summary: {
      compared: d.files.length,
      differing: d.files.filter((f) => f.report.run.pairs.some(hasDifferences)).length,
      only_a: d.onlyA.length,
      only_b: d.onlyB.length,
      differences: directoryHasDifferences(d),
    },
  };
}

/** CLI text: a section per file pair (`== relative/path`), the one-sided files, and a directory summary. */
export function formatDirectoryCli(d: DirectoryReport, options: FormatOptions = {}): string {
  const c = createColors(options.color ?? false);
  const out: string[] = [];
  for (const f of d.files) {
    out.push(c.bold(`== ${escapeControl(f.relative)}`));
    out.push(formatCli(f.report, options).trimEnd());
  }
  for (const rel of d.onlyA) out.push(`${c.red('-')} file ${escapeControl(rel)}: only in ${escapeControl(d.a)}`);
  for (const rel of d.onlyB) out.push(`${c.green('+')} file ${escapeControl(rel)}: only in ${escapeControl(d.b)}`);
  const doc = directoryDocument(d).summary as Record<string, number>;
  out.push(
    c.bold('directory summary: ') +
      `compared=${doc.compared}, differing=${doc.differing}, only_a=${doc.only_a}, only_b=${doc.only_b}, ignored=${d.ignored.length}`,
  );
  return out.join('\n') + '\n';
}

/** JSON text of a directory comparison. */
export function formatDirectoryJson(d: DirectoryReport): string {
  return JSON.stringify(directoryDocument(d), jsonReplacer, 2) + '\n';
}

/** YAML text of a directory comparison. */
export function formatDirectoryYaml(d: DirectoryReport): string {
  return toYaml(directoryDocument(d));
}
