/**
 * Output of `diffai --scan FILE ...`: the security findings of pickle-bearing files.
 *
 * @module
 */
import { createColors } from 'picocolors';
import type { ScanResult } from '../formats/pytorch/scanFile.js';
import { escapeControl } from './escapeControl.js';
import { jsonReplacer } from './formatJson.js';
import { SCHEMA } from './toDocument.js';
import { toYaml } from './toYaml.js';

/** The scan of one file, or the error that stopped it (the other files are still scanned). */
export type ScanOutcome = ScanResult | { readonly path: string; readonly error: { readonly code: string; readonly message: string } };

/**
 * CLI lines: one per file when safe, one per finding or malformed pickle otherwise. Files that could
 * not be scanned are left out here (the CLI prints their errors on stderr).
 */
export function formatScanCli(results: readonly ScanOutcome[], color = false): string {
  const c = createColors(color);
  const out: string[] = [];
  for (const r of results) {
    if ('error' in r) continue;
    if (r.safe) {
      const what = r.kind === 'none' ? 'no pickle' : `${r.pickles.length} pickle${r.pickles.length === 1 ? '' : 's'}`;
      out.push(escapeControl(`scan: ${r.path}: safe (${what})`));
      continue;
    }
    for (const f of r.findings) {
      const prefix = f.severity === 'dangerous' ? c.bold(c.red('[CRITICAL] ')) : c.yellow('[WARNING] ');
      out.push(prefix + escapeControl(`scan: ${r.path}: ${f.severity} global ${f.global} in ${f.where} (${f.opcode} at byte ${f.offset})`));
    }
    for (const e of r.errors) out.push(c.yellow('[WARNING] ') + escapeControl(`scan: ${r.path}: malformed pickle ${e.where}: ${e.message}`));
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The `diffai/1` document of a scan. */
export function scanDocument(results: readonly ScanOutcome[]): Record<string, unknown> {
  return {
    schema: SCHEMA,
    scans: results,
    summary: {
      files: results.length,
      unsafe: results.filter((r) => 'safe' in r && !r.safe).length,
      errors: results.filter((r) => 'error' in r).length,
    },
  };
}

/** JSON text of a scan. */
export function formatScanJson(results: readonly ScanOutcome[]): string {
  return JSON.stringify(scanDocument(results), jsonReplacer, 2) + '\n';
}

/** YAML text of a scan. */
export function formatScanYaml(results: readonly ScanOutcome[]): string {
  return toYaml(scanDocument(results));
}
