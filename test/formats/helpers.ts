/**
 * Helpers of the format tests: fixture paths, the generator's reference values, and decoding of
 * tensor bytes into numbers.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isDiffaiError } from '../../lib/errors.js';
import type { DType } from '../../lib/formats/dtype.js';
import type { ModelFile, TensorDescriptor } from '../../lib/formats/TensorDescriptor.js';
import { sourceBytes } from './fsMappedFile.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = resolve(repoRoot, 'test/fixtures/formats');

/** Path of a committed fixture. */
export function fixture(name: string): string {
  return resolve(fixturesDir, name);
}

interface RefTensor {
  dtype: DType;
  shape: number[];
  values: number[];
}

/** The generator's known answers for a fixture. */
export function reference(name: string): Record<string, RefTensor> {
  const all = JSON.parse(readFileSync(fixture('reference.json'), 'utf8')) as Record<string, Record<string, RefTensor>>;
  const r = all[name];
  if (!r) throw new Error(`no reference for ${name}`);
  return r;
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decodes little-endian tensor bytes to numbers (BOOL as 0/1; 64-bit integers as numbers). */
export function decode(dtype: DType, bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  const step: Partial<Record<DType, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };
  const n = bytes.length / (step[dtype] ?? 1);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F64': out.push(dv.getFloat64(i * 8, true)); break;
      case 'F32': out.push(dv.getFloat32(i * 4, true)); break;
      case 'F16': out.push(f16(dv.getUint16(i * 2, true))); break;
      case 'BF16': { const b = new DataView(new ArrayBuffer(4)); b.setUint32(0, dv.getUint16(i * 2, true) << 16, true); out.push(b.getFloat32(0, true)); break; }
      case 'I64': out.push(Number(dv.getBigInt64(i * 8, true))); break;
      case 'U64': out.push(Number(dv.getBigUint64(i * 8, true))); break;
      case 'I32': out.push(dv.getInt32(i * 4, true)); break;
      case 'U32': out.push(dv.getUint32(i * 4, true)); break;
      case 'I16': out.push(dv.getInt16(i * 2, true)); break;
      case 'U16': out.push(dv.getUint16(i * 2, true)); break;
      case 'I8': out.push(dv.getInt8(i)); break;
      case 'U8': case 'BOOL': out.push(dv.getUint8(i)); break;
      default: throw new Error(`cannot decode ${dtype}`);
    }
  }
  return out;
}

/** The values of a tensor. */
export function values(t: TensorDescriptor): number[] {
  return decode(t.dtype, sourceBytes(t.source));
}

/** Asserts that `model` holds every reference tensor of `name` with the same dtype, shape and values. */
export function expectMatchesReference(model: ModelFile, name: string): void {
  const ref = reference(name);
  for (const [tensorName, r] of Object.entries(ref)) {
    const t = model.tensors.find((x) => x.name === tensorName);
    expect(t, `${name}: tensor ${tensorName}`).toBeDefined();
    expect({ name: tensorName, dtype: t!.dtype, shape: t!.shape }).toEqual({ name: tensorName, dtype: r.dtype, shape: r.shape });
    expect(t!.count).toBe(r.shape.reduce((a, b) => a * b, 1));
    expect(values(t!), `${name}: values of ${tensorName}`).toEqual(r.values);
  }
}

/** Runs `fn` and returns the DiffaiError it throws (fails the test when it does not throw one). */
export async function diffaiError(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    if (!isDiffaiError(e)) throw e;
    return e as unknown as { code: string; message: string };
  }
  throw new Error('expected a DiffaiError, nothing was thrown');
}

/** A loosely typed view of metadata for assertions (any key, any depth). */
export interface Loose {
  readonly [key: string]: Loose;
  readonly [index: number]: Loose;
}

/** The metadata of a model as a {@link Loose} tree. */
export function meta(m: ModelFile): Loose {
  return m.metadata as unknown as Loose;
}
