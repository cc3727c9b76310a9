/**
 * JSON output (`-o json`).
 *
 * @module
 */
import type { Report } from './Report.js';
import { toDocument } from './toDocument.js';

/**
 * JSON replacer: NaN and infinities become the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has
 * no literal for them); typed arrays become plain arrays.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/** The report as a JSON document (schema `diffai/1`), pretty-printed, with a trailing newline. */
export function formatJson(report: Report): string {
  return JSON.stringify(toDocument(report), jsonReplacer, 2) + '\n';
}
