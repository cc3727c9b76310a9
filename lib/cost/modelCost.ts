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
  /** Stored bytes of the weights the ops read (tied heads once). */
  weight_bytes: number;
  ops: number;
  time1: CostTime;
  time_batch: CostTime;
  /** Compute types used that the profile converts (not native). */
  non_native: ComputeType[];
  /** The weights fit in the profile's last-level cache. */
  fits_in_cache: boolean;
  /** How conv output positions were obtained. */
  positions_note: string | null;
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

/**
 * Output positions per sample of each conv layer. With an input shape [C, H, W] (or [C, L]) and a
 * depth order, positions shrink geometrically from the input size so that the last conv stage ends at
 * the spatial size implied by the first linear layer after it (in_features = C_last * H_f * W_f); with
 * no such layer every conv is taken at the input size (no downsampling: an upper bound). Padding is
 * taken as `same` (output size = input size before any downsampling).
 */
function convPositions(structure: ModelStructure, inputShape: number[] | null): { positions: Map<string, number>; lower: number; note: string | null } {
  const positions = new Map<string, number>();
  const convs = structure.layers.filter((l) => l.kind === 'conv');
  if (convs.length === 0) return { positions, lower: 1, note: null };
  if (!inputShape) {
    // Without an input shape the positions are unknown; the flatten into the first linear layer after
    // the last conv still bounds them from below (downsampling only shrinks the maps).
    const f = flattenAfterConvs(structure);
    return { positions, lower: f ? f.finalSize : 1, note: f ? `conv layers not covered; at least ${f.finalSize} output positions each (the flatten into ${f.flat.name}), used for the coverage bound` : null };
  }
  const spatial = inputShape.slice(1).reduce((p, d) => p * d, 1);
  const order = structure.depth_order?.layers ?? null;
  if (!order) {
    for (const c of convs) positions.set(c.name, spatial);
    return { positions, lower: 1, note: `depth order unknown: every conv layer taken at the input size ${inputShape.slice(1).join('x')} (no downsampling: an upper bound)` };
  }
  const convOrder = orderedLayers(structure).filter((l) => l.kind === 'conv');
  const f = flattenAfterConvs(structure);
  let factor = 1;
  let note: string;
  if (f && f.finalSize <= spatial) {
    factor = spatial / f.finalSize;
    note = `same padding; downsampling ${formatFactor(factor)}x in positions spread evenly over ${convOrder.length} conv stage(s), ending at ${f.finalSize} positions per channel as ${f.flat.name} (${f.flat.in} inputs = ${f.channels} channels x ${f.finalSize}) implies`;
  } else {
    note = `same padding and no downsampling assumed (no linear layer after the last conv tells the final size): an upper bound`;
  }
  const L = convOrder.length;
  convOrder.forEach((c, i) => positions.set(c.name, Math.max(1, Math.round(spatial / factor ** (i / L)))));
  for (const c of convs) if (!positions.has(c.name)) positions.set(c.name, spatial);
  return { positions, lower: 1, note };
}

function orderedLayers(structure: ModelStructure): Layer[] {
  const byName = new Map(structure.layers.map((l) => [l.name, l]));
  return (structure.depth_order?.layers ?? []).map((n) => byName.get(n)).filter((l): l is Layer => l !== undefined);
}

/** The first linear layer after the last conv in depth order, when its inputs are C_last x (positions). */
function flattenAfterConvs(structure: ModelStructure): { flat: Layer; channels: number; finalSize: number } | null {
  const ordered = orderedLayers(structure);
  const convOrder = ordered.filter((l) => l.kind === 'conv');
  if (convOrder.length === 0) return null;
  const last = convOrder[convOrder.length - 1];
  const flat = ordered.slice(ordered.indexOf(last) + 1).find((l) => l.kind === 'linear');
  const channels = last.conv?.out_channels ?? 0;
  if (!flat || channels <= 0 || flat.in % channels !== 0) return null;
  return { flat, channels, finalSize: flat.in / channels };
}

function formatFactor(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}

