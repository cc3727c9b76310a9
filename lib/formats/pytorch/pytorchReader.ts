/**
 * The PyTorch reader: `.pt` / `.pth` / `.bin` / `.ckpt` files written by `torch.save`, both the zip
 * layout (torch >= 1.6; any top folder name; with or without a `byteorder` entry) and the legacy
 * non-zip layout (a run of pickles followed by raw storages).
 *
 * The pickle is parsed, never executed (see pickleMachine.ts and torchGlobals.ts). Stored zip entries
 * are mapped in place; tensors are named by their path in the pickled object.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { DTYPES } from '../dtype.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile } from '../TensorDescriptor.js';
import { mapFile as defaultMapFile, type FileMapper } from '../numpy/mapFile.js';
import { MemoryBudget } from '../numpy/memoryBudget.js';
import { FileInput } from './fileInput.js';
import { BufferInput, PyDict, PyGlobal, PyTuple, describe, runPickle, type PickleInput, type PyValue } from './pickleMachine.js';
import { scanPickle } from './scanPickle.js';
import { describeCheckpoint, type StorageData } from './torchCheckpoint.js';
import { STORAGE_DTYPES, StorageRef, createLoadPolicy } from './torchGlobals.js';
import { inflateEntry, looksLikeZip, openZipArchive, readEntry, type ZipArchive } from './zipArchive.js';

/** First bytes of a legacy (non-zip) torch file: PROTO 2, then LONG1 of the magic number 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const EXTENSIONS = ['.pt', '.pth', '.bin', '.ckpt'];

/** True when `head` starts like a legacy torch file. */
export function looksLikeLegacyTorch(head: Uint8Array): boolean {
  return head.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b);
}

/** True when the first zip entry (its name is in the first local header) is a torch `data.pkl`. */
function firstEntryIsDataPkl(head: Uint8Array): boolean {
  if (!looksLikeZip(head) || head.length < 30) return false;
  const n = head[26] | (head[27] << 8);
  const name = new TextDecoder('latin1').decode(head.subarray(30, Math.min(head.length, 30 + n)));
  return name.endsWith('data.pkl') || (name.length < n && 'data.pkl'.startsWith(name.slice(name.lastIndexOf('/') + 1)) && name.includes('/'));
}

/**
 * Persistent-id handler shared by both layouts: one {@link StorageRef} per (key, dtype).
 * Zip: `('storage', cls, key, location, numel)`; legacy: the same plus `view_metadata`
 * (`(view_key, offset, size)` or None).
 */
function storageResolver(): (pid: PyValue, fail: (m: string) => Error) => StorageRef {
  const storages = new Map<string, StorageRef>();
  return (pid, fail) => {
    const t = pid instanceof PyTuple ? pid.items : null;
    if (t === null || t[0] !== 'storage') {
      if (t !== null && t[0] === 'module') throw fail(`the file pickles a whole nn.Module with its source code; diffai reads state dicts and checkpoints (save model.state_dict())`);
      throw fail(`unsupported persistent id (${describe(pid)})`);
    }
    const cls = t[1];
    if (!(cls instanceof PyGlobal) || cls.module !== 'torch' || !(cls.name in STORAGE_DTYPES)) throw fail(`persistent id names storage type ${describe(cls)}`);
    const key = t[2];
    const numel = t[4];
    if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw fail(`malformed storage persistent id`);
    const dtype = STORAGE_DTYPES[cls.name];
    let viewOffset = 0;
    let rootKey = key;
    const view = t[5];
    if (view instanceof PyTuple) {
      // legacy view storage: (view_key, offset, view_size) into root storage `key`
      const off = view.items[1];
      if (typeof off !== 'number' || !Number.isSafeInteger(off) || off < 0) throw fail(`malformed storage view`);
      viewOffset = off;
      rootKey = key;
    }
    const id = `${rootKey}|${dtype}|${viewOffset}`;
    let s = storages.get(id);
    if (!s) {
      s = new StorageRef(rootKey, dtype, numel, viewOffset);
      storages.set(id, s);
    }
    return s;
  };
}

function loadPickle(input: PickleInput, path: string, where: string): PyValue {
  const resolve = storageResolver();
  return runPickle(input, createLoadPolicy({ path, where, persistentLoad: resolve }), { path, where });
}

