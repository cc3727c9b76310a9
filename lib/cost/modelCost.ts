/**
 * The cost model of SPEC #8: FLOPs and bytes per layer, and a roofline time per layer plus a per-op
 * overhead, on a named hardware profile. The roofline is an attainable-performance bound (Williams,
 * Waterman and Patterson, "Roofline: an insightful visual performance model for multicore
 * architectures", CACM 52(4), 2009), not a latency measurement.
 *
 * @module
 */
import { DTYPES, type DType } from '../formats/dtype.js';
import type { Layer, ModelStructure } from '../structure/ModelStructure.js';
import type { ComputeType, HardwareProfile } from './hardwareProfiles.js';

/** FLOPs per feature of a normalisation layer (mean, variance, normalise, gain, bias): an order-of-magnitude count. */
export const NORM_FLOPS_PER_FEATURE = 5;

/** Options of {@link modelCost}. */
export interface CostOptions {
  /** Tokens (sequence models) or samples (CNNs, MLPs) processed together for the batched figures. */
  batch: number;
  /** Per-sample input shape `[C, H, W]` or `[C, L]` for conv layers, or null (then they are not covered). */
  inputShape: number[] | null;
}

/** Time of a layer or a model at one batch size, seconds. */
export interface CostTime {
  /** sum over layers of max(flops / peak, bytes / bandwidth). */
  roofline: number;
  /** Parts of the roofline time where the compute term or the memory term was the larger. */
  compute_bound: number;
  memory_bound: number;
  /** Ops charged the per-op overhead: those with a time (counted and covered; an op not covered has none). */
  ops: number;
  /** ops x per-op overhead. */
  overhead: number;
  /** roofline + overhead. */
  total: number;
}

/** The cost of one op. */
export interface LayerCost {
  name: string;
  kind: Layer['kind'] | 'attention_scores';
  dtype: DType | null;
  compute: ComputeType;
  native: boolean;
  /** False when its FLOPs are unknown (a conv layer without an input shape, attention without a context length). */
  covered: boolean;
  reason: string | null;
  /** Output positions per sample (conv: H * W of its output; 1 for a per-token matrix product). */
  positions: number | null;
  /**
   * FLOPs per token / sample (null when not covered; then `flops_lower_bound` counts it at the fewest
   * positions it can have: the flatten size after the last conv when known, else one).
   */
  flops: number | null;
  flops_lower_bound: number;
  /** Bytes read once per call whatever the batch (weights, scales; plus the F32 copy of a converted dtype). */
  fixed_bytes: number;
  /** Bytes per token / sample (activations in and out; one embedding row; the KV cache of attention scores). */
  bytes_per_item: number;
  /**
   * A conv layer's input as costed: its input channels (all groups), groups, whether it is depthwise,
   * and what told (`input shape`: the first layer in depth order, C of a shape that fits; `first layer`:
   * the first layer in depth order without such a shape, taken as an ordinary conv reading its kernel's
   * input channels; `previous layer`: the output channels of the layer before it in depth order;
   * `kernel shape`: the depth order does not tell, so a PyTorch [C, 1, k...] kernel is taken as
   * depthwise). Null for other ops.
   */
  conv_input: { channels: number; groups: number; depthwise: boolean; source: 'input shape' | 'first layer' | 'previous layer' | 'kernel shape' } | null;
  /**
   * False for an op inside the branch of an ONNX `If` that is not costed: an If runs one branch per
   * call, so only its costlier branch is counted (`reason` names it). Not counted ops have no time and
   * no share of the FLOPs or of the coverage.
   */
  counted: boolean;
  /** At batch 1 and at the batch of the options. */
  time1: { roofline: number; bound: 'compute' | 'memory' } | null;
  time_batch: { roofline: number; bound: 'compute' | 'memory' } | null;
}

/** The cost of a model on a profile. */
export interface ModelCost {
  profile: string;
  batch: number;
  layers: LayerCost[];
  /** FLOPs per token / sample of the covered ops. */
  flops: number;
  /** Share of FLOPs in covered ops, with uncovered ops at their lower bound (`flops_lower_bound`): an upper bound. */
  coverage: number;
  /** Stored bytes of the weights of every layer (tied heads once; the branches of an ONNX If all count: they are all loaded). */
  weight_bytes: number;
  /** Ops counted (an op in a not costed ONNX If branch is not). */
  ops: number;
  time1: CostTime;
  time_batch: CostTime;
  /** Compute types used that the profile converts (not native). */
  non_native: ComputeType[];
  /** The weights fit in the profile's last-level cache. */
  fits_in_cache: boolean;
  /** How conv output positions were obtained. */
  positions_note: string | null;
  /** Why the input shape does not fit the model (then its conv layers are not covered), else null. */
  input_shape_problem: string | null;
}

