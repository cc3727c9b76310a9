/**
 * Opening a model file of any supported format.
 *
 * @module
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { DiffaiError } from '../errors.js';
import { assertRegularFile } from './assertRegularFile.js';
import type { ReadOptions } from './ModelReader.js';
import { READERS } from './readers.js';
import type { ModelFile } from './TensorDescriptor.js';

const HEAD_BYTES = 64;

function readHead(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(HEAD_BYTES);
    const n = readSync(fd, head, 0, HEAD_BYTES, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a model lazily: tensor names, dtypes, shapes and byte ranges, and the file's metadata. No tensor
 * data is read. The format is chosen from the file's first bytes (its signature), else its extension.
 *
 * @param path - a model file, or a directory / index file for formats that have them.
 * @throws DiffaiError `ERR_FILE_NOT_FOUND`, `ERR_FILE_IO`, `ERR_UNKNOWN_FORMAT`, or a format's own code.
 */
export async function openModel(path: string, options: ReadOptions = {}): Promise<ModelFile> {
  let isDirectory: boolean;
  let head: Uint8Array;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) assertRegularFile(path);
  try {
    head = isDirectory ? new Uint8Array(0) : readHead(path);
  } catch (cause) {
    throw new DiffaiError('ERR_FILE_IO', `${path}: cannot read (${(cause as Error).message})`, { file: path, cause });
  }
  // The content decides first (a `.pt` renamed to `.safetensors` is still read as PyTorch); the
  // extension only for content without a signature (ONNX, or a file too short to tell).
  const reader = (!isDirectory && READERS.find((r) => r.detect('', head, false))) || READERS.find((r) => r.detect(path, head, isDirectory));
  if (!reader) {
    const known = [...new Set(READERS.map((r) => r.format))].join(', ');
    throw new DiffaiError(
      'ERR_UNKNOWN_FORMAT',
      `${path}: not a model file diffai can read (${isDirectory ? 'a directory' : 'unrecognised extension and content'}; supported: ${known})`,
      { file: path },
    );
  }
  return reader.open(path, options);
}
