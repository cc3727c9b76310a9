/**
 * Parser of MATLAB Level 5 MAT-files (written by MATLAB v5-v7 and by scipy.io.savemat): numeric arrays,
 * logical arrays, miCOMPRESSED variables, complex arrays (as `.real` / `.imag`), structs and cells
 * (as nested names), char arrays (as metadata strings).
 *
 * MATLAB stores arrays column-major; every array of 2 or more non-unit dimensions is transposed into
 * a C-order `memory` source so that it compares element for element with the same array written by
 * NumPy or PyTorch. MATLAB has no arrays of rank below 2: a 1x1 array is reported as a 0-d tensor and
 * a 1xN or Nx1 array as a vector [N] (the original dimensions are kept in `metadata.matlab.dims`).
 *
 * @module
 */
import { constants as bufferConstants } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { DTYPES, type DType } from '../dtype.js';
import type { TensorDescriptor, TensorSource } from '../TensorDescriptor.js';
import { byteSwapInPlace, fortranToC, shapeCount } from '../numpy/layout.js';
import { BOMB_FREE_BYTES, MAX_INFLATION_RATIO, maxInflatedSize, type MemoryBudget } from '../numpy/memoryBudget.js';
import { MI, MI_DTYPES, MX, MX_DTYPES, MX_NAMES, decodeTag, type MatTag } from './matTags.js';

/** Bytes that hold MAT data: the mapped file, or an inflated miCOMPRESSED element. */
interface Region {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  /** Set for the file itself: data can be mapped at `offset` in `file`. */
  readonly file?: NativeMappedFile;
}

/** Result of {@link parseMatV5}. */
export interface MatContents {
  readonly tensors: TensorDescriptor[];
  readonly strings: Record<string, string>;
  readonly dims: Record<string, number[]>;
  readonly skipped: Record<string, string>;
  readonly header: string;
  readonly bigEndian: boolean;
}

/** Deepest struct/cell nesting followed. */
const MAX_DEPTH = 64;

/**
 * Parses a Level 5 MAT-file.
 * @throws DiffaiError `ERR_MAT` (bad header, truncated or inconsistent elements), `ERR_ZIP_BOMB`
 *   (miCOMPRESSED data past the memory limit).
 */