/** The compute type of a stored dtype: integer codes and Q8_0 blocks run as 8-bit integer dot products. */
export function computeTypeOf(dtype: DType): ComputeType {
  switch (dtype) {
    case 'F64':
      return 'F64';
    case 'F16':
      return 'F16';
    case 'BF16':
      return 'BF16';
    case 'F8_E4M3':
    case 'F8_E5M2':
      return 'F8';
    case 'F32':
      return 'F32';
    default:
      return DTYPES[dtype].kind === 'int' || dtype === 'Q8_0' ? 'INT8' : 'F32';
  }
}

/** Activation bytes per element: F16 / BF16 layers keep their activations in that type, others in F32 (F64 in F64). */
function activationBytes(dtype: DType | null): number {
  if (dtype === 'F16' || dtype === 'BF16') return 2;
  if (dtype === 'F64') return 8;
  return 4;
}

/** The input channels (all groups) of a conv layer as the depth order tells them, and what told. */
type KnownInput = { channels: number; source: 'input shape' | 'previous layer' | 'first layer' };

/** What the cost model knows of the conv layers of a model at an input shape. */
interface ConvPlan {
  /** Output positions per sample of each covered conv layer. */
  positions: Map<string, number>;
  /** Fewest positions an uncovered conv can have (for the coverage bound): the flatten size after the last conv, else 1, whatever the shape. */
  lower: number;
  note: string | null;
  /** Input channels (all groups) of a conv whose input the depth order tells, and what told. */
  inputs: Map<string, KnownInput>;
  /** Why a conv layer is not covered although an input shape is given (it does not fit the shape). */
  problems: Map<string, string>;
  /** The problem shared by every conv layer: the first one cannot read the shape's channels, or the shape has fewer positions than the flatten after the last one needs. */
  mismatch: string | null;
}

function firstProblem(plan: ConvPlan): string | null {
  return plan.problems.size > 0 ? [...plan.problems.values()][0] : null;
}

function shapeText(l: Layer): string {
  return `${l.name} [${l.shape.join(', ')}]`;
}

/**
 * Input channels per group and output channels of a conv kernel, and the one input-channel count it
 * admits when that is fixed by the kernel (a TF depthwise kernel [k..., C, mult] reads exactly C).
 */
function kernelChannels(l: Layer): { perGroup: number; out: number; exact: number | null } {
  const c = l.conv!;
  if (c.layout === 'channels_last' && c.depthwise) return { perGroup: 1, out: c.out_channels, exact: l.shape[l.shape.length - 2] };
  return { perGroup: c.in_channels, out: c.out_channels, exact: null };
}

/**
 * The groups a conv kernel runs in when it reads `channels` input channels: PyTorch's rule (in_channels
 * and out_channels both divisible by groups, weight [out, in / groups, k...]); null when no grouping
 * fits.
 */
function groupsFor(l: Layer, channels: number): number | null {
  const k = kernelChannels(l);
  if (k.exact !== null) return channels === k.exact ? channels : null;
  if (channels % k.perGroup !== 0) return null;
  const g = channels / k.perGroup;
  return k.out % g === 0 ? g : null;
}

/** Why the first conv layer cannot read `channels` channels. */
function channelMismatch(l: Layer, inputShape: number[]): string {
  const k = kernelChannels(l);
  const C = inputShape[0];
  const takes = k.exact ?? k.perGroup;
  let why: string;
  if (k.exact !== null) why = `a depthwise kernel reads exactly its ${k.exact} channels`;
  else if (C % k.perGroup !== 0) why = `${C} is not a multiple of its ${k.perGroup} input channels per group`;
  else why = `${C} would need ${C / k.perGroup} groups, which do not divide its ${k.out} output channels`;
  return `the input shape ${inputShape.join(',')} has ${C} channel${C === 1 ? '' : 's'}, but the first conv layer ${shapeText(l)} takes ${takes}: ${why}`;
}

