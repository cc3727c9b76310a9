/**
 * Files over 4 GiB and tensors over 2^31 elements, through the library (openModel + diffModels) and
 * the raw addon, on sparse files: a few bytes are written, the rest are holes that read as zeros and
 * take no disk space. Checks exact counts and sums, offsets past 2^32, and that reading 2 x 2 GiB
 * does not grow the process's anonymous memory: only the mapping grows (mapped file pages, which the
 * kernel can drop at any time, are not the process's memory).
 *
 * Not timed. Skipped, with a message, only when the temp file system has under 6 GB free (the files
 * are sparse, but a file system without sparse-file support would need their full size).
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { diffModels } from '../../lib/diff/diffModels.js';
import { tensorStats } from '../../lib/diff/tensorStats.js';
import { openModel } from '../../lib/formats/openModel.js';
import { STATS_WIDTH, StatsSlot } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';

const GiB = 2 ** 30;
const free = (() => {
  const s = statfsSync(tmpdir());
  return s.bavail * s.bsize;
})();
const enough = free >= 6e9;
if (!enough) console.warn(`large-file tests skipped: ${tmpdir()} has ${(free / 1e9).toFixed(1)} GB free, they need 6 GB`);

/** Writes a safetensors file of the given entries (data offsets in order) as a sparse file. */
function sparseModel(path: string, entries: { name: string; dtype: string; shape: number[]; bytes: number }[], writes: { at: number; data: Uint8Array }[]) {
  const obj: Record<string, unknown> = {};
  let offset = 0;
  for (const e of entries) {
    obj[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes] };
    offset += e.bytes;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'latin1');
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, head.length + offset);
    for (const w of writes) writeSync(fd, w.data, 0, w.data.length, head.length + w.at);
  } finally {
    closeSync(fd);
  }
  return { dataOffset: head.length, size: head.length + offset };
}

/** RssAnon and RssFile of this process in bytes. */
function rss(): { anon: number; file: number } {
  const s = readFileSync('/proc/self/status', 'latin1');
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { anon: kib('RssAnon'), file: kib('RssFile') };
}

/** Runs fn while sampling RSS every 5 ms; resolves with fn's result and the peak growth. */
async function peakGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; anon: number; file: number }> {
  const base = rss();
  let anon = 0;
  let file = 0;
  const sample = () => {
    const r = rss();
    anon = Math.max(anon, r.anon - base.anon);
    file = Math.max(file, r.file - base.file);
  };
  const timer = setInterval(sample, 5);
  try {
    const result = await fn();
    sample();
    return { result, anon, file };
  } finally {
    clearInterval(timer);
  }
}

