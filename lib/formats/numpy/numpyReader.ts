/**
 * The NumPy reader: `.npy` (format 1.0-3.0) and `.npz` (a zip of `.npy` entries, stored or deflated).
 *
 * Little-endian C-order data of a `.npy` file or a stored `.npz` entry is mapped in place. Big-endian
 * data is byte-swapped and Fortran-order data transposed into a `memory` source, so every descriptor
 * is little-endian C order and two files compare the same logical elements. Deflated entries are
 * inflated with a size limit (`ERR_ZIP_BOMB`).
 *
 * @module
 */
import { basename } from 'node:path';
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor, TensorSource } from '../TensorDescriptor.js';
import { inflateEntry, looksLikeZip, openZipArchive } from '../pytorch/zipArchive.js';
import { byteSwapInPlace, fortranToC } from './layout.js';
import { mapFile as defaultMapFile, type FileMapper } from './mapFile.js';
import { MemoryBudget } from './memoryBudget.js';
import { looksLikeNpy, npyHeaderLength, parseNpyHeader, type NpyHeader } from './npyHeader.js';

/** The source of an array whose bytes are `bytes` (memory) or a mapped range, converted when needed. */
function arraySource(h: NpyHeader, name: string, data: { file: NativeMappedFile; offset: number } | Uint8Array, budget: MemoryBudget): TensorSource {
  const convert = h.info.bigEndian || (h.fortranOrder && h.shape.filter((d) => d !== 1).length > 1);
  if (!convert) {
    if (data instanceof Uint8Array) return { kind: 'memory', data: data.subarray(h.dataOffset, h.dataOffset + h.byteLength) };
    return { kind: 'mapped', file: data.file, offset: data.offset + h.dataOffset, byteLength: h.byteLength };
  }
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) {
    bytes = data.slice(h.dataOffset, h.dataOffset + h.byteLength);
  } else {
    budget.take(h.byteLength, `array ${name} (${h.info.bigEndian ? 'big-endian' : 'Fortran order'}, converted)`);
    bytes = data.file.read(data.offset + h.dataOffset, h.byteLength);
  }
  if (h.info.bigEndian) byteSwapInPlace(bytes, h.info.size);
  if (h.fortranOrder) bytes = fortranToC(bytes, h.shape, h.info.size);
  return { kind: 'memory', data: bytes };
}

function readHeaderAt(file: NativeMappedFile, offset: number, available: number, where: string, path: string): NpyHeader {
  const first = file.read(offset, Math.min(available, 12));
  const len = npyHeaderLength(first, where, path);
  if (len > available) throw new DiffaiError('ERR_NPY', `${where}: header of ${len} bytes runs past the end of the data (${available} bytes)`, { file: path });
  return parseNpyHeader(file.read(offset, len), available, where, path);
}

/**
 * Opens a `.npy` or `.npz` file.
 * @throws DiffaiError `ERR_NPY`, `ERR_ZIP`, `ERR_ZIP_BOMB`, `ERR_FORMAT`.
 */
export async function openNumpy(path: string, options: ReadOptions = {}, mapFile: FileMapper = defaultMapFile): Promise<ModelFile> {
  const file = await mapFile(path);
  try {
    const budget = new MemoryBudget(path, options.maxInflatedBytes);
    const head = file.read(0, Math.min(file.size, 64));
    const tensors: TensorDescriptor[] = [];
    const metadata: Record<string, unknown> = {};
    if (looksLikeNpy(head) || (path.toLowerCase().endsWith('.npy') && !looksLikeZip(head))) {
      const h = readHeaderAt(file, 0, file.size, path, path);
      const name = basename(path).replace(/\.npy$/i, '');
      tensors.push({ name, dtype: h.info.dtype, shape: h.shape, count: h.count, source: arraySource(h, name, { file, offset: 0 }, budget) });
      metadata.numpy = { container: 'npy', version: h.version, arrays: { [name]: { descr: h.descr, fortran_order: h.fortranOrder } } };
    } else if (looksLikeZip(head) || path.toLowerCase().endsWith('.npz')) {
      const zip = await openZipArchive(file, path);
      const arrays: Record<string, unknown> = {};
      const skipped: string[] = [];
      for (const e of zip.entries) {
        if (e.name.endsWith('/')) continue;
        // np.load returns only `.npy` members as arrays; other members are not arrays.
        if (!e.name.endsWith('.npy')) {
          skipped.push(e.name);
          continue;
        }
        const name = e.name.replace(/\.npy$/, '');
        const where = `${path} (${e.name})`;
        let h: NpyHeader;
        let source: TensorSource;
        if (e.method === 0) {
          h = readHeaderAt(file, e.dataStart, e.uncompressedSize, where, path);
          source = arraySource(h, name, { file, offset: e.dataStart }, budget);
        } else {
          const bytes = inflateEntry(file, e, path, budget);
          h = parseNpyHeader(bytes.subarray(0, Math.min(bytes.length, npyHeaderLength(bytes.subarray(0, 12), where, path))), bytes.length, where, path);
          source = arraySource(h, name, bytes, budget);
        }
        tensors.push({ name, dtype: h.info.dtype, shape: h.shape, count: h.count, source });
        arrays[name] = { descr: h.descr, fortran_order: h.fortranOrder, compressed: e.method === 8 };
      }
      metadata.numpy = { container: 'npz', arrays, ...(skipped.length > 0 ? { skipped } : {}) };
    } else {
      throw new DiffaiError('ERR_NPY', `${path}: not a NumPy file (no \\x93NUMPY magic and not a zip archive; starts with ${Buffer.from(head.subarray(0, 8)).toString('hex')})`, { file: path });
    }
    return {
      path,
      format: 'numpy',
      tensors,
      metadata,
      // np.savez keeps the writer's order, but nothing says it is the model's depth order.
      orderIsDepth: false,
      bytes: file.size,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** True for a zip whose first local header (within `head`) names a `.npy` entry: an npz by content. */
function firstEntryIsNpy(head: Uint8Array): boolean {
  if (head.length < 34 || head[0] !== 0x50 || head[1] !== 0x4b || head[2] !== 3 || head[3] !== 4) return false;
  const n = head[26] | (head[27] << 8);
  if (30 + n > head.length) return false;
  return new TextDecoder('latin1').decode(head.subarray(30, 30 + n)).endsWith('.npy');
}

/** The NumPy {@link ModelReader} (`.npy`, `.npz`). */
export const numpyReader: ModelReader = {
  format: 'numpy',
  detect(path, head, isDirectory) {
    if (isDirectory) return false;
    const lower = path.toLowerCase();
    return lower.endsWith('.npy') || lower.endsWith('.npz') || looksLikeNpy(head) || firstEntryIsNpy(head);
  },
  open: (path, options) => openNumpy(path, options),
};