/**
 * Output positions and inputs of each conv layer. With an input shape [C, H, W] (or [C, L]) and a
 * depth order, positions shrink geometrically from the input size so that the last conv stage ends at
 * the spatial size implied by the first linear layer after it (in_features = C_last * H_f * W_f); with
 * no such layer every conv is taken at the input size (no downsampling: an upper bound). Padding is
 * taken as `same` (output size = input size before any downsampling).
 *
 * The shape must fit the model: a conv layer of another spatial rank than the shape (a 2-D kernel with
 * `C,L`) is not covered. No conv layer is when the shape fits none of them: every conv is of another
 * rank, the first layer in depth order is a conv that cannot read C channels (PyTorch's grouping
 * rule), or the shape has fewer positions than the linear layer after the last conv takes per channel
 * (same padding and downsampling never enlarge a map). A shape that fits no conv layer is then ignored,
 * as if none were given: the convs' input channels come from the depth order alone and the coverage
 * bound from the flatten size; only the reason differs.
 */
function planConvs(structure: ModelStructure, inputShape: number[] | null): ConvPlan {
  const plan: ConvPlan = { positions: new Map(), lower: 1, note: null, inputs: new Map(), problems: new Map(), mismatch: null };
  const convs = structure.layers.filter((l) => l.kind === 'conv');
  if (convs.length === 0) return plan;
  const ordered = orderedLayers(structure);
  const flatten = flattenAfterConvs(structure);
  const f = 'flat' in flatten ? flatten : null;
  // Without a usable input shape the positions are unknown; the flatten into the first linear layer
  // after the last conv still bounds them from below (downsampling only shrinks the maps).
  plan.lower = f ? f.finalSize : 1;
  const withoutShape = (): ConvPlan => {
    for (const [name, v] of depthInputs(ordered, null)) plan.inputs.set(name, v);
    plan.note = f ? `conv layers not covered; at least ${f.finalSize} output positions each (the flatten into ${f.flat.name}), used for the coverage bound` : null;
    return plan;
  };
  if (!inputShape) return withoutShape();
  const first = ordered[0];
  if (first && first.kind === 'conv' && first.conv && first.conv.spatial_dims === inputShape.length - 1 && groupsFor(first, inputShape[0]) === null) {
    plan.mismatch = channelMismatch(first, inputShape);
    return withoutShape();
  }
  for (const c of convs) {
    const dims = c.conv?.spatial_dims ?? 2;
    if (dims !== inputShape.length - 1) {
      const has = inputShape.length - 1;
      const needs = dims === 1 ? 'C,L' : dims === 2 ? 'C,H,W' : `C and ${dims} spatial sizes`;
      plan.problems.set(c.name, `the input shape ${inputShape.join(',')} has ${has} spatial dimension${has === 1 ? '' : 's'}, but a ${dims}-D conv layer needs ${needs}`);
    }
  }
  if (plan.problems.size === convs.length) return withoutShape();
  const spatial = inputShape.slice(1).reduce((p, d) => p * d, 1);
  if (f && !plan.problems.has(f.last.name) && spatial < f.finalSize) {
    plan.mismatch =
      `the input shape ${inputShape.join(',')} has ${spatial} position${spatial === 1 ? '' : 's'} per channel, but ${shapeText(f.flat)} after the last conv ${f.last.name} takes ` +
      `${f.flat.in} inputs = ${f.channels} channels x ${f.finalSize} positions, and same padding and downsampling never enlarge a map`;
    plan.problems.clear();
    return withoutShape();
  }
  for (const [name, v] of depthInputs(ordered, inputShape[0])) plan.inputs.set(name, v);
  const fits = convs.filter((c) => !plan.problems.has(c.name));
  const order = structure.depth_order?.layers ?? null;
  if (!order) {
    for (const c of fits) plan.positions.set(c.name, spatial);
    plan.note = `depth order unknown: every conv layer taken at the input size ${inputShape.slice(1).join('x')} (no downsampling: an upper bound)`;
    return plan;
  }
  const convOrder = ordered.filter((l) => l.kind === 'conv' && !plan.problems.has(l.name));
  let factor = 1;
  if (f && !plan.problems.has(f.last.name)) {
    factor = spatial / f.finalSize;
    plan.note = `same padding; downsampling ${formatFactor(factor)}x in positions spread evenly over ${convOrder.length} conv stage(s), ending at ${f.finalSize} positions per channel as ${f.flat.name} (${f.flat.in} inputs = ${f.channels} channels x ${f.finalSize}) implies`;
  } else {
    const why = f ? `the last conv ${f.last.name} does not fit the input shape` : 'why' in flatten ? flatten.why : '';
    plan.note = `same padding and no downsampling assumed (${why}, so nothing tells the final size): an upper bound`;
  }
  const L = convOrder.length;
  convOrder.forEach((c, i) => plan.positions.set(c.name, Math.max(1, Math.round(spatial / factor ** (i / L)))));
  for (const c of fits) if (!plan.positions.has(c.name)) plan.positions.set(c.name, spatial);
  return plan;
}