let dir: string;
beforeAll(() => {
  if (enough) dir = mkdtempSync(join(tmpdir(), 'diffai-large-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!enough)('files over 4 GiB', () => {
  const fillerBytes = 4.5 * GiB; // a U8 tensor of 4.8e9 elements: the next tensor starts past 2^32
  const far = Float32Array.from({ length: 1000 }, (_, i) => (i % 7) - 3 + i / 1000);
  const farB = far.map((x, i) => (i % 10 === 0 ? x + 0.5 : x));

  it('reads a tensor lying beyond the 4 GiB offset through openModel and diffModels', async () => {
    const entries = [
      { name: 'filler', dtype: 'U8', shape: [fillerBytes], bytes: fillerBytes },
      { name: 'far', dtype: 'F32', shape: [1000], bytes: 4000 },
    ];
    const pa = join(dir, 'a.safetensors');
    const pb = join(dir, 'b.safetensors');
    const { dataOffset, size } = sparseModel(pa, entries, [{ at: fillerBytes, data: new Uint8Array(far.buffer) }]);
    sparseModel(pb, entries, [{ at: fillerBytes, data: new Uint8Array(farB.buffer) }]);
    expect(size).toBeGreaterThan(2 ** 32);

    const [a, b] = [await openModel(pa), await openModel(pb)];
    try {
      const t = a.tensors.find((x) => x.name === 'far')!;
      expect(t.source.kind).toBe('mapped');
      if (t.source.kind === 'mapped') expect(t.source.offset).toBe(dataOffset + fillerBytes);
      expect(t.source.kind === 'mapped' && t.source.offset).toBeGreaterThan(2 ** 32);
      expect(a.tensors.find((x) => x.name === 'filler')!.count).toBe(fillerBytes);

      // Only the far tensor is read (--path).
      const run = await diffModels([a, b], { path: 'far' });
      const d = run.overall.tensors;
      expect(d).toHaveLength(1);
      const sum = far.reduce((s, x) => s + x, 0);
      const l1 = far.reduce((s, x) => s + Math.abs(x), 0);
      expect(d[0].stats.a!.count).toBe(1000);
      // Float32 lanes folded into float64: within 2e-7 of the data's scale (docs/native.md).
      expect(Math.abs(d[0].stats.a!.mean - sum / 1000)).toBeLessThan(2e-7 * (l1 / 1000));
      expect(Math.abs(d[0].stats.a!.l1 - l1)).toBeLessThan(2e-7 * l1);
      expect(d[0].stats.a!.max).toBe(Math.max(...far));
      expect(d[0].status).toBe('changed');
      expect(d[0].diff!.changed).toBe(100);
      expect(d[0].diff!.max_abs).toBe(Math.max(...far.map((x, i) => Math.abs(farB[i] - x))));

      const [st] = await tensorStats([t]);
      expect(st.min).toBe(Math.min(...far));
    } finally {
      a.close();
      b.close();
    }
  });
});

describe.skipIf(!enough)('tensors over 2^31 elements', () => {
  const count = 2 ** 31 + 1000;
  // Non-zero bytes of A and B (the rest are zeros), at both ends and past 2^31.
  const setA: [number, number][] = [
    [5, 7],
    [2 ** 31 + 10, 200],
    [count - 1, 255],
  ];
  const setB: [number, number][] = [
    [5, 7],
    [3e8, 1],
    [2 ** 31 + 10, 201],
    [count - 1, 255],
  ];
  const bytesOf = (set: [number, number][]) => set.map(([at, v]) => ({ at, data: Uint8Array.of(v) }));

  let pa: string;
  let pb: string;
  beforeAll(() => {
    if (!enough) return;
    pa = join(dir, 'u8-a.safetensors');
    pb = join(dir, 'u8-b.safetensors');
    sparseModel(pa, [{ name: 'big', dtype: 'U8', shape: [count], bytes: count }], bytesOf(setA));
    sparseModel(pb, [{ name: 'big', dtype: 'U8', shape: [count], bytes: count }], bytesOf(setB));
  });

  it('has exact counts, zeros, sums and extremes, and the process does not grow by the file size', async () => {
    const [a, b] = [await openModel(pa), await openModel(pb)];
    try {
      expect(a.tensors[0].count).toBe(count);
      const { result: run, anon, file } = await peakGrowth(() => diffModels([a, b]));
      const t = run.overall.tensors[0];
      const sa = t.stats.a!;
      const sb = t.stats.b!;
      expect(sa.count).toBe(count);
      expect(sa.zeros).toBe(count - setA.length);
      expect(sa.l1).toBe(7 + 200 + 255); // integer sums are exact in float64
      expect(sa.max).toBe(255);
      expect(sa.min).toBe(0);
      expect(sa.mean * count).toBeCloseTo(462, 6);
      expect(sb.zeros).toBe(count - setB.length);
      expect(sb.l1).toBe(7 + 1 + 201 + 255);
      expect(t.diff!.changed).toBe(2);
      expect(t.diff!.max_abs).toBe(1);
      expect(t.diff!.diff_sum).toBe(2);
      expect(t.diff!.diff_sq).toBe(2);
      // 2 x 2 GiB were read; anonymous memory stays flat (the results are a few hundred bytes).
      expect(anon).toBeLessThan(64 * 2 ** 20);
      expect(file).toBeGreaterThan(0); // the sampler saw the mapping
    } finally {
      a.close();
      b.close();
    }
  });

  it('gives the raw stats record the exact sum of a signed view (I8 over the same bytes)', async () => {
    const native = addon();
    const f = new native.MappedFile(pa);
    try {
      const { dataOffset } = f.safetensorsHeader();
      const out = new Float64Array(STATS_WIDTH);
      // As I8: 7, 200 -> -56, 255 -> -1.
      await native.stats([{ file: f, offset: dataOffset, byteLength: count, dtype: 7, count }], out);
      expect(out[StatsSlot.count]).toBe(count);
      expect(out[StatsSlot.sum]).toBe(7 - 56 - 1);
      expect(out[StatsSlot.min]).toBe(-56);
      expect(out[StatsSlot.max]).toBe(7);
      expect(out[StatsSlot.zeros]).toBe(count - 3);
      expect(out[StatsSlot.l1]).toBe(7 + 56 + 1);
    } finally {
      f.close();
    }
  });
});
