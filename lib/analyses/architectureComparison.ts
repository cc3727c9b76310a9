/**
 * #5 `--architecture-comparison`: type1, type2, depth, differences (+ composition) (SPEC section 3,
 * row 5), from the structure recognition of `lib/structure/`.
 *
 * @module
 */
import { isTiedAlias } from '../diff/diffModels.js';
import type { Component, ModelStructure } from '../structure/ModelStructure.js';
import { recognizeStructure } from '../structure/recognizeStructure.js';
import type { Analysis, AnalysisContext, AnalysisResult } from './Analysis.js';
import { formatFields } from './formatFields.js';
import { formatNumber } from './formatNumber.js';
import { entryClasses, type EntryClass } from './modelBytes.js';

/** One structural difference. */
export interface ArchitectureDifference {
  tensor: string;
  status: 'added' | 'removed' | 'shape_changed' | 'dtype_changed';
  shape: [number[] | null, number[] | null];
  dtype: [string | null, string | null];
}

/** A tensor added, removed or changed that is not a model parameter, listed apart (not a difference). */
export interface NonParameterChange {
  tensor: string;
  status: ArchitectureDifference['status'];
  /** What it is on the side(s) where it exists (`optimizer`, `quant_param`, `buffer`, `constant`). */
  class: Exclude<EntryClass, 'parameter' | 'alias'>;
}

/** The structure of one input as the detail reports it. */
export interface StructureSummary {
  type: string;
  type_source: string;
  /** The type from the components alone (differs from `type` when config.json names the model). */
  components_type: string;
  composition: Component[];
  hybrid: string | null;
  depth: number;
  depth_source: string;
  blocks: ModelStructure['blocks'];
  depth_order: ModelStructure['depth_order'];
  depth_order_reason: string | null;
  tied: ModelStructure['tied'];
  context_length: ModelStructure['context_length'];
  layers: { name: string; kind: string; shape: number[]; dtype: string; params: number; head: boolean; block: number | null; attention?: unknown; conv?: unknown; recurrent?: unknown; tied_to?: string }[];
}

/** Result of #5. */
export interface ArchitectureResult extends AnalysisResult {
  type1: string;
  type2: string;
  /** [depth of A, depth of B]: numbered blocks, else weight layers. */
  depth: [number, number];
  /** Added + removed + shape changes + dtype changes of model parameters (tied aliases and non-parameter entries apart). */
  differences: number;
  /** The parameter composition of A and B. */
  composition: { a: Component[]; b: Component[] };
  detail: {
    a: StructureSummary;
    b: StructureSummary;
    differences: ArchitectureDifference[];
    /** Tensors present on one side only that are tied aliases (not removals). */
    tied_aliases: { tensor: string; side: 'a' | 'b'; alias_of: string }[];
    /**
     * Tensors added, removed or changed that are not model parameters on either side where they exist:
     * optimizer state, quantization scales / zero points / minimums, buffers, constants.
     */
    non_parameters: NonParameterChange[];
    counts: { added: number; removed: number; shape_changed: number; dtype_changed: number };
  };
}

const NON_PARAMETER_TEXT: Record<NonParameterChange['class'], string> = {
  optimizer: 'optimizer state',
  quant_param: 'quantization parameters',
  buffer: 'buffers',
  constant: 'constants',
};

function componentsType(s: ModelStructure): string {
  const has = (k: string) => s.layers.some((l) => l.kind === k);
  return has('attention') ? 'transformer' : has('recurrent') ? 'rnn' : has('conv') ? 'cnn' : has('linear') ? 'mlp' : 'unknown';
}

function summary(s: ModelStructure): StructureSummary {
  return {
    type: s.type,
    type_source: s.type_source,
    components_type: componentsType(s),
    composition: s.composition,
    hybrid: s.hybrid,
    depth: s.depth,
    depth_source: s.depth_source,
    blocks: s.blocks,
    depth_order: s.depth_order,
    depth_order_reason: s.depth_order_reason,
    tied: s.tied,
    context_length: s.context_length,
    layers: s.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      shape: l.shape,
      dtype: l.dtype,
      params: l.params,
      head: l.head,
      block: l.block,
      ...(l.attention ? { attention: l.attention } : {}),
      ...(l.conv ? { conv: l.conv } : {}),
      ...(l.recurrent ? { recurrent: l.recurrent } : {}),
      ...(l.tiedTo ? { tied_to: l.tiedTo } : {}),
    })),
  };
}

function typeText(s: StructureSummary): string {
  const base = s.type === s.components_type ? s.type : `${s.type} (${s.components_type})`;
  return s.hybrid ? `${base}, hybrid ${s.hybrid}` : base;
}

function compositionText(c: readonly Component[]): string {
  return c.map((x) => `${x.kind} ${formatNumber(100 * x.share)} %`).join(', ');
}