/**
 * Input channels of the conv layers along the depth order: what the layer before gives (a conv's
 * output channels, a linear layer's outputs), and for a conv that comes first the input shape's C or,
 * without a shape (`channels` null), the input channels its kernel reads in one group: the model's
 * input is taken to be read by an ordinary conv (groups 1), not a depthwise one.
 */
function depthInputs(ordered: readonly Layer[], channels: number | null): Map<string, KnownInput> {
  const inputs: Map<string, KnownInput> = new Map();
  ordered.forEach((l, i) => {
    if (l.kind !== 'conv') return;
    if (i === 0) {
      if (channels !== null) inputs.set(l.name, { channels, source: 'input shape' });
      else if (l.conv) {
        const k = kernelChannels(l);
        inputs.set(l.name, { channels: k.exact ?? k.perGroup, source: 'first layer' });
      }
    } else {
      const prev = ordered[i - 1];
      const c = prev.kind === 'conv' ? prev.conv?.out_channels : prev.kind === 'linear' ? prev.out : undefined;
      if (c) inputs.set(l.name, { channels: c, source: 'previous layer' });
    }
  });
  return inputs;
}

/**
 * How a conv layer reads its input: channels, groups and depthwise-ness. A PyTorch [C, 1, k...] kernel
 * is depthwise only when groups = in_channels = C; a first conv fed by one channel (a [16, 1, 3, 3]
 * kernel on a grayscale image) is an ordinary convolution reading 1 channel. Only when the depth order
 * does not tell (there is none, or the layer before gives no channel count that fits the kernel) is
 * such a kernel taken as depthwise (its FLOPs are the same either way; only the input activation bytes
 * differ).
 */
function convInput(l: Layer, known: KnownInput | undefined): NonNullable<LayerCost['conv_input']> {
  const c = l.conv!;
  if (known) {
    const g = groupsFor(l, known.channels);
    if (g !== null) return { channels: known.channels, groups: g, depthwise: g > 1 && g === known.channels, source: known.source };
  }
  const k = kernelChannels(l);
  if (k.exact !== null) return { channels: k.exact, groups: k.exact, depthwise: true, source: 'kernel shape' };
  return c.depthwise ? { channels: c.out_channels, groups: c.out_channels, depthwise: true, source: 'kernel shape' } : { channels: c.in_channels, groups: 1, depthwise: false, source: 'kernel shape' };
}

function orderedLayers(structure: ModelStructure): Layer[] {
  const byName = new Map(structure.layers.map((l) => [l.name, l]));
  return (structure.depth_order?.layers ?? []).map((n) => byName.get(n)).filter((l): l is Layer => l !== undefined);
}

/**
 * The first linear layer after the last conv in depth order, when its inputs are C_last x (positions);
 * else why the final size is not known.
 */
function flattenAfterConvs(structure: ModelStructure): { flat: Layer; last: Layer; channels: number; finalSize: number } | { why: string } {
  const ordered = orderedLayers(structure);
  const convOrder = ordered.filter((l) => l.kind === 'conv');
  if (convOrder.length === 0) return { why: 'no depth order' };
  const last = convOrder[convOrder.length - 1];
  const flat = ordered.slice(ordered.indexOf(last) + 1).find((l) => l.kind === 'linear');
  const channels = last.conv?.out_channels ?? 0;
  if (!flat) return { why: `no linear layer follows the last conv ${last.name}` };
  if (channels <= 0 || flat.in % channels !== 0) return { why: `the ${flat.in} inputs of ${flat.name} after the last conv are not a multiple of its ${channels} output channels` };
  return { flat, last, channels, finalSize: flat.in / channels };
}

function formatFactor(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}

