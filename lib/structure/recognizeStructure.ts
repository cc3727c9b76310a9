/**
 * Structure recognition: which layers a model has (embedding, attention q/k/v/o fused or separate,
 * linear / MLP, norm, conv, recurrent gates, output head), in which numbered blocks, in which depth
 * order, and which weights are tied, from tensor names and shapes and from `config.json` when present.
 * One module shared by every analysis that needs a model's structure (#4, #5, #6, #8, #15, #26).
 *
 * @module
 */
import { tensorRole, type TensorRole } from './tensorRole.js';
import { DTYPES } from '../formats/dtype.js';
import type { InputInfo, TensorEntry } from '../diff/ModelDiff.js';
import { layoutOf } from '../diff/unitAxis.js';
import { depthOrder, WEIGHT_LAYER_KINDS } from './depthOrder.js';
import type { Component, Layer, LayerKind, ModelStructure } from './ModelStructure.js';
import { nameSegments, numberedBlocks } from './numberedBlocks.js';

/** What structure recognition reads of an input. */
export type StructureInput = Pick<InputInfo, 'entries' | 'metadata' | 'orderIsDepth'>;

/** Names of output heads (a path segment). */
const HEAD_SEGMENTS = /^(head|lm_head|classifier|fc_out|output|out|last_layer|logits|score|cls|predictions|decoder|final_layer)$/i;
/** Fused q/k/v projections. */
const FUSED_QKV = /^(qkv|c_attn|query_key_value|wqkv|qkv_proj|in_proj|to_qkv)$/i;
/** Separate q/k/v projections. */
const SEPARATE_QKV: Record<string, 'q' | 'k' | 'v'> = {
  q_proj: 'q', k_proj: 'k', v_proj: 'v', query: 'q', key: 'k', value: 'v', q: 'q', k: 'k', v: 'v',
  q_lin: 'q', k_lin: 'k', v_lin: 'v', wq: 'q', wk: 'k', wv: 'v', to_q: 'q', to_k: 'k', to_v: 'v',
};
/** Attention output projections (inside an attention module). */
const ATTN_OUT = /^(out_proj|o_proj|c_proj|wo|out_lin|to_out|dense|o)$/i;
/** A module path segment that says "attention". */
const ATTN_MODULE = /attn|attention|mha|self_attn/i;
const TOKEN_EMB = /tok|wte|word|token|embed_tokens/i;
const POS_EMB = /pos|wpe|position/i;
const CONTEXT_KEYS = ['max_position_embeddings', 'n_positions', 'n_ctx', 'context_length', 'max_seq_len', 'seq_length'];

function moduleOf(name: string): string {
  const i = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return i > 0 ? name.slice(0, i) : '';
}

function leafOf(name: string): string {
  const segs = nameSegments(name);
  return segs[segs.length - 1] ?? name;
}

const prod = (xs: readonly number[]) => xs.reduce((p, d) => p * d, 1);

interface Draft extends Layer {
  role: TensorRole;
}

/**
 * Recognises the structure of one input from its tensor list and metadata (see docs/analyses.md,
 * "Structure recognition" for every rule and its limits).
 */
