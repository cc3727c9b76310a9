/**
 * An in-memory stand-in for the addon's MappedFile, for literal-bytes and fuzz tests.
 */
import { DiffaiError } from '../../lib/errors.js';
import type { NativeMappedFile } from '../../lib/native/AddonTypes.js';

export function memFile(bytes: Uint8Array, path = 'mem.bin'): NativeMappedFile {
  let closed = false;
  return {
    path,
    size: bytes.length,
    get closed() {
      return closed;
    },
    read(offset: number, length: number): Buffer {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new DiffaiError('ERR_RANGE', `${path}: range [${offset}, ${offset + length}) outside the file (${bytes.length} bytes)`, { file: path });
      }
      return Buffer.from(bytes.subarray(offset, offset + length));
    },
    safetensorsHeader() {
      throw new DiffaiError('ERR_INTERNAL', 'not used');
    },
    adviseSequential() {},
    close() {
      closed = true;
    },
  };
}

/** A mapper that serves `bytes` for any path. */
export function memMapper(bytes: Uint8Array) {
  return (path: string) => memFile(bytes, path);
}