/**
 * FLOPs, bytes and roofline time of every op of a model on a profile.
 *
 * Per token (sequence models) or sample (CNNs, MLPs): a matrix product (linear, attention projection,
 * head, recurrent gate matrix) 2 * m * n FLOPs; a conv kernel 2 * (its elements) per output position,
 * positions from the input shape (else `not covered`; also when the shape does not fit the model), its
 * input activations the channels it reads (all groups: `conv_input`); an embedding reads one row (no FLOPs); a tied
 * output head multiplies by the whole embedding matrix; attention scores 4 * T * d (QK^T and AV at
 * context length T) reading a KV cache of 2 * T * d activations; norms 5 FLOPs per feature. Bytes are
 * the stored bytes of the real dtype (quantized blocks and scale tensors included) plus activations
 * in and out. A dtype the profile does not compute natively runs at the F32 rate, with F32 activations,
 * after a conversion that writes and reads an F32 copy of the weights (8 more bytes per weight): never
 * faster than F32.
 * Time per op: max(FLOPs / peak, bytes / bandwidth), plus the profile's per-op overhead (an op not
 * covered has no time, so no overhead either: `CostTime.ops` counts the ops charged). Of the ops
 * in the branches of an ONNX `If`, only the costlier branch's count (`counted`).
 */
