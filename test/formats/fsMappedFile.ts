/**
 * A stand-in for the addon's MappedFile backed by `node:fs` reads, so the format parsers can be tested
 * without the native build. Same contract: `read` copies a range and throws `ERR_RANGE` outside the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DiffaiError } from '../../lib/errors.js';
import type { NativeMappedFile } from '../../lib/native/AddonTypes.js';

export function fsMappedFile(path: string): NativeMappedFile {
  let fd: number | null;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new DiffaiError('ERR_FILE_NOT_FOUND', `${path}: cannot open`, { file: path, cause });
  }
  const size = fstatSync(fd).size;
  return {
    path,
    size,
    get closed() {
      return fd === null;
    },
    read(offset: number, length: number): Buffer {
      if (fd === null) throw new DiffaiError('ERR_FILE_CLOSED', `${path}: closed`, { file: path });
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size || length > 256 * 1024 * 1024) {
        throw new DiffaiError('ERR_RANGE', `${path}: range [${offset}, ${offset + length}) outside the file (${size} bytes)`, { file: path });
      }
      const b = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, b, done, length - done, offset + done);
        if (n <= 0) break;
        done += n;
      }
      return b;
    },
    safetensorsHeader() {
      const n = Number(this.read(0, 8).readBigUInt64LE(0));
      return { header: this.read(8, n), dataOffset: 8 + n };
    },
    adviseSequential() {},
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** Bytes of a tensor source (test helper). */
export function sourceBytes(source: { kind: 'mapped'; file: NativeMappedFile; offset: number; byteLength: number } | { kind: 'memory'; data: Uint8Array }): Uint8Array {
  return source.kind === 'memory' ? source.data : source.file.read(source.offset, source.byteLength);
}

/** A minimal safetensors reader for tests: name -> dtype, shape and bytes. */
export function readSafetensorsForTest(path: string): Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }> {
  const f = fsMappedFile(path);
  try {
    const { header, dataOffset } = f.safetensorsHeader();
    const json = JSON.parse(new TextDecoder().decode(header)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
    for (const [name, e] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      out.set(name, { dtype: e.dtype, shape: e.shape, bytes: f.read(dataOffset + e.data_offsets[0], e.data_offsets[1] - e.data_offsets[0]) });
    }
    return out;
  } finally {
    f.close();
  }
}
