/**
 * Builds safetensors files byte by byte for tests: valid ones with known values, and broken ones
 * (every error kind of the format) by editing the header or the framing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type TestDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface TestTensor {
  dtype: TestDType;
  shape: number[];
  /** Values (converted to the dtype), or raw bytes. */
  values?: number[];
  bytes?: Uint8Array;
}

const SIZE: Record<TestDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** float32 -> IEEE half bits, round to nearest even (test-side reference). */
export function f32ToF16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}

/** float32 -> bfloat16 bits, round to nearest even. */
export function f32ToBf16Bits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Encodes values as little-endian bytes of `dtype`. */
export function encode(dtype: TestDType, values: number[]): Uint8Array {
  const buf = new Uint8Array(values.length * SIZE[dtype]);
  const dv = new DataView(buf.buffer);
  values.forEach((v, i) => {
    const o = i * SIZE[dtype];
    switch (dtype) {
      case 'F64': dv.setFloat64(o, v, true); break;
      case 'F32': dv.setFloat32(o, v, true); break;
      case 'F16': dv.setUint16(o, f32ToF16Bits(v), true); break;
      case 'BF16': dv.setUint16(o, f32ToBf16Bits(v), true); break;
      case 'I64': dv.setBigInt64(o, BigInt(v), true); break;
      case 'I32': dv.setInt32(o, v, true); break;
      case 'I16': dv.setInt16(o, v, true); break;
      case 'I8': dv.setInt8(o, v); break;
      case 'U8': dv.setUint8(o, v); break;
      case 'BOOL': dv.setUint8(o, v ? 1 : 0); break;
    }
  });
  return buf;
}

/** Options that break a valid file in one specific way. */
export interface BuildOptions {
  metadata?: Record<string, unknown>;
  /** Edit the header object (after offsets are assigned) before it is serialised. */
  editHeader?: (header: Record<string, unknown>) => void;
  /** Replace the header text entirely. */
  headerText?: string;
  /** Replace the 8-byte length prefix value. */
  headerLength?: bigint;
  /** Bytes appended after the data. */
  trailing?: number;
  /** Cut the file to this many bytes. */
  truncateTo?: number;
  /** Pad the header with spaces to a multiple of 8 (as the reference writer does). Default true. */
  align?: boolean;
}

/** The bytes of a safetensors file holding `tensors` in the given order. */
export function buildSafetensors(tensors: Record<string, TestTensor>, options: BuildOptions = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.bytes ?? encode(t.dtype, t.values ?? []);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + data.length] };
    chunks.push(data);
    offset += data.length;
  }
  options.editHeader?.(header);
  let text = options.headerText ?? JSON.stringify(header);
  if (options.align !== false) while (Buffer.byteLength(text) % 8) text += ' ';
  const headerBytes = Buffer.from(text, 'utf8');
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, options.headerLength ?? BigInt(headerBytes.length), true);
  const parts = [prefix, headerBytes, ...chunks, new Uint8Array(options.trailing ?? 0)];
  let out = Buffer.concat(parts);
  if (options.truncateTo !== undefined) out = out.subarray(0, options.truncateTo);
  return new Uint8Array(out);
}

let dir: string | undefined;

/** Writes bytes to a fresh file in a per-process temp directory and returns its path. */
export function writeTemp(name: string, bytes: Uint8Array): string {
  dir ??= mkdtempSync(join(tmpdir(), 'diffai-test-'));
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