/** Finds the `<prefix>/data.pkl` of a torch zip (the shallowest one). */
export function findDataPkl(zip: ZipArchive): string | null {
  const candidates = zip.entries.map((e) => e.name).filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  candidates.sort((a, b) => a.split('/').length - b.split('/').length || a.length - b.length);
  return candidates[0] ?? null;
}

async function openZip(file: NativeMappedFile, path: string, budget: MemoryBudget): Promise<{ root: PyValue; resolve: (s: StorageRef) => StorageData; meta: Record<string, unknown> }> {
  const zip = await openZipArchive(file, path);
  const dataPkl = findDataPkl(zip);
  if (dataPkl === null) throw new DiffaiError('ERR_PICKLE', `${path}: zip archive without a data.pkl entry: not a torch.save file`, { file: path });
  const prefix = dataPkl.slice(0, -'data.pkl'.length);
  if (zip.get(`${prefix}constants.pkl`) || zip.entries.some((e) => e.name.startsWith(`${prefix}code/`))) {
    throw new DiffaiError('ERR_PICKLE', `${path}: a TorchScript archive (torch.jit.save); diffai reads torch.save files (save the model's state_dict)`, { file: path });
  }
  // Every pickle in the archive is checked against the allow-list, not only the one torch.load reads.
  for (const e of zip.entries) {
    if (!e.name.endsWith('.pkl') || e.name === dataPkl) continue;
    const bytes = readEntry(file, e, path, budget);
    const scan = scanPickle(new BufferInput(bytes, (m) => new Error(m)), path, e.name);
    if (scan.findings.length > 0) {
      const f = scan.findings[0];
      throw new DiffaiError('ERR_PICKLE_UNSAFE_GLOBAL', `${path} (${e.name}): refused to load: the pickle names the global ${f.global} (${f.opcode} at byte ${f.offset}), which is not on the allow-list; nothing was executed`, { file: path });
    }
  }
  const byteorderEntry = zip.get(`${prefix}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(readEntry(file, byteorderEntry, path, budget)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw new DiffaiError('ERR_PICKLE', `${path}: byteorder entry says ${JSON.stringify(byteorder.slice(0, 20))}`, { file: path });
  const pkl = readEntry(file, zip.get(dataPkl)!, path, budget);
  const root = loadPickle(new BufferInput(pkl, (m) => new DiffaiError('ERR_PICKLE', `${path} (${dataPkl}): malformed pickle: ${m}`, { file: path })), path, dataPkl);
  const inflated = new Map<string, Uint8Array>();
  const resolve = (s: StorageRef): StorageData => {
    const name = `${prefix}data/${s.key}`;
    const entry = zip.get(name);
    if (!entry) throw new DiffaiError('ERR_PICKLE', `${path}: the pickle refers to storage ${s.key}, but the archive has no entry ${name}`, { file: path });
    const need = s.numel * DTYPES[s.dtype].size;
    if (entry.uncompressedSize < need) {
      throw new DiffaiError('ERR_PICKLE', `${path}: storage ${s.key} declares ${s.numel} ${s.dtype} elements (${need} bytes) but entry ${name} holds ${entry.uncompressedSize} bytes`, { file: path });
    }
    if (entry.method === 0) return { kind: 'mapped', file, offset: entry.dataStart, byteLength: entry.compressedSize, bigEndian: byteorder === 'big' };
    let data = inflated.get(name);
    if (!data) {
      data = inflateEntry(file, entry, path, budget);
      inflated.set(name, data);
    }
    return { kind: 'memory', data, bigEndian: byteorder === 'big' };
  };
  return { root, resolve, meta: { archive: 'zip', prefix: prefix.replace(/\/$/, ''), byteorder } };
}

function openLegacy(file: NativeMappedFile, path: string): { root: PyValue; resolve: (s: StorageRef) => StorageData; meta: Record<string, unknown> } {
  const err = (m: string): DiffaiError => new DiffaiError('ERR_PICKLE', `${path}: legacy torch file: ${m}`, { file: path });
  const input = new FileInput(file, 0, err);
  const magic = loadPickle(input, path, 'magic number');
  if (magic !== LEGACY_MAGIC_NUMBER) throw err(`wrong magic number`);
  const protocol = loadPickle(input, path, 'protocol version');
  if (protocol !== 1001) throw err(`unsupported protocol version ${String(protocol)}`);
  const sysInfo = loadPickle(input, path, 'system info');
  const little = !(sysInfo instanceof PyDict) || sysInfo.map.get('little_endian') !== false;
  const resolveStorage = storageResolver();
  const refs = new Map<string, StorageRef>();
  const root = runPickle(
    input,
    createLoadPolicy({
      path,
      where: 'legacy pickle',
      persistentLoad: (pid, fail) => {
        const s = resolveStorage(pid, fail);
        if (!refs.has(s.key)) refs.set(s.key, s);
        return s;
      },
    }),
    { path, where: 'legacy pickle' },
  );
  const keys = loadPickle(input, path, 'storage keys');
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw err(`storage key list is a ${describe(keys)}`);
  // Raw storages follow in key order: an int64 element count, then the elements.
  const located = new Map<string, StorageData>();
  let pos = input.position;
  for (const key of keys as string[]) {
    const ref = refs.get(key);
    if (!ref) throw err(`storage ${key} is listed but never used`);
    if (pos + 8 > file.size) throw err(`storage ${key} header at byte ${pos} is past the end of the file (${file.size} bytes)`);
    const numel = new DataView(file.read(pos, 8).buffer).getBigInt64(0, little);
    const es = DTYPES[ref.dtype].size;
    if (numel < 0n || numel * BigInt(es) > BigInt(file.size - pos - 8)) throw err(`storage ${key} declares ${numel} elements, more than the ${file.size - pos - 8} bytes left in the file`);
    const byteLength = Number(numel) * es;
    located.set(key, { kind: 'mapped', file, offset: pos + 8, byteLength, bigEndian: !little });
    pos += 8 + byteLength;
  }
  const resolve = (s: StorageRef): StorageData => {
    const d = located.get(s.key);
    if (!d) throw err(`storage ${s.key} is used but not in the storage key list`);
    return d;
  };
  return { root, resolve, meta: { archive: 'legacy', byteorder: little ? 'little' : 'big' } };
}

/**
 * Opens a PyTorch file.
 *
 * @param mapFile - maps the file (the native addon by default; tests pass an fs-backed stand-in).
 * @throws DiffaiError `ERR_PICKLE_UNSAFE_GLOBAL` (a global outside the allow-list, nothing executed),
 *   `ERR_PICKLE` (malformed pickle, storage out of range), `ERR_ZIP`, `ERR_ZIP_BOMB`, `ERR_FORMAT`.
 */
export async function openPytorch(path: string, options: ReadOptions = {}, mapFile: FileMapper = defaultMapFile): Promise<ModelFile> {
  const file = await mapFile(path);
  try {
    const budget = new MemoryBudget(path, options.maxInflatedBytes);
    const head = file.read(0, Math.min(file.size, 512));
    let opened;
    if (looksLikeZip(head)) opened = await openZip(file, path, budget);
    else if (looksLikeLegacyTorch(head)) opened = openLegacy(file, path);
    else if (head.length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar') {
      throw new DiffaiError('ERR_FORMAT', `${path}: a tar-format torch file (PyTorch < 0.4); re-save it with a current torch`, { file: path });
    } else {
      throw new DiffaiError('ERR_FORMAT', `${path}: not a PyTorch file (neither a zip archive nor the legacy pickle format; it starts with ${Buffer.from(head.subarray(0, 8)).toString('hex')})`, { file: path });
    }
    const contents = describeCheckpoint(opened.root, opened.resolve, path, budget);
    return {
      path,
      format: 'pytorch',
      tensors: contents.tensors,
      metadata: { ...contents.metadata, pytorch: opened.meta },
      // A state dict keeps module registration order, which is depth order.
      orderIsDepth: true,
      bytes: file.size,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The PyTorch {@link ModelReader}. */
export const pytorchReader: ModelReader = {
  format: 'pytorch',
  detect(path, head, isDirectory) {
    if (isDirectory) return false;
    const lower = path.toLowerCase();
    if (looksLikeLegacyTorch(head)) return true;
    if (EXTENSIONS.some((e) => lower.endsWith(e))) return true;
    return firstEntryIsDataPkl(head);
  },
  open: (path, options) => openPytorch(path, options),
};