/**
 * FLOPs, bytes and roofline time of every op of a model on a profile.
 *
 * Per token (sequence models) or sample (CNNs, MLPs): a matrix product (linear, attention projection,
 * head, recurrent gate matrix) 2 * m * n FLOPs; a conv kernel 2 * (its elements) per output position,
 * positions from the input shape (else `not covered`); an embedding reads one row (no FLOPs); a tied
 * output head multiplies by the whole embedding matrix; attention scores 4 * T * d (QK^T and AV at
 * context length T) reading a KV cache of 2 * T * d activations; norms 5 FLOPs per feature. Bytes are
 * the stored bytes of the real dtype (quantized blocks and scale tensors included) plus activations
 * in and out. A dtype the profile does not compute natively runs at the F32 rate, with F32 activations,
 * after a conversion that writes and reads an F32 copy of the weights (8 more bytes per weight): never
 * faster than F32.
 * Time per op: max(FLOPs / peak, bytes / bandwidth), plus the profile's per-op overhead.
 */
export function modelCost(structure: ModelStructure, profile: HardwareProfile, options: CostOptions): ModelCost {
  const { positions, lower: minPositions, note } = convPositions(structure, options.inputShape);
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
        const flopsPer = 2 * weightElems;
        const cin = l.conv ? (l.conv.depthwise ? l.conv.out_channels : l.conv.in_channels) : l.in;
        if (p === null) {
          costs.push(cost({ ...base, kind: 'conv', covered: false, reason: 'not covered: output positions need an input shape (--input-shape C,H,W)', positions: null, flops: null, flops_lower_bound: flopsPer * minPositions, fixed_bytes: storedBytes + convert, bytes_per_item: 0 }));
        } else {
          costs.push(cost({ ...base, kind: 'conv', covered: true, positions: p, flops: flopsPer * p, fixed_bytes: storedBytes + convert, bytes_per_item: (cin + (l.conv?.out_channels ?? l.out)) * p * act }));
        }
        break;
      }
      case 'norm': {
        let p: number | null = 1;
        if (!sequence && structure.layers.some((x) => x.kind === 'conv')) p = convChannels.get(l.out) ?? null;
        const flops = NORM_FLOPS_PER_FEATURE * l.out;
        if (p === null) costs.push(cost({ ...base, kind: 'norm', covered: false, reason: 'not covered: positions of the conv layer it follows need an input shape', positions: null, flops: null, flops_lower_bound: flops * minPositions, fixed_bytes: storedBytes, bytes_per_item: 0 }));
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

  for (const c of costs) {
    const peak = c.native ? profile.peak[c.compute] : profile.peak.F32;
    c.time1 = c.flops === null ? null : roof(c.flops, c.fixed_bytes + c.bytes_per_item, peak, profile.bandwidth);
    c.time_batch = c.flops === null ? null : roof(c.flops * options.batch, c.fixed_bytes + c.bytes_per_item * options.batch, peak, profile.bandwidth);
  }
  const covered = costs.filter((c) => c.covered);
  const flops = covered.reduce((s, c) => s + c.flops!, 0);
  const lower = costs.filter((c) => !c.covered).reduce((s, c) => s + c.flops_lower_bound, 0);
  const storedWeights = structure.layers.reduce((s, l) => s + l.bytes, 0);
  const nonNative = [...new Set(costs.filter((c) => !c.native).map((c) => c.compute))];
  return {
    profile: profile.name,
    batch: options.batch,
    layers: costs,
    flops,
    coverage: flops + lower > 0 ? flops / (flops + lower) : 1,
    weight_bytes: storedWeights,
    ops: costs.length,
    time1: total(costs, (c) => c.time1, profile.op_overhead),
    time_batch: total(costs, (c) => c.time_batch, profile.op_overhead),
    non_native: nonNative,
    fits_in_cache: storedWeights <= profile.llc_bytes,
    positions_note: note,
  };
}

type CostInput = Omit<LayerCost, 'time1' | 'time_batch' | 'flops_lower_bound' | 'reason'> & { flops_lower_bound?: number; reason?: string | null };

function cost(c: CostInput): LayerCost {
  return { ...c, reason: c.reason ?? null, flops_lower_bound: c.flops_lower_bound ?? c.flops ?? 0, time1: null, time_batch: null };
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
  return { roofline, compute_bound: compute, memory_bound: memory, overhead, total: roofline + overhead };
}