export function recognizeStructure(input: StructureInput): ModelStructure {
  const entries = input.entries;
  const metadata = input.metadata;
  const config = (metadata.config ?? null) as Record<string, unknown> | null;
  const layout = layoutOf(metadata);
  const names = new Set(entries.map((e) => e.name));
  const byName = new Map(entries.map((e) => [e.name, e]));
  const roles = new Map(entries.map((e) => [e.name, tensorRole(e.name, e.shape, names)]));

  // 1. Weight layers: parameter tensors of >= 2 dimensions (float, or integer codes of a quantized weight).
  const drafts: Draft[] = [];
  const isOptimizer = (e: TensorEntry) => e.role === 'optimizer' || roles.get(e.name) === 'optimizer_state';
  for (const e of entries) {
    const role = roles.get(e.name)!;
    if (isOptimizer(e) || e.aliasOf !== undefined) continue;
    if (role !== 'weight_matrix' && role !== 'embedding') continue;
    if (DTYPES[e.dtype].kind === 'bool') continue;
    drafts.push(baseLayer(e, role, layout));
  }
  // Norm layers: 1-D gains.
  for (const e of entries) {
    if (roles.get(e.name) !== 'norm_gain' || isOptimizer(e)) continue;
    drafts.push({ ...baseLayer(e, 'norm_gain', layout), kind: 'norm', out: e.count, in: 1 });
  }

  // 2. Recurrent gates (PyTorch weight_ih/weight_hh, Keras recurrent_kernel, ONNX [dirs, G*h, h]).
  for (const l of drafts) {
    if (l.kind === 'norm' || l.kind === 'embedding') continue;
    const leaf = leafOf(l.name);
    const s = l.shape;
    const torch = /^weight_(ih|hh)(_l\d+)?(_reverse)?$/.exec(leaf);
    if (torch && s.length === 2) {
      const hh = torch[1] === 'hh' ? s : byName.get(l.name.replace('weight_ih', 'weight_hh'))?.shape;
      const h = hh && hh.length === 2 ? hh[1] : 0;
      const gates = h > 0 ? s[0] / h : 0;
      if (gates === 4 || gates === 3) l.recurrent = { cell: gates === 4 ? 'lstm' : 'gru', hidden: h, part: torch[1] === 'hh' ? 'hidden' : 'input' };
    } else if (/recurrent_kernel/i.test(leaf) && s.length === 2 && (s[1] === 4 * s[0] || s[1] === 3 * s[0])) {
      l.recurrent = { cell: s[1] === 4 * s[0] ? 'lstm' : 'gru', hidden: s[0], part: 'hidden' };
    } else if (s.length === 3 && (s[0] === 1 || s[0] === 2) && s[2] > 1 && (s[1] === 4 * s[2] || s[1] === 3 * s[2])) {
      l.recurrent = { cell: s[1] === 4 * s[2] ? 'lstm' : 'gru', hidden: s[2], part: 'hidden' };
    }
    if (l.recurrent) makeRecurrent(l, l.recurrent);
  }
  // ONNX recurrent input weights [dirs, G*h, x] and biases [dirs, 2*G*h] beside recognised gates.
  for (const l of drafts) {
    if (l.kind !== 'linear' && l.kind !== 'conv') continue;
    const gate = drafts.find((r) => r.recurrent && r.module === l.module && r.shape.length === 3);
    if (!gate) continue;
    const gh = gate.shape[1];
    if (l.shape.length === 3 && l.shape[0] === gate.shape[0] && l.shape[1] === gh) makeRecurrent(l, { ...gate.recurrent!, part: 'input' });
    else if (l.shape.length === 2 && l.shape[0] === gate.shape[0] && l.shape[1] === 2 * gh) makeRecurrent(l, { ...gate.recurrent!, part: 'bias' });
  }
  const hasRecurrent = drafts.some((l) => l.kind === 'recurrent');

  // 3. Attention by name.
  for (const l of drafts) {
    if (l.kind !== 'linear' && l.kind !== 'conv') continue;
    const segs = nameSegments(l.name);
    const leaf = segs[segs.length - 1];
    const parent = segs.length >= 2 ? segs[segs.length - 2] : '';
    const inAttn = segs.slice(0, -1).some((s) => ATTN_MODULE.test(s));
    const proj = /^(weight|kernel|w)$/i.test(leaf) ? parent : leaf.replace(/_weight$/, '');
    if (/^in_proj_weight$/.test(leaf) || FUSED_QKV.test(proj)) {
      l.attention = { layout: /^in_proj/.test(leaf) || proj === 'in_proj' ? 'fused_in_proj' : 'fused_qkv', part: 'qkv', d_model: dModelOfFused(l.shape) };
    } else if (SEPARATE_QKV[proj.toLowerCase()] && (inAttn || /_proj$|_lin$|^to_/.test(proj))) {
      l.attention = { layout: 'separate', part: SEPARATE_QKV[proj.toLowerCase()], d_model: Math.min(l.out, l.in) };
    } else if (ATTN_OUT.test(proj) && inAttn) {
      l.attention = { layout: 'output', part: 'o', d_model: l.out };
    }
    if (l.attention && l.shape.length === 2) l.kind = 'attention';
    else delete l.attention;
  }
  // ... or by the [3d, d] + [d, d] shape pattern within a block (only when no name says attention).
  const family = numberedBlocks(entries.filter((e) => !isOptimizer(e)).map((e) => e.name));
  for (const l of drafts) l.block = family ? family.indexOf(l.name) : null;
  if (!drafts.some((l) => l.kind === 'attention')) {
    const groups = new Map<string, Draft[]>();
    for (const l of drafts) {
      if (l.kind !== 'linear' || l.shape.length !== 2) continue;
      const key = l.block !== null ? `b${l.block}` : `m${l.module}`;
      const g = groups.get(key) ?? [];
      g.push(l);
      groups.set(key, g);
    }
    for (const g of groups.values()) {
      for (const l of g) {
        const [r, c] = l.shape;
        const d = r === 3 * c ? c : c === 3 * r ? r : 0;
        if (d === 0) continue;
        const o = g.find((x) => x !== l && x.shape[0] === d && x.shape[1] === d);
        if (!o) continue;
        l.kind = 'attention';
        l.attention = { layout: 'shape_pattern', part: 'qkv', d_model: d };
        o.kind = 'attention';
        o.attention = { layout: 'shape_pattern', part: 'o', d_model: d };
      }
    }
  }
  const hasAttention = drafts.some((l) => l.kind === 'attention');

  // 4. 1x1 kernels inside a sequence model are linear layers stored as convs (ONNX exporters).
  for (const l of drafts) {
    if (l.kind === 'conv' && l.conv && l.conv.kernel.every((k) => k === 1) && (hasRecurrent || hasAttention)) {
      l.kind = 'linear';
      delete l.conv;
    }
  }

  // 5. Heads, biases and quantization parameters.
  for (const l of drafts) {
    if (l.kind === 'linear' && nameSegments(l.module || l.name).some((s) => HEAD_SEGMENTS.test(s))) l.head = true;
  }
  attachTensors(drafts, entries, roles);

  // 6. Tied heads: aliases the format records, or inferred for a transformer without an output matrix.
  const tied: ModelStructure['tied'] = [];
  const embeddings = drafts.filter((l) => l.kind === 'embedding');
  for (const e of entries) {
    if (e.aliasOf === undefined) continue;
    tied.push({ alias: e.name, target: e.aliasOf, inferred: false, why: 'the file stores it as a view of the same storage' });
    const target = drafts.find((l) => l.weight === e.aliasOf);
    if (target && target.kind === 'embedding') drafts.push(tiedHead(target, e.name));
  }
  const token = embeddings.find((l) => TOKEN_EMB.test(l.name)) ?? [...embeddings].filter((l) => !POS_EMB.test(l.name)).sort((a, b) => b.shape[0] - a.shape[0])[0];
  const tieFlag = config?.tie_word_embeddings;
  if (token && !drafts.some((l) => l.head && l.tiedTo !== undefined)) {
    const vocab = token.shape[0];
    const separate = drafts.some((l) => (l.kind === 'linear' || l.kind === 'attention') && (l.out === vocab || (l.head && l.in === token.out)));
    if (!separate && tieFlag !== false && (hasAttention || tieFlag === true)) {
      const why = tieFlag === true ? 'config.json tie_word_embeddings' : 'a transformer with a token embedding and no separate [vocab, d] output matrix';
      tied.push({ alias: `${token.name} (tied head)`, target: token.name, inferred: true, why });
      drafts.push(tiedHead(token, null));
    }
  }

  // 7. Type, composition, depth.
  const layers: Layer[] = drafts.map(({ role: _role, ...l }) => l);
  const kindsPresent = (k: LayerKind) => layers.some((l) => l.kind === k);
  const typeFromComponents = kindsPresent('attention') ? 'transformer' : kindsPresent('recurrent') ? 'rnn' : kindsPresent('conv') ? 'cnn' : kindsPresent('linear') ? 'mlp' : 'unknown';
  const modelType = typeof config?.model_type === 'string' && config.model_type !== '' ? config.model_type : null;
  const composition = compositionOf(layers);
  const LABEL: Partial<Record<LayerKind, string>> = { attention: 'transformer', recurrent: 'rnn', conv: 'cnn' };
  const hybridKinds = composition.filter((c) => LABEL[c.kind] && c.share >= 0.05).map((c) => c.kind);
  const order: LayerKind[] = ['conv', 'recurrent', 'attention'];
  hybridKinds.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const weightLayers = layers.filter((l) => WEIGHT_LAYER_KINDS.has(l.kind) && l.weight !== null && !(l.recurrent?.part === 'bias'));
  const d = depthOrder(layers.filter((l) => l.recurrent?.part !== 'bias'), input.orderIsDepth, entries.map((e) => e.name));
  return {
    layers,
    type: modelType ?? typeFromComponents,
    type_source: modelType ? 'config.json model_type' : 'components',
    composition,
    hybrid: hybridKinds.length >= 2 ? hybridKinds.map((k) => LABEL[k]).join(' + ') : null,
    blocks: family ? { prefix: family.prefix, count: family.indices.length, indices: family.indices } : null,
    depth: family ? family.indices.length : weightLayers.length,
    depth_source: family ? 'blocks' : 'weight layers',
    depth_order: d.order,
    depth_order_reason: d.reason,
    tied,
    context_length: contextLength(config, embeddings),
    layout,
  };
}

