/**
 * The interface every format reader implements, and the context readers get.
 *
 * @module
 */
import type { ModelFile, ModelFormat } from './TensorDescriptor.js';

/** Options passed to readers. */
export interface ReadOptions {
  /** Refuse in-memory (inflated / converted) tensors larger than this many bytes in total. Default 4 GiB. */
  maxInflatedBytes?: number;
}

/**
 * A reader for one file format.
 */
export interface ModelReader {
  readonly format: ModelFormat;
  /**
   * True when this reader recognises the input, from the path (extension, directory) and the first
   * bytes of the file (`head`: up to 64 bytes; empty for a directory).
   */
  detect(path: string, head: Uint8Array, isDirectory: boolean): boolean;
  /**
   * Opens the model lazily: tensor descriptors and metadata, no tensor data read.
   * @throws DiffaiError naming the file and the problem.
   */
  open(path: string, options: ReadOptions): Promise<ModelFile>;
}
