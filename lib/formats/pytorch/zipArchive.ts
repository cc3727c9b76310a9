/**
 * Zip archives (PyTorch `.pt`, NumPy `.npz`) read through yauzl over a mapped file: the central
 * directory and local headers are copied (small), entry data never is. A stored entry is described
 * as a byte range of the mapping; a deflated one is inflated with a size limit, so a zip bomb is an
 * error, not an out-of-memory crash.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { DiffaiError, isDiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { BOMB_FREE_BYTES, MAX_INFLATION_RATIO, maxInflatedSize, type MemoryBudget } from '../numpy/memoryBudget.js';

/** Most entries an archive may declare (a central directory is walked entry by entry). */
const MAX_ENTRIES = 1_000_000;
/** Largest stored entry whose bytes {@link readEntry} copies (pickles, npy headers): 256 MiB. */
const MAX_COPY = 256 * 1024 * 1024;

/** One entry of a zip archive. */
export interface ZipEntry {
  /** Name as stored (UTF-8 decoded), e.g. `archive/data/0`. */
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Byte offset of the entry's data in the archive (after its local header). */
  readonly dataStart: number;
  readonly crc32: number;
}

/** An opened zip archive: its entries in central-directory order. */
export interface ZipArchive {
  readonly entries: readonly ZipEntry[];
  /** Entry by exact name. */
  get(name: string): ZipEntry | undefined;
}

/** yauzl's random-access reader over a mapped file (each range is one bounded copy). */
class MappedRandomAccessReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: NativeMappedFile) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const file = this.file;
    let done = false;
    return new Readable({
      read() {
        if (done) return;
        done = true;
        try {
          if (end > start) this.push(file.read(start, end - start));
          this.push(null);
        } catch (e) {
          this.destroy(e as Error);
        }
      },
    });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function zipError(path: string, message: string, cause?: unknown): DiffaiError {
  return new DiffaiError('ERR_ZIP', `${path}: not a valid zip archive: ${message}`, { file: path, cause });
}

/**
 * True when `head` starts with a zip local file header (`PK\x03\x04`) or an empty archive's end record.
 */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/**
 * Reads the central directory and every local header of a zip archive.
 *
 * @param file - the mapped archive.
 * @param path - the path named in errors.
 * @throws DiffaiError `ERR_ZIP` (truncated, bad signatures, offsets beyond the file, encrypted entries,
 *   unsupported compression, too many entries).
 */
export async function openZipArchive(file: NativeMappedFile, path: string): Promise<ZipArchive> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(new MappedRandomAccessReader(file), file.size, {
      lazyEntries: true,
      autoClose: false,
      // Names are decoded here: yauzl's validation rejects absolute names, which numpy writes for
      // arrays whose names start with '/' (ONNX-style tensor names).
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (e) {
    throw zipError(path, (e as Error).message, e);
  }
  if (zip.entryCount > MAX_ENTRIES) throw zipError(path, `declares ${zip.entryCount} entries (limit ${MAX_ENTRIES})`);
  const raw: yauzl.Entry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        raw.push(entry);
        zip.readEntry();
      });
      zip.on('end', () => resolve());
      zip.on('error', (e: Error) => reject(e));
      zip.readEntry();
    });
    const entries: ZipEntry[] = [];
    for (const e of raw) {
      const name = utf8.decode(e.fileName as unknown as Uint8Array);
      if (e.isEncrypted()) throw zipError(path, `entry ${name} is encrypted`);
      if (e.compressionMethod !== 0 && e.compressionMethod !== 8) {
        throw zipError(path, `entry ${name} uses compression method ${e.compressionMethod} (only stored and deflated are supported)`);
      }
      if (e.compressionMethod === 0 && e.compressedSize !== e.uncompressedSize) {
        throw zipError(path, `stored entry ${name} declares ${e.compressedSize} compressed but ${e.uncompressedSize} uncompressed bytes`);
      }
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(e, { minimal: true });
      if (fileDataStart + e.compressedSize > file.size) {
        throw zipError(path, `entry ${name} data [${fileDataStart}, ${fileDataStart + e.compressedSize}) runs past the end of the file (${file.size} bytes)`);
      }
      entries.push({ name, method: e.compressionMethod, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize, dataStart: fileDataStart, crc32: e.crc32 });
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    return { entries, get: (n) => byName.get(n) };
  } catch (e) {
    if (isDiffaiError(e)) throw e;
    throw zipError(path, (e as Error).message, e);
  } finally {
    zip.close();
  }
}