/**
 * Marks a layer recurrent; its matrix view is [gates * hidden, inputs] per direction (PyTorch
 * [G*h, x]; ONNX [dirs, G*h, x] as [dirs * G*h, x]; a bias [dirs, 2*G*h] as one row per direction).
 */
function makeRecurrent(l: Draft, r: NonNullable<Layer['recurrent']>): void {
  l.kind = 'recurrent';
  l.recurrent = r;
  delete l.conv;
  const s = l.shape;
  if (r.part === 'bias') {
    l.out = s[0];
    l.in = l.params / s[0];
  } else if (s.length === 3) {
    l.out = s[0] * s[1];
    l.in = s[2];
  } else if (/recurrent_kernel/i.test(l.name)) {
    l.out = s[1];
    l.in = s[0];
  }
}

/** d_model of a fused projection: [3d, d] (PyTorch in_proj), [d, 3d] (GPT-2 Conv1D), or GQA [d + 2 kv, d]. */
function dModelOfFused(shape: readonly number[]): number {
  if (shape.length !== 2) return 0;
  const [r, c] = shape;
  if (r === 3 * c) return c;
  if (c === 3 * r) return r;
  return Math.min(r, c);
}

function baseLayer(e: TensorEntry, role: TensorRole, layout: 'output-first' | 'output-last'): Draft {
  const s = e.shape;
  const out = role === 'norm_gain' ? e.count : layout === 'output-last' && s.length >= 2 && role !== 'embedding' ? s[s.length - 1] : s[0];
  const layer: Draft = {
    role,
    name: e.name,
    module: moduleOf(e.name),
    kind: role === 'embedding' ? 'embedding' : s.length >= 3 ? 'conv' : 'linear',
    weight: e.name,
    tensors: [e.name],
    dtype: e.dtype,
    shape: [...s],
    params: e.count,
    bytes: e.bytes,
    out,
    in: out > 0 ? e.count / out : 0,
    head: false,
    block: null,
  };
  if (layer.kind === 'conv') {
    if (layout === 'output-last') {
      const depthwise = /depthwise/i.test(leafOf(e.name));
      const cin = s[s.length - 2];
      layer.conv = {
        spatial_dims: s.length - 2,
        kernel: s.slice(0, -2),
        in_channels: depthwise ? 1 : cin,
        out_channels: depthwise ? cin * s[s.length - 1] : s[s.length - 1],
        depthwise,
        layout: 'channels_last',
      };
      layer.out = layer.conv.out_channels;
      layer.in = e.count / layer.out;
    } else {
      layer.conv = { spatial_dims: s.length - 2, kernel: s.slice(2), in_channels: s[1], out_channels: s[0], depthwise: s[1] === 1 && s[0] > 1, layout: 'channels_first' };
    }
  }
  return layer;
}

