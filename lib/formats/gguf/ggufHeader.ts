/**
 * The GGUF header (versions 2 and 3; ggml's docs/gguf.md): magic `GGUF`, version, tensor count,
 * metadata key-values, tensor infos, then the aligned data section.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { FileInput } from '../pytorch/fileInput.js';

/** ggml tensor types this reader knows, with block geometry (elements, bytes per block). */
export const GGML_TYPES: Readonly<Record<number, { name: string; blockElements: number; blockBytes: number }>> = {
  0: { name: 'F32', blockElements: 1, blockBytes: 4 },
  1: { name: 'F16', blockElements: 1, blockBytes: 2 },
  2: { name: 'Q4_0', blockElements: 32, blockBytes: 18 },
  3: { name: 'Q4_1', blockElements: 32, blockBytes: 20 },
  6: { name: 'Q5_0', blockElements: 32, blockBytes: 22 },
  7: { name: 'Q5_1', blockElements: 32, blockBytes: 24 },
  8: { name: 'Q8_0', blockElements: 32, blockBytes: 34 },
  9: { name: 'Q8_1', blockElements: 32, blockBytes: 36 },
  10: { name: 'Q2_K', blockElements: 256, blockBytes: 84 },
  11: { name: 'Q3_K', blockElements: 256, blockBytes: 110 },
  12: { name: 'Q4_K', blockElements: 256, blockBytes: 144 },
  13: { name: 'Q5_K', blockElements: 256, blockBytes: 176 },
  14: { name: 'Q6_K', blockElements: 256, blockBytes: 210 },
  15: { name: 'Q8_K', blockElements: 256, blockBytes: 292 },
  24: { name: 'I8', blockElements: 1, blockBytes: 1 },
  25: { name: 'I16', blockElements: 1, blockBytes: 2 },
  26: { name: 'I32', blockElements: 1, blockBytes: 4 },
  27: { name: 'I64', blockElements: 1, blockBytes: 8 },
  28: { name: 'F64', blockElements: 1, blockBytes: 8 },
  30: { name: 'BF16', blockElements: 1, blockBytes: 2 },
};

/** One tensor info record. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml dims, fastest-varying first (ne[0] is the row length). */
  readonly dims: number[];
  readonly type: number;
  /** Offset relative to the start of the data section. */
  readonly offset: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  readonly version: number;
  readonly kv: Record<string, unknown>;
  readonly tensors: GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataStart: number;
}

/** Arrays longer than this are summarised in metadata (`{type, length}`), e.g. tokenizer vocabularies. */
export const MAX_METADATA_ARRAY = 1024;
const MAX_STRING = 1 << 24;
const MAX_DIMS = 8;

/** True when `head` starts with the GGUF magic. */
export function looksLikeGguf(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

/**
 * Parses the header of a GGUF file.
 * @throws DiffaiError `ERR_GGUF` (bad magic, unsupported version, truncated or inconsistent header).
 */
export function parseGgufHeader(file: NativeMappedFile, path: string): GgufHeader {
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_GGUF', `${path}: ${m}`, { file: path });
  const input = new FileInput(file, 0, (m) => fail(`truncated header: ${m}`));
  const view = (n: number): DataView => {
    const b = input.bytes(n);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  const u32 = (): number => view(4).getUint32(0, true);
  const u64 = (what: string): number => {
    const v = view(8).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${what} ${v} is too large`);
    return Number(v);
  };
  const str = (what: string): string => {
    const n = u64(`${what} length`);
    if (n > MAX_STRING || input.position + n > file.size) throw fail(`${what} of ${n} bytes at byte ${input.position} runs past the end of the file`);
    return new TextDecoder().decode(input.bytes(n));
  };
  if (file.size < 4 || !looksLikeGguf(file.read(0, Math.min(4, file.size)))) throw fail(`not a GGUF file (wrong magic)`);
  input.bytes(4);
  const version = u32();
  if (version !== 2 && version !== 3) throw fail(`unsupported GGUF version ${version} (2 and 3 are read)`);
  const tensorCount = u64('tensor count');
  const kvCount = u64('metadata count');
  // Every tensor info and key-value takes at least 8 bytes: a cheap bound before looping.
  if (tensorCount * 8 > file.size || kvCount * 8 > file.size) throw fail(`declares ${tensorCount} tensors and ${kvCount} metadata entries, more than the file can hold`);

  const scalar = (type: number, what: string): unknown => {
    switch (type) {
      case 0: return view(1).getUint8(0);
      case 1: return view(1).getInt8(0);
      case 2: return view(2).getUint16(0, true);
      case 3: return view(2).getInt16(0, true);
      case 4: return u32();
      case 5: return view(4).getInt32(0, true);
      case 6: return view(4).getFloat32(0, true);
      case 7: return view(1).getUint8(0) !== 0;
      case 8: return str(what);
      case 10: { const v = view(8).getBigUint64(0, true); return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString(); }
      case 11: { const v = view(8).getBigInt64(0, true); return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString(); }
      case 12: return view(8).getFloat64(0, true);
      default: throw fail(`${what}: unknown value type ${type}`);
    }
  };
  const TYPE_NAMES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];
  const value = (type: number, what: string, depth: number): unknown => {
    if (type !== 9) return scalar(type, what);
    if (depth > 4) throw fail(`${what}: arrays nested too deep`);
    const et = u32();
    const n = u64(`${what} array length`);
    if (n > file.size - input.position) throw fail(`${what}: array of ${n} elements runs past the end of the file`);
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = value(et, what, depth + 1);
      if (n <= MAX_METADATA_ARRAY) items.push(v);
    }
    return n <= MAX_METADATA_ARRAY ? items : { type: TYPE_NAMES[et] ?? String(et), length: n };
  };

  const kv: Record<string, unknown> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = str('metadata key');
    const type = u32();
    kv[key] = value(type, `metadata ${key}`, 0);
  }
  const alignment = kv['general.alignment'] ?? 32;
  if (typeof alignment !== 'number' || alignment <= 0 || alignment % 8 !== 0 || alignment > 1 << 20) throw fail(`general.alignment ${String(alignment)} is not a positive multiple of 8`);
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str('tensor name');
    const nd = u32();
    if (nd > MAX_DIMS) throw fail(`tensor ${name} has ${nd} dimensions (at most ${MAX_DIMS})`);
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(u64(`tensor ${name} dimension`));
    const type = u32();
    const offset = u64(`tensor ${name} offset`);
    tensors.push({ name, dims, type, offset });
  }
  const dataStart = Math.ceil(input.position / alignment) * alignment;
  return { version, kv, tensors, alignment, dataStart };
}