/**
 * #5 on the first and last input.
 *
 * - type = config.json's `model_type` when present, else the most specific component:
 *   `transformer` (attention) > `rnn` (recurrent gates) > `cnn` (conv kernels) > `mlp` (linear layers).
 * - depth = numbered blocks (`<prefix>.<int>.` or `Layer_<int>`), else weight layers, for A and B.
 * - differences = added + removed + shape changes + dtype changes of the first -> last diff, over model
 *   parameters: tied aliases present on one side only are listed apart, not counted as removals, and so
 *   are tensors that are not parameters on any side where they exist (`entryClasses`: optimizer state of
 *   a full checkpoint, quantization scales / zero points / minimums, buffers, constants).
 * - composition = parameter shares by layer kind; a hybrid is named when two of attention / recurrent /
 *   conv hold >= 5 % each.
 */
export const architectureComparison: Analysis<ArchitectureResult> = {
  key: 'architecture_comparison',
  needs: {},
  run({ run }: AnalysisContext): ArchitectureResult {
    const d = run.overall;
    const a = summary(recognizeStructure(run.inputs[d.from]));
    const b = summary(recognizeStructure(run.inputs[d.to]));
    const differences: ArchitectureDifference[] = [];
    const tied: ArchitectureResult['detail']['tied_aliases'] = [];
    const nonParameters: NonParameterChange[] = [];
    const counts = { added: 0, removed: 0, shape_changed: 0, dtype_changed: 0 };
    const classes = [entryClasses(run.inputs[d.from].entries), entryClasses(run.inputs[d.to].entries)];
    for (const t of d.tensors) {
      if (t.status === 'changed' || t.status === 'unchanged') continue;
      if (isTiedAlias(t)) {
        const side = t.status === 'removed' ? 'a' : 'b';
        tied.push({ tensor: t.name, side, alias_of: (side === 'a' ? t.aliasOf?.[0] : t.aliasOf?.[1]) ?? '' });
        continue;
      }
      // the class on each side where the tensor exists; a parameter on either side is a difference
      const cls = [0, 1].map((k) => (t.index[k] === null ? null : (classes[k][t.index[k]!] ?? 'parameter'))).filter((c): c is EntryClass => c !== null);
      const other = cls.find((c) => c !== 'parameter' && c !== 'alias');
      if (other !== undefined && !cls.includes('parameter')) {
        nonParameters.push({ tensor: t.name, status: t.status, class: other as NonParameterChange['class'] });
        continue;
      }
      counts[t.status]++;
      differences.push({ tensor: t.name, status: t.status, shape: [t.shape[0], t.shape[1]], dtype: [t.dtype[0], t.dtype[1]] });
    }
    return {
      type1: a.type,
      type2: b.type,
      depth: [a.depth, b.depth],
      differences: differences.length,
      composition: { a: a.composition, b: b.composition },
      reasons: {},
      detail: { a, b, differences, tied_aliases: tied, non_parameters: nonParameters, counts },
    };
  },
  format(r: ArchitectureResult): string[] {
    const d = r.detail;
    const c = d.counts;
    const parts = (['added', 'removed', 'shape_changed', 'dtype_changed'] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k.replace('_', ' ')}`);
    let diff = `${r.differences}${parts.length ? ` (${parts.join(', ')})` : ''}`;
    if (d.tied_aliases.length > 0) diff += `, tied aliases apart: ${d.tied_aliases.map((t) => `${t.tensor} -> ${t.alias_of}`).join(', ')}`;
    if (d.non_parameters.length > 0) {
      const by = new Map<NonParameterChange['class'], number>();
      for (const x of d.non_parameters) by.set(x.class, (by.get(x.class) ?? 0) + 1);
      diff += `, not parameters apart: ${[...by].map(([c, n]) => `${n} ${NON_PARAMETER_TEXT[c]}`).join(', ')}`;
    }
    const depth = r.depth[0] === r.depth[1] ? `${r.depth[0]}` : `${r.depth[0]}->${r.depth[1]}`;
    const src = d.a.depth_source === d.b.depth_source ? d.a.depth_source : `${d.a.depth_source} / ${d.b.depth_source}`;
    const shown = d.differences.slice(0, 10).map((x) => `${x.status === 'added' ? '+' : x.status === 'removed' ? '-' : '!'} ${x.tensor}`);
    const list = shown.length > 0 ? `; differences: ${shown.join(', ')}${d.differences.length > shown.length ? `, +${d.differences.length - shown.length} more` : ''}` : '';
    return [
      formatFields(
        'architecture_comparison',
        [
          ['type1', typeText(d.a)],
          ['type2', typeText(d.b)],
          ['depth', `${depth} (${src})`],
          ['differences', diff],
        ],
        r.reasons,
      ) + `; composition: [${compositionText(r.composition.a)}] -> [${compositionText(r.composition.b)}]${list}`,
    ];
  },
};