export function modelCost(structure: ModelStructure, profile: HardwareProfile, options: CostOptions): ModelCost {
  const plan = planConvs(structure, options.inputShape);
  const { positions, lower: minPositions, note } = plan;
  const sequence = structure.layers.some((l) => l.kind === 'attention' || l.kind === 'recurrent');
  const byName = new Map(structure.layers.map((l) => [l.name, l]));
  const costs: LayerCost[] = [];
  const convChannels = new Map<number, number>();
  for (const l of structure.layers) if (l.kind === 'conv' && l.conv && positions.has(l.name) && !convChannels.has(l.conv.out_channels)) convChannels.set(l.conv.out_channels, positions.get(l.name)!);

  for (const l of structure.layers) {
    // recurrent biases are added inside the cell: their bytes are in weight_bytes, their FLOPs negligible
    if (l.recurrent?.part === 'bias') continue;
    const compute = computeTypeOf(l.dtype);
    const native = profile.native[compute];
    // a converted layer computes in F32, so its activations are F32 too
    const act = native ? activationBytes(l.dtype) : 4;
    const weightElems = l.tiedTo ? l.out * l.in : l.shape.reduce((p, d) => p * d, 1);
    const storedBytes = l.tiedTo ? (byName.get(l.tiedTo)?.bytes ?? 0) : l.bytes;
    const convert = native ? 0 : 8 * weightElems;
    const base = { name: l.name, dtype: l.dtype, compute, native, reason: null as string | null };
    switch (l.kind) {
      case 'embedding': {
        // one row per token; a converted dtype also writes and reads the row in F32
        const row = l.bytes / Math.max(1, l.shape[0]);
        costs.push(cost({ ...base, kind: 'embedding', covered: true, positions: 1, flops: 0, fixed_bytes: 0, bytes_per_item: row + l.in * act + (native ? 0 : 8 * l.in) }));
        break;
      }
      case 'conv': {
        const p = positions.get(l.name) ?? null;
        // every output position of every output channel reads in/groups x k inputs: 2 x the kernel's elements per position
        const flopsPer = 2 * weightElems;
        const input = l.conv ? convInput(l, plan.inputs.get(l.name)) : null;
        const cin = input ? input.channels : l.in;
        if (p === null) {
          const why = plan.mismatch ?? plan.problems.get(l.name) ?? 'output positions need an input shape (--input-shape C,H,W)';
          costs.push(cost({ ...base, kind: 'conv', covered: false, reason: `not covered: ${why}`, positions: null, flops: null, flops_lower_bound: flopsPer * minPositions, fixed_bytes: storedBytes + convert, bytes_per_item: 0, conv_input: input }));
        } else {
          // activations: the input map (all its channels) read and the output map written, per position
          costs.push(cost({ ...base, kind: 'conv', covered: true, positions: p, flops: flopsPer * p, fixed_bytes: storedBytes + convert, bytes_per_item: (cin + (l.conv?.out_channels ?? l.out)) * p * act, conv_input: input }));
        }
        break;
      }
      case 'norm': {
        let p: number | null = 1;
        if (!sequence && structure.layers.some((x) => x.kind === 'conv')) p = convChannels.get(l.out) ?? null;
        const flops = NORM_FLOPS_PER_FEATURE * l.out;
        if (p === null) costs.push(cost({ ...base, kind: 'norm', covered: false, reason: `not covered: ${plan.mismatch ?? firstProblem(plan) ?? 'positions of the conv layer it follows need an input shape'}`, positions: null, flops: null, flops_lower_bound: flops * minPositions, fixed_bytes: storedBytes, bytes_per_item: 0 }));
        else costs.push(cost({ ...base, kind: 'norm', covered: true, positions: p, flops: flops * p, fixed_bytes: storedBytes, bytes_per_item: 2 * l.out * p * act }));
        break;
      }
      default: {
        // matrix products: linear, attention projections, heads, recurrent gate matrices
        costs.push(cost({ ...base, kind: l.kind, covered: true, positions: 1, flops: 2 * weightElems, fixed_bytes: storedBytes + convert, bytes_per_item: (l.in + l.out) * act }));
      }
    }
    if (l.kind === 'attention' && l.attention && (l.attention.part === 'qkv' || l.attention.part === 'q')) {
      const d = l.attention.d_model;
      const T = structure.context_length?.value ?? null;
      const sc = { ...base, name: `${l.module || l.name} (attention scores)`, kind: 'attention_scores' as const };
      if (T === null) costs.push(cost({ ...sc, covered: false, reason: 'not covered: attention scores need the context length (config.json or a learned position embedding)', positions: null, flops: null, flops_lower_bound: 4 * d, fixed_bytes: 0, bytes_per_item: 0 }));
      else {
        // scores run in the activation type: F16 / BF16 for such layers, else F32
        const scoreType = computeTypeOf(l.dtype === 'F16' || l.dtype === 'BF16' ? l.dtype : 'F32');
        const scoreAct = profile.native[scoreType] ? act : 4;
        costs.push(cost({ ...sc, compute: scoreType, native: profile.native[scoreType], covered: true, positions: T, flops: 4 * T * d, fixed_bytes: 0, bytes_per_item: 2 * T * d * scoreAct }));
      }
    }
  }

  countOneBranchPerIf(costs);
  for (const c of costs) {
    if (!c.counted) continue;
    const peak = c.native ? profile.peak[c.compute] : profile.peak.F32;
    c.time1 = c.flops === null ? null : roof(c.flops, c.fixed_bytes + c.bytes_per_item, peak, profile.bandwidth);
    c.time_batch = c.flops === null ? null : roof(c.flops * options.batch, c.fixed_bytes + c.bytes_per_item * options.batch, peak, profile.bandwidth);
  }
  const counted = costs.filter((c) => c.counted);
  const flops = counted.filter((c) => c.covered).reduce((s, c) => s + c.flops!, 0);
  const lower = counted.filter((c) => !c.covered).reduce((s, c) => s + c.flops_lower_bound, 0);
  const storedWeights = structure.layers.reduce((s, l) => s + l.bytes, 0);
  const nonNative = [...new Set(counted.filter((c) => !c.native).map((c) => c.compute))];
  return {
    profile: profile.name,
    batch: options.batch,
    layers: costs,
    flops,
    coverage: flops + lower > 0 ? flops / (flops + lower) : 1,
    weight_bytes: storedWeights,
    ops: counted.length,
    time1: total(costs, (c) => c.time1, profile.op_overhead),
    time_batch: total(costs, (c) => c.time_batch, profile.op_overhead),
    non_native: nonNative,
    fits_in_cache: storedWeights <= profile.llc_bytes,
    positions_note: note,
    input_shape_problem: plan.mismatch ?? firstProblem(plan),
  };
}

type CostInput = Omit<LayerCost, 'time1' | 'time_batch' | 'flops_lower_bound' | 'reason' | 'conv_input' | 'counted'> & { flops_lower_bound?: number; reason?: string | null; conv_input?: LayerCost['conv_input'] };

function cost(c: CostInput): LayerCost {
  return { ...c, reason: c.reason ?? null, flops_lower_bound: c.flops_lower_bound ?? c.flops ?? 0, conv_input: c.conv_input ?? null, counted: true, time1: null, time_batch: null };
}

/** A node of the tree of ONNX `If` branches: its own ops and, per If inside it, the branches. */
interface BranchNode {
  ops: LayerCost[];
  ifs: Map<string, Map<string, BranchNode>>;
}