function tiedHead(embedding: Draft, alias: string | null): Draft {
  return {
    ...embedding,
    role: 'weight_matrix',
    name: alias ?? `${embedding.name} (tied head)`,
    module: alias ? moduleOf(alias) : embedding.module,
    kind: 'linear',
    weight: alias,
    tensors: alias ? [alias] : [],
    params: 0,
    bytes: 0,
    out: embedding.shape[0],
    in: prod(embedding.shape) / embedding.shape[0],
    head: true,
    tiedTo: embedding.name,
    block: null,
  };
}

/** Attaches biases and quantization parameters to their layer and sums params / bytes. */
function attachTensors(drafts: Draft[], entries: readonly TensorEntry[], roles: ReadonlyMap<string, TensorRole>): void {
  const weights = new Map(drafts.filter((l) => l.weight).map((l) => [l.weight!, l]));
  for (const e of entries) {
    if (weights.has(e.name) || e.aliasOf !== undefined) continue;
    const role = roles.get(e.name);
    let owner: Draft | undefined;
    if (role === 'quant_scale' || /(_scale|\.scale|\.q_scale|\.q_min|_zero_point|\.zero_point)$/.test(e.name)) {
      const base = e.name.replace(/(_scale|\.scale|\.q_scale|\.q_min|_zero_point|\.zero_point)$/, '');
      owner = weights.get(base);
      if (owner) {
        owner.tensors.push(e.name);
        owner.bytes += e.bytes;
        continue;
      }
    }
    if (role !== 'bias') continue;
    const module = moduleOf(e.name);
    const leaf = leafOf(e.name);
    const siblings = drafts.filter((l) => l.weight && l.module === module && l.kind !== 'embedding');
    owner =
      siblings.find((l) => leafOf(l.weight!).replace(/weight/, 'bias') === leaf) ??
      siblings.find((l) => l.kind !== 'norm' && leaf === 'bias') ??
      siblings.find((l) => leafOf(l.weight!).replace(/^w_/, 'b_') === leaf) ??
      siblings[siblings.length - 1];
    if (!owner) continue;
    owner.tensors.push(e.name);
    owner.params += e.count;
    owner.bytes += e.bytes;
  }
}

function compositionOf(layers: readonly Layer[]): Component[] {
  const by = new Map<LayerKind, number>();
  for (const l of layers) by.set(l.kind, (by.get(l.kind) ?? 0) + l.params);
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  return [...by.entries()]
    .filter(([, p]) => p > 0)
    .map(([kind, params]) => ({ kind, params, share: total > 0 ? params / total : 0 }))
    .sort((a, b) => b.params - a.params);
}

function contextLength(config: Record<string, unknown> | null, embeddings: readonly Draft[]): ModelStructure['context_length'] {
  for (const k of CONTEXT_KEYS) {
    const v = config?.[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { value: v, source: `config.json ${k}` };
  }
  const pos = embeddings.find((l) => POS_EMB.test(l.name) && l.shape.length === 2);
  return pos ? { value: pos.shape[0], source: `rows of the learned position embedding ${pos.name}` } : null;
}
