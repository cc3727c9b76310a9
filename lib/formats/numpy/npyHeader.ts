/**
 * The `.npy` header (NumPy format versions 1.0, 2.0 and 3.0): magic, version, header length, then a
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
 * See numpy/lib/format.py (the format's reference description).
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import { parseNumpyDType, type NumpyDTypeInfo } from './npyDType.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy refuses headers over 10 KB unless asked; 1 MiB bounds a hostile one. */
const MAX_HEADER = 1 << 20;

/** A parsed `.npy` header. */
export interface NpyHeader {
  readonly version: string;
  /** The dtype string as written, e.g. `<f4`. */
  readonly descr: string;
  readonly info: NumpyDTypeInfo;
  readonly fortranOrder: boolean;
  readonly shape: number[];
  readonly count: number;
  /** Byte offset of the data from the start of the `.npy` bytes. */
  readonly dataOffset: number;
  /** Data length in bytes (count x element size). */
  readonly byteLength: number;
}

/** True when `head` starts with the `.npy` magic. */
export function looksLikeNpy(head: Uint8Array): boolean {
  return head.length >= 6 && MAGIC.every((b, i) => head[i] === b);
}

/**
 * Length of the whole header (magic through padding) from the first 12 bytes, for reading it in one go.
 * @throws DiffaiError `ERR_NPY` (bad magic, unknown version, oversized header).
 */
export function npyHeaderLength(first: Uint8Array, where: string, path: string): number {
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_NPY', `${where}: ${m}`, { file: path });
  if (first.length < 10) throw fail(`too short for a .npy header (${first.length} bytes)`);
  if (!looksLikeNpy(first)) throw fail(`wrong magic (expected \\x93NUMPY, got ${Buffer.from(first.subarray(0, 6)).toString('hex')})`);
  const major = first[6];
  const dv = new DataView(first.buffer, first.byteOffset, first.byteLength);
  let len: number;
  let pre: number;
  if (major === 1) {
    len = dv.getUint16(8, true);
    pre = 10;
  } else if (major === 2 || major === 3) {
    if (first.length < 12) throw fail(`too short for a version ${major} header`);
    len = dv.getUint32(8, true);
    pre = 12;
  } else {
    throw fail(`unsupported .npy format version ${major}.${first[7]}`);
  }
  if (len > MAX_HEADER) throw fail(`header length ${len} is over the ${MAX_HEADER}-byte limit`);
  return pre + len;
}

/**
 * Parses a `.npy` header.
 *
 * @param header - at least the first {@link npyHeaderLength} bytes.
 * @param available - bytes of the `.npy` data that exist (file or entry size), checked against the shape.
 * @param where - the file (and entry) named in errors.
 * @throws DiffaiError `ERR_NPY`: bad magic or version, a header that is not the expected dict, an
 *   unsupported dtype (objects, strings, complex, records), a bad shape, or data shorter than the shape needs.
 */
export function parseNpyHeader(header: Uint8Array, available: number, where: string, path: string): NpyHeader {
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_NPY', `${where}: ${m}`, { file: path });
  const total = npyHeaderLength(header, where, path);
  if (header.length < total) throw fail(`header of ${total} bytes is truncated (${header.length} available)`);
  const major = header[6];
  const pre = major === 1 ? 10 : 12;
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(header.subarray(pre, total));
  let dict: Record<string, unknown>;
  try {
    dict = parseHeaderDict(text);
  } catch (e) {
    throw fail(`header is not a dict literal: ${(e as Error).message}`);
  }
  const descr = dict.descr;
  if (typeof descr !== 'string') throw fail(`header 'descr' is ${Array.isArray(descr) ? 'a structured (record) dtype' : 'missing'}; only plain numeric arrays are read`);
  if (/^[|<>=]?O/.test(descr)) throw fail(`dtype ${descr} is an object array: its data is a pickle of Python objects and is not loaded (run diffai --scan on it)`);
  const info = parseNumpyDType(descr);
  if (info === null) throw fail(`unsupported dtype ${descr} (supported: f2, f4, f8, i1-i8, u1-u8, b1)`);
  if (typeof dict.fortran_order !== 'boolean') throw fail(`header 'fortran_order' must be True or False`);
  const shape = dict.shape;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) throw fail(`header 'shape' must be a tuple of non-negative integers`);
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (!Number.isSafeInteger(count)) throw fail(`shape (${shape.join(', ')}) overflows`);
  }
  const byteLength = count * info.size;
  if (!Number.isSafeInteger(byteLength)) throw fail(`shape (${shape.join(', ')}) overflows`);
  if (total + byteLength > available) {
    throw fail(`shape (${shape.join(', ')}) of ${descr} needs ${byteLength} data bytes but only ${Math.max(0, available - total)} follow the header (truncated file or lying header)`);
  }
  return { version: `${major}.${header[7]}`, descr, info, fortranOrder: dict.fortran_order, shape: shape as number[], count, dataOffset: total, byteLength };
}

/** Parses the Python literal subset numpy writes: a dict of str keys to str, bool, int and tuples/lists. */
function parseHeaderDict(text: string): Record<string, unknown> {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw new Error(`expected , or ${close} at ${i}`);
      }
    }
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    const m = /^-?\d+L?/.exec(text.slice(i, i + 40));
    if (m) {
      i += m[0].length;
      return Number(m[0].replace('L', ''));
    }
    throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))} at ${i}`);
  };
  ws();
  if (text[i] !== '{') throw new Error('does not start with {');
  i++;
  const out: Record<string, unknown> = {};
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const k = value();
    if (typeof k !== 'string') throw new Error('key is not a string');
    ws();
    if (text[i] !== ':') throw new Error(`expected : at ${i}`);
    i++;
    out[k] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected , or } at ${i}`);
  }
  ws();
  if (i !== text.length) throw new Error('trailing characters after the dict');
  return out;
}