/** The ONNX `If` branches an op sits in, outermost first: `If_25.then_branch.If_177.else_branch.510` -> If_25 then, If_25.then_branch.If_177 else. */
function branchPath(name: string): { node: string; branch: string }[] {
  const segs = name.split('.');
  const path: { node: string; branch: string }[] = [];
  for (let i = 1; i < segs.length - 1; i++) if (segs[i] === 'then_branch' || segs[i] === 'else_branch') path.push({ node: segs.slice(0, i).join('.'), branch: segs[i] });
  return path;
}

/** FLOPs of a subtree with every If at its costlier branch (uncovered ops at their lower bound), then bytes. */
function branchWeight(n: BranchNode): [number, number] {
  let flops = 0;
  let bytes = 0;
  for (const c of n.ops) {
    flops += c.flops ?? c.flops_lower_bound;
    bytes += c.fixed_bytes + c.bytes_per_item;
  }
  for (const branches of n.ifs.values()) {
    const best = chooseBranch(branches);
    const w = branchWeight(branches.get(best)!);
    flops += w[0];
    bytes += w[1];
  }
  return [flops, bytes];
}

/** The costlier branch of an If (FLOPs, then bytes; `then_branch` on a tie). */
function chooseBranch(branches: Map<string, BranchNode>): string {
  let best = '';
  let bw: [number, number] = [-1, -1];
  for (const name of [...branches.keys()].sort((x, y) => (x === 'then_branch' ? -1 : y === 'then_branch' ? 1 : x.localeCompare(y)))) {
    const w = branchWeight(branches.get(name)!);
    if (w[0] > bw[0] || (w[0] === bw[0] && w[1] > bw[1])) {
      best = name;
      bw = w;
    }
  }
  return best;
}

function allOps(n: BranchNode): LayerCost[] {
  return [...n.ops, ...[...n.ifs.values()].flatMap((b) => [...b.values()].flatMap(allOps))];
}

/**
 * ONNX `If` subgraphs (tensor names `<node>.then_branch.` / `<node>.else_branch.`, as the ONNX
 * converters write them) hold alternatives: one branch runs per call. Silero VAD v4, for one, keeps the
 * same LSTM weights in both branches of an inner If (state given or not) inside each branch of the
 * sample-rate If: four copies, one of which runs. Every If counts its costlier branch; the ops of the
 * other are marked not counted, with the reason.
 */
function countOneBranchPerIf(costs: LayerCost[]): void {
  const root: BranchNode = { ops: [], ifs: new Map() };
  let any = false;
  for (const c of costs) {
    let n = root;
    for (const { node, branch } of branchPath(c.name)) {
      any = true;
      const branches = n.ifs.get(node) ?? new Map<string, BranchNode>();
      n.ifs.set(node, branches);
      const next = branches.get(branch) ?? { ops: [], ifs: new Map() };
      branches.set(branch, next);
      n = next;
    }
    n.ops.push(c);
  }
  if (!any) return;
  const walk = (n: BranchNode) => {
    for (const [node, branches] of n.ifs) {
      const best = chooseBranch(branches);
      for (const [name, b] of branches) {
        if (name === best) walk(b);
        else
          for (const c of allOps(b)) {
            c.counted = false;
            c.reason = `not counted: an ONNX If runs one branch per call, and ${node}.${best} is the one costed`;
          }
      }
    }
  };
  walk(root);
}

function roof(flops: number, bytes: number, peak: number, bandwidth: number): { roofline: number; bound: 'compute' | 'memory' } {
  const tc = flops / peak;
  const tm = bytes / bandwidth;
  return tc >= tm ? { roofline: tc, bound: 'compute' } : { roofline: tm, bound: 'memory' };
}

function total(costs: readonly LayerCost[], time: (c: LayerCost) => { roofline: number; bound: 'compute' | 'memory' } | null, overheadPerOp: number): CostTime {
  let roofline = 0;
  let compute = 0;
  let memory = 0;
  let ops = 0;
  for (const c of costs) {
    const t = time(c);
    if (!t) continue;
    ops++;
    roofline += t.roofline;
    if (t.bound === 'compute') compute += t.roofline;
    else memory += t.roofline;
  }
  const overhead = ops * overheadPerOp;
  return { roofline, compute_bound: compute, memory_bound: memory, ops, overhead, total: roofline + overhead };
}
