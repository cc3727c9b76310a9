/**
 * The JSON/YAML document of a report (schema `diffai/1`, SPEC section 4; described in
 * `docs/output.md`).
 *
 * @module
 */
import type { ModelDiff, TensorDiff } from '../diff/ModelDiff.js';
import { isTiedAlias } from '../diff/diffModels.js';
import type { Report } from './Report.js';

/** Schema identifier of the document. Bumped only for incompatible changes. */
export const SCHEMA = 'diffai/1';

function orderTensors(tensors: readonly TensorDiff[], ordering: readonly string[] | undefined): TensorDiff[] {
  if (!ordering) return [...tensors];
  const rank = new Map(ordering.map((n, i) => [n, i]));
  return [...tensors].sort((x, y) => (rank.get(x.name) ?? Infinity) - (rank.get(y.name) ?? Infinity));
}

function tensorEntry(t: TensorDiff): Record<string, unknown> {
  const e: Record<string, unknown> = {
    name: t.name,
    status: t.status,
    dtype: t.dtype,
    shape: t.shape,
    kind: t.kind,
    stats: t.stats,
    diff: t.diff,
  };
  if (t.aliasOf) e.alias_of = t.aliasOf;
  if (isTiedAlias(t)) e.tied_alias = true;
  if (t.lowRank) e.low_rank = t.lowRank;
  if (t.dequant) e.dequant = t.dequant;
  if (t.spectral) e.spectral = t.spectral;
  if (t.histogram) e.histogram = t.histogram;
  return e;
}

/** True when the pair has any difference (tied aliases are not differences). */
export function hasDifferences(d: ModelDiff): boolean {
  const s = d.summary;
  return s.added + s.removed + s.shape_changed + s.dtype_changed + s.changed > 0;
}

/**
 * Builds the document: `schema`, `inputs`, `tensors` (first input against last), `pairs` (every
 * consecutive pair, only with 3 or more inputs), `analyses` and `summary`. Non-finite numbers stay
 * numbers here; {@link formatJson} writes them as strings.
 */
export function toDocument(report: Report): Record<string, unknown> {
  const { run } = report;
  const doc: Record<string, unknown> = {
    schema: SCHEMA,
    inputs: run.inputs.map((i) => ({ path: i.path, format: i.format, tensors: i.tensors, params: i.params, bytes: i.bytes, metadata: i.metadata })),
    epsilon: run.overall.epsilon,
    tensors: orderTensors(run.overall.tensors, report.ordering).map(tensorEntry),
  };
  if (run.inputs.length > 2) {
    doc.pairs = run.pairs.map((p) => ({
      from: p.from,
      to: p.to,
      summary: p.summary,
      tensors: orderTensors(p.tensors, report.ordering).map(tensorEntry),
    }));
  }
  if (report.warnings?.length) doc.warnings = report.warnings;
  const analyses: Record<string, unknown> = {};
  for (const a of report.analyses) analyses[a.key] = a.result;
  doc.analyses = analyses;
  doc.summary = {
    ...run.overall.summary,
    differences: run.pairs.some(hasDifferences) || hasDifferences(run.overall),
  };
  return doc;
}
