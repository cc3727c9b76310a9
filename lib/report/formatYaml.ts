/**
 * YAML output (`-o yaml`): the same document as JSON; NaN and infinities are YAML's `.nan`, `.inf`.
 *
 * @module
 */
import type { Report } from './Report.js';
import { toDocument } from './toDocument.js';
import { toYaml } from './toYaml.js';

/** The report as a YAML document (schema `diffai/1`). */
export function formatYaml(report: Report): string {
  return toYaml(toDocument(report));
}