/**
 * The bytes of an entry: a copy for stored entries (up to 256 MiB; for headers and pickles), or the
 * inflated data for deflated ones, counted against `budget`.
 *
 * @throws DiffaiError `ERR_ZIP_BOMB` when the declared size is over the budget or the data inflates past
 *   its declared size; `ERR_ZIP` for corrupt deflate data, a size or CRC mismatch.
 */
export function readEntry(file: NativeMappedFile, entry: ZipEntry, path: string, budget: MemoryBudget): Uint8Array {
  if (entry.method === 0) {
    if (entry.compressedSize > MAX_COPY) throw zipError(path, `entry ${entry.name} is ${entry.compressedSize} bytes, too large to read as metadata`);
    return file.read(entry.dataStart, entry.compressedSize);
  }
  return inflateEntry(file, entry, path, budget);
}

/**
 * Inflates a deflated entry into memory. The output is limited to the declared uncompressed size, which
 * is first charged to `budget`, so neither a lying header nor a zip bomb can allocate without bound; an
 * entry declaring more than {@link maxInflatedSize} of its compressed size is refused before inflating.
 *
 * @throws DiffaiError `ERR_ZIP_BOMB`, `ERR_ZIP` (see {@link readEntry}).
 */
export function inflateEntry(file: NativeMappedFile, entry: ZipEntry, path: string, budget: MemoryBudget): Uint8Array {
  if (entry.uncompressedSize > maxInflatedSize(entry.compressedSize)) {
    throw new DiffaiError(
      'ERR_ZIP_BOMB',
      `${path}: zip entry ${entry.name} declares ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed (over ${MAX_INFLATION_RATIO}:1 above ${BOMB_FREE_BYTES} bytes): refused as a zip bomb`,
      { file: path },
    );
  }
  budget.take(entry.uncompressedSize, `zip entry ${entry.name} (declared uncompressed size)`, 'ERR_ZIP_BOMB');
  const chunks: Buffer[] = [];
  for (let off = 0; off < entry.compressedSize; off += MAX_COPY) {
    chunks.push(file.read(entry.dataStart + off, Math.min(MAX_COPY, entry.compressedSize - off)));
  }
  const input = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  let out: Buffer;
  try {
    // maxOutputLength one past the declared size: a longer output proves the header lied.
    out = inflateRawSync(input, { maxOutputLength: Math.max(1, entry.uncompressedSize + 1) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new DiffaiError('ERR_ZIP_BOMB', `${path}: zip entry ${entry.name} inflates past its declared size of ${entry.uncompressedSize} bytes`, { file: path, cause: e });
    }
    throw zipError(path, `entry ${entry.name}: corrupt deflate data (${(e as Error).message})`, e);
  }
  if (out.length > entry.uncompressedSize) {
    throw new DiffaiError('ERR_ZIP_BOMB', `${path}: zip entry ${entry.name} inflates past its declared size of ${entry.uncompressedSize} bytes`, { file: path });
  }
  if (out.length !== entry.uncompressedSize) {
    throw zipError(path, `entry ${entry.name} inflates to ${out.length} bytes but declares ${entry.uncompressedSize}`);
  }
  if ((crc32(out) >>> 0) !== (entry.crc32 >>> 0)) throw zipError(path, `entry ${entry.name}: CRC-32 mismatch`);
  return out;
}
