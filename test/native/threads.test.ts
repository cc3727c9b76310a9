/**
 * Chunked, multi-threaded results are deterministic: equal across runs, and bit-identical to a run
 * with DIFFAI_THREADS=1 (chunk boundaries never depend on the thread count). Plus the accuracy cases
 * of SPEC section 7 that need many elements.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { STATS_WIDTH, StatsSlot } from '../../lib/native/AddonTypes.js';
import { addon } from '../../lib/native/loadAddon.js';
import { gaussian, ref, refStats, rng } from './helpers.js';
// @ts-expect-error plain JS module shared with the child process
import { makeJobs } from './threads-data.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const hex = (a: Float64Array) => Array.from(new BigUint64Array(a.buffer), (v) => v.toString(16));

describe('determinism', () => {
  it('gives the same bits on every run and with one thread', async () => {
    const { statsJobs, pairJobs, gramJobs } = makeJobs();
    const native = addon();
    const runs: { stats: string[]; pair: string[]; gram: string[] }[] = [];
    for (let r = 0; r < 3; r++) {
      const stats = new Float64Array(statsJobs.length * 13);
      const pair = new Float64Array(pairJobs.length * 35);
      const gram = new Float64Array((gramJobs as { cols: number }[]).reduce((s, j) => s + j.cols, 0));
      await native.stats(statsJobs, stats);
      native.pairSync(pairJobs, pair);
      if (r === 1) native.gramSync(gramJobs, gram);
      else await native.gram(gramJobs, gram);
      runs.push({ stats: hex(stats), pair: hex(pair), gram: hex(gram) });
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    const child = JSON.parse(
      execFileSync(process.execPath, [path.join(here, 'threads-child.mjs')], {
        env: { ...process.env, DIFFAI_THREADS: '1', DIFFAI_SIMD: native.simdLevel() },
        maxBuffer: 1 << 26,
      }).toString(),
    ) as { threads: number; stats: string[]; pair: string[]; gram: string[] };
    expect(child.threads).toBe(1);
    expect(child.stats).toEqual(runs[0].stats);
    expect(child.pair).toEqual(runs[0].pair);
    expect(child.gram).toEqual(runs[0].gram);
  });
});

describe('accuracy on many elements', () => {
  it('keeps std accurate when |mean| >> std (1e4 + N(0, 1e-3))', () => {
    const g = gaussian(rng(99));
    for (const n of [1_000_003, 100]) {
      const f32 = new Float32Array(n).map(() => 1e4 + 1e-3 * g());
      const f64 = new Float64Array(n).map(() => 1e4 + 1e-3 * g());
      for (const [arr, dtype] of [
        [f32, 'F32'],
        [f64, 'F64'],
      ] as const) {
        const want = refStats(Array.from(arr));
        for (const level of addon().simdLevels()) {
          addon().setSimdLevel(level);
          const out = new Float64Array(STATS_WIDTH);
          addon().statsSync([ref(arr, dtype)], out);
          expect(Math.abs(out[StatsSlot.std] / want[StatsSlot.std] - 1), `${dtype} n=${n} ${level}`).toBeLessThan(1e-4);
          expect(Math.abs(out[StatsSlot.mean] / want[StatsSlot.mean] - 1)).toBeLessThan(1e-12);
        }
      }
    }
    addon().setSimdLevel(addon().simdLevels().at(-1)!);
  });

  it('keeps sums and norms of 2^25 float32 elements within 1e-6 of float64', () => {
    const n = 2 ** 25;
    const a = new Float32Array(n);
    const u = rng(5);
    for (let i = 0; i < n; i++) a[i] = 0.1 + 0.01 * u();
    let sum = 0,
      sq = 0,
      l1 = 0;
    for (let i = 0; i < n; i++) {
      sum += a[i];
      sq += a[i] * a[i];
      l1 += Math.abs(a[i]);
    }
    const out = new Float64Array(STATS_WIDTH);
    addon().statsSync([ref(a, 'F32')], out);
    expect(Math.abs(out[StatsSlot.sum] / sum - 1)).toBeLessThan(1e-6);
    expect(Math.abs(out[StatsSlot.l1] / l1 - 1)).toBeLessThan(1e-6);
    expect(Math.abs(out[StatsSlot.l2] / Math.sqrt(sq) - 1)).toBeLessThan(1e-6);
  });
});
