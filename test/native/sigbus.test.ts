/**
 * A mapped file that shrinks under the mapping: reads of the lost pages raise SIGBUS, which the
 * addon turns into ERR_FILE_CHANGED instead of dying (docs/native.md, "Files that change").
 */
import { truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { STATS_WIDTH } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { fileRef, tempDir } from './helpers.js';

const native = addon();
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function bigFile(name: string, bytes: number): string {
  const p = path.join(tmp.dir, name);
  const data = new Float32Array(bytes / 4).map((_, i) => i % 1000);
  writeFileSync(p, new Uint8Array(data.buffer));
  return p;
}

describe('files truncated while mapped', () => {
  it('read() of vanished pages raises ERR_FILE_CHANGED (SIGBUS caught on the main thread)', () => {
    const p = bigFile('read.bin', 1 << 20);
    const f = new native.MappedFile(p);
    truncateSync(p, 4096);
    expect(() => f.read(0, 4096)).not.toThrow(); // still backed
    expect(() => f.read(0, 1 << 20)).toThrow(expect.objectContaining({ code: 'ERR_FILE_CHANGED', file: p }));
    expect(() => f.safetensorsHeader()).toThrow(); // header length from the data is garbage or range: never a crash
    f.close();
  });

  it('a kernel on a file that already shrank rejects with ERR_FILE_CHANGED before reading', async () => {
    const p = bigFile('pre.bin', 1 << 20);
    const f = new native.MappedFile(p);
    truncateSync(p, 8192);
    const out = new Float64Array(STATS_WIDTH);
    await expect(native.stats([fileRef(f, 0, 1 << 20, 'F32', 1 << 18)], out)).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED', file: p });
    expect(() => native.statsSync([fileRef(f, 0, 1 << 20, 'F32', 1 << 18)], out)).toThrow(expect.objectContaining({ code: 'ERR_FILE_CHANGED' }));
    f.close();
  });

  it('a kernel whose file shrinks while it runs rejects with ERR_FILE_CHANGED and the process survives', async () => {
    const size = 64 << 20;
    const p = bigFile('during.bin', size);
    const f = new native.MappedFile(p);
    const before = native.simdLevel();
    native.setSimdLevel('scalar'); // slow enough for the truncation to land mid-job
    const out = new Float64Array(STATS_WIDTH);
    const job = native.stats([fileRef(f, 0, size, 'F32', size / 4)], out);
    setTimeout(() => truncateSync(p, 4096), 2);
    await expect(job).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED', file: p });
    native.setSimdLevel(before);
    f.close();
  });

  it('a file modified in place (same size, new mtime) is reported as changed', async () => {
    const p = bigFile('mtime.bin', 1 << 16);
    const f = new native.MappedFile(p);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(p, new Uint8Array(1 << 16));
    const out = new Float64Array(STATS_WIDTH);
    await expect(native.stats([fileRef(f, 0, 1 << 16, 'F32', 1 << 14)], out)).rejects.toMatchObject({ code: 'ERR_FILE_CHANGED' });
    f.close();
  });
});
