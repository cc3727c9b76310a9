#!/usr/bin/env node
// Quick throughput check of the native kernels (not a test; never pass/fail on time).
//
// Reports GB/s (1e9 bytes of input per second, best of several runs) of the stats and fused pair
// kernels on ~256 MiB per tensor of F32, F16 and BF16, from memory (Uint8Array data refs) and from a
// mapped temp file in the page cache, at every SIMD level, with 1 and 2 kernel threads, next to a
// plain single-threaded memory read (memchr over the same bytes) measured in the same process.
//
//   node bench/quick-native.mjs            # DIFFAI_BENCH_MB=256 by default
//   DIFFAI_BENCH_MB=64 node bench/quick-native.mjs
//
// Thread counts are fixed per process (DIFFAI_THREADS), so the script re-runs itself once per count.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as rng } from './generate.js';

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');
const MB = Number(process.env.DIFFAI_BENCH_MB ?? 256);
const BYTES = MB * 2 ** 20;
const RUNS = Number(process.env.DIFFAI_BENCH_RUNS ?? 5);
const CODES = { F32: 1, F16: 2, BF16: 3 };


/** Tensor bytes of a dtype: values around 0 with std ~0.05, B = A plus a small update everywhere. */
function makeData(dtype, seed) {
  const u = rng(seed);
  const n = BYTES / (dtype === 'F32' ? 4 : 2);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (u() + u() + u() - 1.5) * 0.1;
  if (dtype === 'F32') return new Uint8Array(f.buffer);
  const out = new Uint16Array(n);
  const bits = new Uint32Array(f.buffer);
  if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) out[i] = bits[i] >>> 16;
  } else {
    for (let i = 0; i < n; i++) {
      // |x| < 0.3: normal or subnormal binary16, truncated mantissa (good enough for timing).
      const b = bits[i];
      const sign = (b >>> 16) & 0x8000;
      const exp = ((b >>> 23) & 0xff) - 127 + 15;
      out[i] = exp <= 0 ? sign : sign | (exp << 10) | ((b >>> 13) & 0x3ff);
    }
  }
  return new Uint8Array(out.buffer);
}

function perturb(bytes, dtype, seed) {
  const u = rng(seed);
  const out = bytes.slice();
  // Flip the low mantissa bit of every 7th element: same magnitudes, different bytes everywhere.
  const step = dtype === 'F32' ? 4 : 2;
  for (let i = 0; i < out.length; i += 7 * step) out[i] ^= 1 + (u() < 0.5 ? 0 : 2);
  return out;
}

function best(fn) {
  fn(); // warm: page cache, page tables, CPU frequency
  let t = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}

function child() {
  const native = createRequire(import.meta.url)('node-gyp-build')(root);
  const dir = process.env.DIFFAI_BENCH_DIR;
  const results = { threads: native.threadCount(), levels: native.simdLevels(), rows: [] };
  const statsOut = new Float64Array(13);
  const pairOut = new Float64Array(35);
  for (const dtype of ['F32', 'F16', 'BF16']) {
    const a = makeData(dtype, 1);
    const b = perturb(a, dtype, 2);
    const count = a.length / (dtype === 'F32' ? 4 : 2);
    const code = CODES[dtype];
    const fa = new native.MappedFile(path.join(dir, `${dtype}-a.bin`));
    const fb = new native.MappedFile(path.join(dir, `${dtype}-b.bin`));
    fa.adviseSequential(0, fa.size);
    fb.adviseSequential(0, fb.size);
    const mem = (d) => ({ data: d, offset: 0, byteLength: d.length, dtype: code, count });
    const map = (f) => ({ file: f, offset: 0, byteLength: f.size, dtype: code, count });
    // The bandwidth probe: memchr over a buffer of the same size that holds no match.
    const probeBuf = Buffer.alloc(a.length, 1);
    results.rows.push({ dtype, source: 'memory', kernel: 'plain read (memchr)', gbps: { any: a.length / best(() => probeBuf.indexOf(0)) / 1e9 } });
    for (const [source, ra, rb, rb2] of [
      ['memory', mem(a), mem(b), mem(a.slice())],
      ['file', map(fa), map(fb), map(fa)],
    ]) {
      const row = (kernel) => {
        const r = { dtype, source, kernel, gbps: {} };
        results.rows.push(r);
        return r;
      };
      const stats = row('stats'),
        pair = row('pair'),
        same = row('pair identical');
      for (const level of native.simdLevels()) {
        native.setSimdLevel(level);
        stats.gbps[level] = a.length / best(() => native.statsSync([ra], statsOut)) / 1e9;
        pair.gbps[level] = (2 * a.length) / best(() => native.pairSync([{ a: ra, b: rb, epsilon: 0 }], pairOut)) / 1e9;
        same.gbps[level] = (2 * a.length) / best(() => native.pairSync([{ a: ra, b: rb2, epsilon: 0 }], pairOut)) / 1e9;
      }
    }
    fa.close();
    fb.close();
  }
  process.stdout.write(JSON.stringify(results));
}

function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'diffai-bench-'));
  try {
    for (const dtype of ['F32', 'F16', 'BF16']) {
      const a = makeData(dtype, 1);
      writeFileSync(path.join(dir, `${dtype}-a.bin`), a);
      writeFileSync(path.join(dir, `${dtype}-b.bin`), perturb(a, dtype, 2));
    }
    console.log(`diffai quick-native: ${MB} MiB per tensor, best of ${RUNS}, GB/s = 1e9 input bytes per second`);
    for (const threads of [1, 2]) {
      const out = execFileSync(process.execPath, [here, '--child'], {
        env: { ...process.env, DIFFAI_THREADS: String(threads), DIFFAI_BENCH_DIR: dir },
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const r = JSON.parse(out.toString());
      console.log(`\nthreads=${r.threads}`);
      const head = ['dtype', 'source', 'kernel', ...r.levels];
      const lines = r.rows.map((row) => [
        row.dtype,
        row.source,
        row.kernel,
        ...r.levels.map((l) => (row.gbps.any ?? row.gbps[l])?.toFixed(1) ?? ''),
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
      const fmt = (cols) => cols.map((c, i) => c.padEnd(widths[i])).join('  ');
      console.log(fmt(head));
      for (const l of lines) console.log(fmt(l));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) child();
else main();
