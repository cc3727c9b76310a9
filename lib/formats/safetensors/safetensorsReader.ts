/**
 * The safetensors reader: maps the file, lets the native side check the framing, validates the JSON
 * header in TypeScript and describes every tensor as a range of the mapping (nothing is copied).
 *
 * @module
 */
import { addon } from '../../native/loadAddon.js';
import { assertRegularFile } from '../assertRegularFile.js';
import type { ModelReader } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor } from '../TensorDescriptor.js';
import { parseSafetensorsHeader } from './parseSafetensorsHeader.js';

/**
 * True when `head` starts like a safetensors file: an 8-byte little-endian header length followed by `{`.
 */
function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  return n >= 2n && n <= 100_000_000n && head[8] === 0x7b; // '{'
}

/**
 * Opens one safetensors file.
 *
 * @throws DiffaiError with an `ERR_SAFETENSORS_*` code naming the file and the problem, or
 *   `ERR_FILE_NOT_FOUND` / `ERR_FILE_IO`.
 */
export async function openSafetensors(path: string): Promise<ModelFile> {
  assertRegularFile(path);
  const file = new (addon().MappedFile)(path);
  try {
    const { header, dataOffset } = file.safetensorsHeader();
    const parsed = parseSafetensorsHeader(header, file.size - dataOffset, path);
    const tensors: TensorDescriptor[] = parsed.entries.map((e) => ({
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      count: e.count,
      source: { kind: 'mapped', file, offset: dataOffset + e.begin, byteLength: e.end - e.begin },
    }));
    return {
      path,
      format: 'safetensors',
      tensors,
      metadata: parsed.metadata ?? {},
      // The reference writer sorts by dtype alignment and name, so file order is not depth order.
      orderIsDepth: false,
      bytes: file.size,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The safetensors {@link ModelReader}. */
export const safetensorsReader: ModelReader = {
  format: 'safetensors',
  detect: (path, head, isDirectory) => !isDirectory && (path.toLowerCase().endsWith('.safetensors') || looksLikeSafetensors(head)),
  open: (path) => openSafetensors(path),
};
