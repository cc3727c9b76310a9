/**
 * The format-neutral description of a tensor that every reader produces. The diff engine, the native
 * kernels and the analyses only ever see these, never the file format.
 *
 * @module
 */
import type { DType } from './dtype.js';
import type { NativeMappedFile } from '../native/AddonTypes.js';

/**
 * Where a tensor's bytes are.
 *
 * - `mapped`: a byte range of a memory-mapped file (the normal case; nothing is copied).
 * - `memory`: bytes held in a JS buffer, for data that had to be inflated (deflated npz, miCOMPRESSED
 *   MATLAB) or converted (byte-swapped big-endian data, Fortran order transposed, dequantized blocks).
 */
export type TensorSource =
  | {
      readonly kind: 'mapped';
      readonly file: NativeMappedFile;
      /** Byte offset of the first element in the file. */
      readonly offset: number;
      /** Length of the data in bytes (= element count x dtype size). */
      readonly byteLength: number;
    }
  | {
      readonly kind: 'memory';
      readonly data: Uint8Array;
    };

/**
 * One tensor of a model file.
 *
 * The data is little-endian and in C (row-major) order; readers of formats that allow other layouts
 * convert (into a `memory` source) or refuse.
 */
export interface TensorDescriptor {
  /** Full name, e.g. `blocks.0.attn.in_proj_weight` or `optimizer.state.0.exp_avg`. */
  readonly name: string;
  readonly dtype: DType;
  /** Shape; `[]` for a 0-d tensor. Every dimension is a safe integer. */
  readonly shape: readonly number[];
  /** Number of elements (product of shape; 1 for 0-d). */
  readonly count: number;
  readonly source: TensorSource;
  /**
   * Name of the tensor this one shares storage with, when a format records tied weights
   * (e.g. `lm_head.weight` tied to `tok_emb.weight` in a PyTorch state dict).
   */
  readonly aliasOf?: string;
  /**
   * Role of the tensor when the format tells it, e.g. `quant_scale` for the scale tensor of a
   * quantized weight, `optimizer` for optimizer state. Absent for ordinary weights.
   */
  readonly role?: string;
}

/** Supported input formats. */
export type ModelFormat = 'safetensors' | 'pytorch' | 'numpy' | 'matlab' | 'gguf' | 'onnx' | 'directory';

/**
 * An opened model: tensor metadata (no data read yet) plus the file's non-tensor metadata.
 * Close it when done; closing is refused while native work uses one of its files.
 */
export interface ModelFile {
  /** The path the user gave. */
  readonly path: string;
  readonly format: ModelFormat;
  /** Tensors in the file's own order (for a PyTorch state dict this is the module order). */
  readonly tensors: readonly TensorDescriptor[];
  /**
   * Non-tensor metadata: safetensors `__metadata__`, checkpoint scalars (`epoch`, `step`, `lr`),
   * a `config.json` found beside the weights under `config`, GGUF key-values ...
   */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * Whether the tensor order is the model's depth order (true for a PyTorch state dict; false for
   * safetensors, whose writer sorts by dtype and name).
   */
  readonly orderIsDepth: boolean;
  /** Total size of the input in bytes (all shards). */
  readonly bytes: number;
  /** Unmaps the files. Safe to call twice. */
  close(): void;
}

/** A readable byte range source: what container parsers (zip, pickle, npy) read from. */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** A copy of bytes [offset, offset + length). @throws DiffaiError `ERR_RANGE` when out of bounds. */
  read(offset: number, length: number): Uint8Array;
}
