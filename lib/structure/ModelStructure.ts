/**
 * The types of structure recognition (`recognizeStructure`): what a model is made of, read from tensor
 * names, shapes and `config.json`, never from file names.
 *
 * @module
 */
import type { DType } from '../formats/dtype.js';

/**
 * Kind of a layer: `embedding` (a lookup table), `attention` (q/k/v/o projections, fused or separate),
 * `linear` (a matrix product: MLP layers, heads, 1x1 kernels inside a sequence model), `conv` (a kernel of
 * >= 3 dimensions), `recurrent` (LSTM / GRU gate matrices), `norm` (LayerNorm / BatchNorm / RMSNorm gains).
 */
export type LayerKind = 'embedding' | 'attention' | 'linear' | 'conv' | 'recurrent' | 'norm';

/** How the attention projections of a layer are stored. */
export type AttentionLayout = 'fused_in_proj' | 'fused_qkv' | 'separate' | 'output' | 'shape_pattern';

/** One layer: a weight tensor with its bias and quantization parameters. */
export interface Layer {
  /** The weight tensor's name; for an inferred tied head, `<embedding> (tied head)`. */
  name: string;
  /** The module path (the name without its last segment). */
  module: string;
  kind: LayerKind;
  /** The weight tensor; null for an inferred tied head (it reads {@link Layer.tiedTo}). */
  weight: string | null;
  /** Every tensor of the layer: weight, bias, scales / zero points / minimums. */
  tensors: string[];
  /** The weight's stored dtype. */
  dtype: DType;
  /** The weight's shape. */
  shape: number[];
  /** Elements of the weight and bias (not of quantization parameters). */
  params: number;
  /** Stored bytes of every tensor of the layer (0 for a tied head: its storage is the embedding's). */
  bytes: number;
  /** The matrix view [out, in]: output units and inputs per output (a conv kernel: in * kh * kw per group). */
  out: number;
  in: number;
  /** True for an output head (by name, or a tied head). */
  head: boolean;
  /** A tied head: the embedding whose matrix it multiplies by. */
  tiedTo?: string;
  /** Index of the numbered block the layer belongs to (`blocks.3.` -> 3), else null. */
  block: number | null;
  attention?: { layout: AttentionLayout; part: 'qkv' | 'q' | 'k' | 'v' | 'o'; d_model: number };
  conv?: {
    /** 1 (sequence), 2 (image) or 3. */
    spatial_dims: number;
    kernel: number[];
    /** Input channels per group (PyTorch I, TF in / groups). */
    in_channels: number;
    out_channels: number;
    /** A [C, 1, k...] (PyTorch) or TF `depthwise` kernel. */
    depthwise: boolean;
    layout: 'channels_first' | 'channels_last';
  };
  recurrent?: { cell: 'lstm' | 'gru'; hidden: number; part: 'input' | 'hidden' | 'bias' };
}

/** Parameter share of one component class. */
export interface Component {
  kind: LayerKind;
  params: number;
  share: number;
}

/** The order of the weight layers from input to output, and where it came from. */
export interface DepthOrder {
  /** `file order` (a format that keeps module order), `numbered blocks` (names), `shape chain` (dimensions). */
  source: 'file order' | 'numbered blocks' | 'shape chain';
  /** Weight-layer names (linear, conv, recurrent, attention; no embeddings, norms or tied heads), input first. */
  layers: string[];
}

/** What a model is made of. */
export interface ModelStructure {
  /** Every layer, in file order (an inferred tied head last). */
  layers: Layer[];
  /**
   * `transformer` (attention present) > `rnn` (recurrent) > `cnn` (conv) > `mlp` (linear), the most specific
   * component present; config.json's `model_type` wins when present; `unknown` without weight layers.
   */
  type: string;
  type_source: 'config.json model_type' | 'components';
  /** Parameter shares of the component classes present, largest first. */
  composition: Component[];
  /** Two or more of attention / recurrent / conv with >= 5 % of the parameters each (`cnn + transformer`), else null. */
  hybrid: string | null;
  /** The numbered-block family (`<prefix>.<int>.` or `Layer_<int>`) with the most blocks, or null. */
  blocks: { prefix: string; count: number; indices: number[] } | null;
  /** Number of blocks when there are numbered blocks, else the number of weight layers. */
  depth: number;
  depth_source: 'blocks' | 'weight layers';
  /** Depth order of the weight layers, or null with {@link ModelStructure.depth_order_reason}. */
  depth_order: DepthOrder | null;
  depth_order_reason: string | null;
  /** Tied weights: an alias the format records, or an output head inferred to reuse the token embedding. */
  tied: { alias: string; target: string; inferred: boolean; why: string }[];
  /** Context length (config, or rows of a learned position embedding), else null. */
  context_length: { value: number; source: string } | null;
  /** PyTorch (`output-first`) or TF (`output-last`) weight layout, from metadata. */
  layout: 'output-first' | 'output-last';
}