export function parseMatV5(file: NativeMappedFile, path: string, budget: MemoryBudget): MatContents {
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_MAT', `${path}: ${m}`, { file: path });
  if (file.size < 128) throw fail(`too short for a MAT-file header (${file.size} bytes)`);
  const hdr = file.read(0, 128);
  const headerText = new TextDecoder('latin1').decode(hdr.subarray(0, 116)).replace(/[\0 ]+$/, '');
  const endian = String.fromCharCode(hdr[126], hdr[127]);
  if (endian !== 'IM' && endian !== 'MI') throw fail(`not a Level 5 MAT-file (endian indicator ${JSON.stringify(endian)}, expected "IM" or "MI")`);
  const little = endian === 'IM';
  const out: MatContents = { tensors: [], strings: {}, dims: {}, skipped: {}, header: headerText, bigEndian: !little };
  const fileRegion: Region = { size: file.size, read: (o, l) => file.read(o, l), file };

  const readTag = (r: Region, offset: number, end: number, what: string): MatTag => {
    if (offset + 8 > end) throw fail(`${what}: element tag at byte ${offset} runs past the end of its container (${end})`);
    const tag = decodeTag(r.read(offset, 8), offset, little);
    if (tag.dataOffset + tag.length > end) throw fail(`${what}: element at byte ${offset} declares ${tag.length} bytes, past the end of its container (${end})`);
    return tag;
  };

  const intArray = (r: Region, tag: MatTag, what: string): number[] => {
    const t = MI_DTYPES[tag.type];
    if (!t || (tag.type !== MI.INT32 && tag.type !== MI.UINT32)) throw fail(`${what}: dimensions stored as type ${tag.type}, expected miINT32`);
    const b = r.read(tag.dataOffset, tag.length);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const n = Math.floor(tag.length / 4);
    const dims: number[] = [];
    for (let i = 0; i < n; i++) dims.push(dv.getInt32(i * 4, little));
    return dims;
  };

  /** Numeric data of `count` elements of `dtype` from an element stored as mi type `tag.type`. */
  const numericSource = (r: Region, tag: MatTag, dtype: DType, dims: number[], name: string): TensorSource => {
    const stored = MI_DTYPES[tag.type];
    if (!stored) throw fail(`${name}: data stored as type ${tag.type}, which is not numeric`);
    const count = shapeCount(dims);
    if (tag.length !== count * stored.size) throw fail(`${name}: ${tag.length} data bytes, but dimensions ${dims.join('x')} of ${MI_DTYPES[tag.type].dtype} need ${count * stored.size}`);
    const targetSize = DTYPES[dtype].size;
    const nonUnit = dims.filter((d) => d !== 1).length;
    if (r.file && little && stored.dtype === dtype && nonUnit <= 1) return { kind: 'mapped', file: r.file, offset: tag.dataOffset, byteLength: tag.length };
    budget.take(count * targetSize, `variable ${name} (converted to C order)`);
    let bytes = r.file ? r.read(tag.dataOffset, tag.length) : r.read(tag.dataOffset, tag.length).slice();
    if (!little) byteSwapInPlace(bytes, stored.size);
    if (stored.dtype !== dtype) bytes = widen(bytes, stored.dtype, dtype, count);
    bytes = fortranToC(bytes, dims, targetSize);
    return { kind: 'memory', data: bytes };
  };

  const matrix = (r: Region, start: number, end: number, name: string | null, depth: number): void => {
    if (depth > MAX_DEPTH) throw fail(`structs or cells nested deeper than ${MAX_DEPTH}`);
    const what = name ?? `element at byte ${start}`;
    if (start === end) return; // empty miMATRIX (an empty cell element)
    const flagsTag = readTag(r, start, end, what);
    if (flagsTag.length < 8) throw fail(`${what}: array flags too short`);
    const flags = r.read(flagsTag.dataOffset, 8);
    const f0 = new DataView(flags.buffer, flags.byteOffset, 8).getUint32(0, little);
    const cls = f0 & 0xff;
    const complex = (f0 & 0x800) !== 0;
    const logical = (f0 & 0x200) !== 0;
    const dimsTag = readTag(r, flagsTag.next, end, what);
    const dims = intArray(r, dimsTag, what);
    if (dims.length < 2 || dims.some((d) => d < 0)) throw fail(`${what}: invalid dimensions [${dims.join(', ')}]`);
    const nameTag = readTag(r, dimsTag.next, end, what);
    const ownName = new TextDecoder('latin1').decode(r.read(nameTag.dataOffset, nameTag.length));
    const full = name ?? ownName;
    if (full === '') throw fail(`variable at byte ${start} has no name`);
    let pos = nameTag.next;
    const shape = squeeze(dims);
    if (cls in MX_DTYPES) {
      const dtype: DType = logical ? 'BOOL' : MX_DTYPES[cls];
      const realTag = readTag(r, pos, end, full);
      out.dims[complex ? `${full}.real` : full] = dims;
      out.tensors.push({ name: complex ? `${full}.real` : full, dtype, shape, count: shapeCount(dims), source: numericSource(r, realTag, dtype === 'BOOL' ? 'U8' : dtype, dims, full) });
      if (complex) {
        const imagTag = readTag(r, realTag.next, end, full);
        out.dims[`${full}.imag`] = dims;
        out.tensors.push({ name: `${full}.imag`, dtype, shape, count: shapeCount(dims), source: numericSource(r, imagTag, dtype === 'BOOL' ? 'U8' : dtype, dims, `${full}.imag`) });
      }
      return;
    }
    switch (cls) {
      case MX.CHAR: {
        const tag = readTag(r, pos, end, full);
        const bytes = r.read(tag.dataOffset, tag.length);
        let text: string;
        if (tag.type === MI.UTF8 || tag.type === MI.UINT8 || tag.type === MI.INT8) text = new TextDecoder('utf-8').decode(bytes);
        else if (tag.type === MI.UINT16 || tag.type === MI.UTF16) text = new TextDecoder(little ? 'utf-16le' : 'utf-16be').decode(bytes);
        else if (tag.type === MI.UTF32 || tag.type === MI.UINT32 || tag.type === MI.INT32) {
          const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          text = Array.from({ length: bytes.length >> 2 }, (_, i) => String.fromCodePoint(dv.getUint32(i * 4, little) & 0x1fffff)).join('');
        } else throw fail(`${full}: char data stored as type ${tag.type}`);
        // A multi-row char matrix is column-major: row i is characters i, i+rows, ...
        if (dims[0] > 1 && dims.length === 2 && dims[1] > 1) {
          const rows = dims[0];
          text = Array.from({ length: rows }, (_, i) => Array.from({ length: dims[1] }, (_, j) => text[i + j * rows] ?? '').join('')).join('\n');
        }
        out.strings[full] = text;
        return;
      }
      case MX.STRUCT: {
        const lenTag = readTag(r, pos, end, full);
        const lb = r.read(lenTag.dataOffset, 4);
        const fieldLen = new DataView(lb.buffer, lb.byteOffset, 4).getInt32(0, little);
        const namesTag = readTag(r, lenTag.next, end, full);
        if (fieldLen <= 0 || namesTag.length % fieldLen !== 0) {
          if (namesTag.length === 0) return;
          throw fail(`${full}: struct field names of ${namesTag.length} bytes are not a multiple of ${fieldLen}`);
        }
        const nb = r.read(namesTag.dataOffset, namesTag.length);
        const fields: string[] = [];
        for (let i = 0; i < namesTag.length; i += fieldLen) fields.push(new TextDecoder('latin1').decode(nb.subarray(i, i + fieldLen)).replace(/\0.*$/s, ''));
        pos = namesTag.next;
        const n = shapeCount(dims);
        for (let k = 0; k < n; k++) {
          for (const field of fields) {
            const t = readTag(r, pos, end, full);
            if (t.type !== MI.MATRIX) throw fail(`${full}.${field}: expected miMATRIX, found type ${t.type}`);
            matrix(r, t.dataOffset, t.dataOffset + t.length, n === 1 ? `${full}.${field}` : `${full}.${k}.${field}`, depth + 1);
            pos = t.next;
          }
        }
        return;
      }
      case MX.CELL: {
        const n = shapeCount(dims);
        for (let k = 0; k < n; k++) {
          const t = readTag(r, pos, end, full);
          if (t.type !== MI.MATRIX) throw fail(`${full}{${k}}: expected miMATRIX, found type ${t.type}`);
          matrix(r, t.dataOffset, t.dataOffset + t.length, `${full}.${k}`, depth + 1);
          pos = t.next;
        }
        return;
      }
      default:
        out.skipped[full] = `${MX_NAMES[cls] ?? `class ${cls}`} arrays are not compared`;
    }
  };

  const element = (r: Region, offset: number, end: number): number => {
    const tag = readTag(r, offset, end, `element at byte ${offset}`);
    if (tag.type === MI.MATRIX) {
      matrix(r, tag.dataOffset, tag.dataOffset + tag.length, null, 0);
    } else if (tag.type === MI.COMPRESSED) {
      const remaining = budget.limit - budget.taken;
      // miCOMPRESSED declares no inflated size: cap the output by the budget and by the ratio rule.
      const ratioCap = maxInflatedSize(tag.length);
      let inflated: Buffer;
      try {
        inflated = inflateSync(r.read(tag.dataOffset, tag.length), { maxOutputLength: Math.max(1, Math.min(remaining, ratioCap, bufferConstants.MAX_LENGTH)) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
          const why =
            ratioCap < remaining
              ? `inflates past ${ratioCap} bytes from ${tag.length} compressed (over ${MAX_INFLATION_RATIO}:1 above ${BOMB_FREE_BYTES} bytes): refused as a zip bomb`
              : `inflates past the memory limit (${remaining} bytes left of ReadOptions.maxInflatedBytes)`;
          throw new DiffaiError('ERR_ZIP_BOMB', `${path}: miCOMPRESSED element at byte ${offset} ${why}`, { file: path, cause: e });
        }
        throw fail(`miCOMPRESSED element at byte ${offset}: corrupt zlib data (${(e as Error).message})`);
      }
      budget.take(inflated.length, `miCOMPRESSED element at byte ${offset}`, 'ERR_ZIP_BOMB');
      const region: Region = { size: inflated.length, read: (o, l) => inflated.subarray(o, o + l) };
      let p = 0;
      while (p < inflated.length) p = element(region, p, inflated.length);
    }
    // Other top-level element types carry no variables and are skipped.
    return Math.min(tag.next, end);
  };

  let pos = 128;
  while (pos < file.size) {
    // Trailing zero padding after the last element is tolerated.
    if (file.size - pos < 8) break;
    pos = element(fileRegion, pos, file.size);
  }
  return out;
}

/** MATLAB has no rank-1 arrays: 1x1 becomes 0-d, 1xN or Nx1 becomes [N]; higher ranks are kept. */
function squeeze(dims: number[]): number[] {
  if (dims.length !== 2) return [...dims];
  if (dims[0] === 1 && dims[1] === 1) return [];
  if (dims[0] === 1) return [dims[1]];
  if (dims[1] === 1) return [dims[0]];
  return [...dims];
}

/** Converts elements stored in a narrower type (MATLAB may store a double array as uint8) to `to`. */
function widen(bytes: Uint8Array, from: DType, to: DType, count: number): Uint8Array {
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get: (i: number) => number | bigint = {
    I8: (i: number) => src.getInt8(i), U8: (i: number) => src.getUint8(i), I16: (i: number) => src.getInt16(i * 2, true), U16: (i: number) => src.getUint16(i * 2, true),
    I32: (i: number) => src.getInt32(i * 4, true), U32: (i: number) => src.getUint32(i * 4, true), F32: (i: number) => src.getFloat32(i * 4, true),
    F64: (i: number) => src.getFloat64(i * 8, true), I64: (i: number) => src.getBigInt64(i * 8, true), U64: (i: number) => src.getBigUint64(i * 8, true),
  }[from as 'I8'] ?? ((): number => 0);
  const sizes: Partial<Record<DType, number>> = { I8: 1, U8: 1, I16: 2, U16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };
  const out = new Uint8Array(count * (sizes[to] ?? 8));
  const dst = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const v = get(i);
    const n = typeof v === 'bigint' ? Number(v) : v;
    switch (to) {
      case 'F64': dst.setFloat64(i * 8, n, true); break;
      case 'F32': dst.setFloat32(i * 4, n, true); break;
      case 'I64': dst.setBigInt64(i * 8, typeof v === 'bigint' ? v : BigInt(Math.trunc(n)), true); break;
      case 'U64': dst.setBigUint64(i * 8, typeof v === 'bigint' ? v : BigInt(Math.trunc(n)), true); break;
      case 'I32': dst.setInt32(i * 4, n, true); break;
      case 'U32': dst.setUint32(i * 4, n, true); break;
      case 'I16': dst.setInt16(i * 2, n, true); break;
      case 'U16': dst.setUint16(i * 2, n, true); break;
      case 'I8': dst.setInt8(i, n); break;
      default: dst.setUint8(i, n);
    }
  }
  return out;
}
