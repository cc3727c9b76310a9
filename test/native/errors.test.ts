/**
 * Files, framing, range checks, busy/closed files, abort and progress. Every native error is a
 * DiffaiError with a stable code and names the file where there is one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DiffaiError } from '../../lib/errors.js';
import { PAIR_WIDTH, STATS_WIDTH } from '../../lib/native/AddonTypes.js';
import { addon, loadAddon } from '../../lib/native/loadAddon.js';
import { fileRef, ref, tempDir, writeTemp } from './helpers.js';

const native = addon();
let dir: string;
let cleanup: () => void;
let f32Path: string;
const values = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  f32Path = writeTemp(dir, 'values.bin', values);
});
afterAll(() => cleanup());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DiffaiError);
    return (e as DiffaiError).code;
  }
  return undefined;
}

function header(n: bigint, body: Uint8Array, extra = 0): Uint8Array {
  const b = new Uint8Array(8 + body.length + extra);
  new DataView(b.buffer).setBigUint64(0, n, true);
  b.set(body, 8);
  return b;
}

describe('MappedFile', () => {
  it('maps a file and exposes path, size, closed; read copies bytes', () => {
    const f = new native.MappedFile(f32Path);
    expect(f.path).toBe(f32Path);
    expect(f.size).toBe(32);
    expect(f.closed).toBe(false);
    expect(Array.from(new Float32Array(new Uint8Array(f.read(4, 8)).buffer))).toEqual([2, 3]);
    expect(f.read(32, 0).length).toBe(0);
    f.close();
    expect(f.closed).toBe(true);
    f.close(); // idempotent
  });

  it('errors: not found, not a regular file, read out of range and over the cap, closed', () => {
    const missing = path.join(dir, 'nope.bin');
    try {
      new native.MappedFile(missing);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DiffaiError);
      expect((e as DiffaiError).code).toBe('ERR_FILE_NOT_FOUND');
      expect((e as DiffaiError).file).toBe(missing);
      expect((e as Error).message).toContain(missing);
    }
    const sub = path.join(dir, 'subdir');
    mkdirSync(sub, { recursive: true });
    expect(codeOf(() => new native.MappedFile(sub))).toBe('ERR_FILE_IO');
    const f = new native.MappedFile(f32Path);
    expect(codeOf(() => f.read(30, 4))).toBe('ERR_RANGE');
    expect(codeOf(() => f.read(2 ** 53 - 1, 2))).toBe('ERR_RANGE');
    expect(codeOf(() => f.read(0, 256 * 2 ** 20 + 1))).toBe('ERR_RANGE');
    expect(codeOf(() => f.read(-1, 2))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => f.read(0.5, 2))).toBe('ERR_INVALID_ARGUMENT');
    f.close();
    expect(codeOf(() => f.read(0, 4))).toBe('ERR_FILE_CLOSED');
    expect(codeOf(() => f.safetensorsHeader())).toBe('ERR_FILE_CLOSED');
    f.adviseSequential(0, 10); // never throws, even closed
  });

  it('maps zero-length files', async () => {
    const p = writeTemp(dir, 'empty.bin', new Uint8Array(0));
    const f = new native.MappedFile(p);
    expect(f.size).toBe(0);
    const out = new Float64Array(STATS_WIDTH);
    await native.stats([fileRef(f, 0, 0, 'F32', 0)], out);
    expect(out[0]).toBe(0);
    expect(codeOf(() => f.safetensorsHeader())).toBe('ERR_SAFETENSORS_HEADER_TOO_SMALL');
    f.adviseSequential(0, 100);
    f.close();
  });
});

describe('safetensors framing', () => {
  const cases: [string, Uint8Array, string | null][] = [
    ['file < 8 bytes', new Uint8Array([1, 0, 0]), 'ERR_SAFETENSORS_HEADER_TOO_SMALL'],
    ['N over 1e8', header(100_000_001n, new Uint8Array(4)), 'ERR_SAFETENSORS_HEADER_TOO_LARGE'],
    ['N near 2^64', header(0xffff_ffff_ffff_fff0n, new Uint8Array(4)), 'ERR_SAFETENSORS_HEADER_TOO_LARGE'],
    ['8 + N beyond the file', header(10n, new Uint8Array(9)), 'ERR_SAFETENSORS_INVALID_HEADER_LENGTH'],
    ['exact fit', header(2n, new TextEncoder().encode('{}')), null],
    ['header then data', header(2n, new TextEncoder().encode('{}'), 16), null],
  ];
  for (const [name, bytes, code] of cases) {
    it(name, () => {
      const f = new native.MappedFile(writeTemp(dir, `st-${name.replace(/\W/g, '_')}.safetensors`, bytes));
      if (code) {
        try {
          f.safetensorsHeader();
          expect.unreachable();
        } catch (e) {
          expect((e as DiffaiError).code).toBe(code);
          expect((e as DiffaiError).file).toBe(f.path);
        }
      } else {
        const { header: h, dataOffset } = f.safetensorsHeader();
        expect(new TextDecoder().decode(h)).toBe('{}');
        expect(dataOffset).toBe(10);
      }
      f.close();
    });
  }
});

describe('range and argument checks', () => {
  const out = new Float64Array(STATS_WIDTH);
  it('rejects ranges outside the file, overflow near 2^53, bad numbers, length mismatches', async () => {
    const f = new native.MappedFile(f32Path);
    const bad = async (r: object, code: string, text?: RegExp) => {
      await expect(native.stats([r as never], out)).rejects.toMatchObject({ code });
      expect(codeOf(() => native.statsSync([r as never], out))).toBe(code);
      if (text) await expect(native.stats([r as never], out)).rejects.toThrow(text);
    };
    await bad(fileRef(f, 4, 32, 'F32', 8), 'ERR_RANGE', /values\.bin.*32 bytes/);
    await bad(fileRef(f, 33, 0, 'F32', 0), 'ERR_RANGE');
    await bad(fileRef(f, 2 ** 53 - 1, 16, 'F32', 4), 'ERR_RANGE');
    await bad(fileRef(f, 2 ** 53, 16, 'F32', 4), 'ERR_INVALID_ARGUMENT');
    await bad(fileRef(f, -4, 16, 'F32', 4), 'ERR_INVALID_ARGUMENT');
    await bad(fileRef(f, 1.5, 16, 'F32', 4), 'ERR_INVALID_ARGUMENT');
    await bad(fileRef(f, 0, 12, 'F32', 4), 'ERR_INVALID_ARGUMENT', /byteLength 12 does not match 4 elements of F32 \(16 bytes\)/);
    await bad(fileRef(f, 0, 34, 'Q8_0', 31), 'ERR_INVALID_ARGUMENT', /multiple of 32/);
    await bad({ file: f, offset: 0, byteLength: 4, dtype: 16, count: 1 }, 'ERR_INVALID_ARGUMENT', /dtype/);
    await bad({ file: f, data: new Uint8Array(4), offset: 0, byteLength: 4, dtype: 1, count: 1 }, 'ERR_INVALID_ARGUMENT');
    await bad({ data: new Float32Array(1), offset: 0, byteLength: 4, dtype: 1, count: 1 }, 'ERR_INVALID_ARGUMENT', /Uint8Array/);
    await bad({ data: new Uint8Array(8), offset: 6, byteLength: 4, dtype: 1, count: 1 }, 'ERR_RANGE');
    await bad({ file: {}, offset: 0, byteLength: 4, dtype: 1, count: 1 }, 'ERR_INVALID_ARGUMENT');
    await expect(native.stats([fileRef(f, 0, 32, 'F32', 8)], new Float64Array(5))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(native.stats('nope' as never, out)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    const pairOut = new Float64Array(PAIR_WIDTH);
    await expect(native.pair([{ a: ref(values, 'F32'), b: ref(values.subarray(1), 'F32'), epsilon: 0 }], pairOut)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(native.pair([{ a: ref(values, 'F32'), b: ref(values, 'F32'), epsilon: NaN }], pairOut)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    f.close();
  });

  it('rejects a closed file in a job', async () => {
    const f = new native.MappedFile(f32Path);
    f.close();
    await expect(native.stats([fileRef(f, 0, 32, 'F32', 8)], out)).rejects.toMatchObject({ code: 'ERR_FILE_CLOSED', file: f32Path });
  });

  it('reads the right numbers from a mapped file at an unaligned offset', async () => {
    const f = new native.MappedFile(f32Path);
    await native.stats([fileRef(f, 4, 28, 'F32', 7)], out);
    expect(out[0]).toBe(7);
    expect(out[12]).toBe(2 + 3 + 4 + 5 + 6 + 7 + 8);
    f.close();
  });
});

describe('busy files, abort, progress', () => {
  it('refuses close() while an async kernel uses the file, and allows it after', async () => {
    const f = new native.MappedFile(f32Path);
    const out = new Float64Array(STATS_WIDTH);
    const p = native.stats([fileRef(f, 0, 32, 'F32', 8)], out);
    expect(codeOf(() => f.close())).toBe('ERR_FILE_BUSY');
    expect(f.closed).toBe(false);
    await p;
    expect(out[0]).toBe(8);
    f.close();
    expect(f.closed).toBe(true);
  });

  it('rejects with ERR_ABORTED when aborted before or during the work', async () => {
    const handle = native.createAbortHandle();
    expect(handle.aborted).toBe(false);
    handle.abort();
    expect(handle.aborted).toBe(true);
    const out = new Float64Array(STATS_WIDTH);
    await expect(native.stats([ref(values, 'F32')], out, { abort: handle })).rejects.toMatchObject({ code: 'ERR_ABORTED' });

    // A long float64-path job (I64 is widened element by element), aborted from a timer.
    const big = new Uint8Array(256 * 2 ** 20);
    const jobs = [{ data: big, offset: 0, byteLength: big.length, dtype: 4, count: big.length / 8 }];
    const h2 = native.createAbortHandle();
    const started = native.stats(jobs, out, { abort: h2 });
    setTimeout(() => h2.abort(), 5);
    await expect(started).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('calls onProgress on the main thread with bytes done and total, ending at total', async () => {
    const big = new Uint8Array(64 * 2 ** 20);
    const calls: [number, number][] = [];
    const out = new Float64Array(STATS_WIDTH * 2);
    const jobs = [
      { data: big, offset: 0, byteLength: big.length, dtype: 4, count: big.length / 8 },
      { data: big, offset: 0, byteLength: big.length, dtype: 1, count: big.length / 4 },
    ];
    await native.stats(jobs, out, { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)).toEqual([2 * big.length, 2 * big.length]);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
    expect(out[0]).toBe(big.length / 8);
  });

  it('rejects with the error a progress callback throws', async () => {
    const big = new Uint8Array(8 * 2 ** 20);
    const out = new Float64Array(STATS_WIDTH);
    const boom = new Error('boom');
    await expect(
      native.stats([{ data: big, offset: 0, byteLength: big.length, dtype: 1, count: big.length / 4 }], out, {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });
});

describe('loading', () => {
  it('exposes the levels and the thread count', () => {
    expect(native.threadCount()).toBeGreaterThanOrEqual(1);
    expect(native.simdLevels()).toContain(native.simdLevel());
  });

  it('explains a failed load with platform, arch, Node-API version, ABI and the places searched', () => {
    const empty = tempDir();
    writeFileSync(path.join(empty.dir, 'package.json'), '{"name":"not-diffai"}');
    try {
      loadAddon(empty.dir);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DiffaiError);
      const err = e as DiffaiError;
      expect(err.code).toBe('ERR_NATIVE_LOAD');
      for (const s of [process.platform, process.arch, `Node-API ${process.versions.napi}`, `node ABI ${process.versions.modules}`, path.join(empty.dir, 'build', 'Release')]) {
        expect(err.message).toContain(s);
      }
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      empty.cleanup();
    }
  });
});
