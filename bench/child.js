// Measurement child of bench/run.js (one process per thread count and per tool, so each gets its own
// DIFFAI_THREADS and its own peak memory). Prints one JSON line on stdout.
//
//   node bench/child.js lib A B rounds
//     Interleaves, per round: the bandwidth probe (map both files, read every byte once with the
//     addon's plain read on its thread pool, unmap) and diffai's library (diffFiles: open, parse
//     the headers, diff, close). One untimed warm-up of each first. Seconds per round.
//   node bench/child.js cold-probe A B | cold-lib A B
//     One probe or one diffFiles, no warm-up: for files just evicted from the page cache.
//   node bench/child.js orig A B rounds ADDON
//     The original diffai's addon (diffai-js-linux-x64-gnu): diffPaths(A, B), after one warm-up.
//   node bench/child.js spectral A B rounds
//     The spectral step (stable rank of every weight matrix of A and B): per round, diffFiles with
//     the spectral step, diffFiles without it, and the probe read of a mapping already read once
//     (the step reads its matrices many times through one mapping); one untimed warm-up of each
//     first.
//     Also the Lanczos steps per matrix and the bytes the step read (steps x matrix bytes).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const [mode, a, b, roundsArg, addonPath] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function lib(cold) {
  const { diffFiles } = await import(new URL('../dist/index.js', import.meta.url).href);
  const { addon } = await import(new URL('../dist/native/loadAddon.js', import.meta.url).href);
  const native = addon();
  const probe = async () => {
    const files = [new native.MappedFile(a), new native.MappedFile(b)];
    try {
      const out = new Float64Array(2);
      // The whole files, one stream after the other, split into the same chunks as the kernels.
      await native.readProbe(
        files.map((f) => ({ file: f, offset: 0, byteLength: f.size, dtype: 11, count: f.size })),
        out,
      );
      return out[0] + out[1];
    } finally {
      for (const f of files) f.close();
    }
  };
  const result = { threads: native.threadCount(), simd: native.simdLevel(), probe: [], lib: [], changed: 0, tensors: 0, calib: 0 };
  if (cold) {
    const t = now();
    if (cold === 'probe') await probe();
    else await diffFiles([a, b]);
    result[cold].push(now() - t);
    return result;
  }
  result.calib = calibrate(native);
  await probe();
  const run = await diffFiles([a, b]);
  result.changed = run.overall.summary.changed;
  result.tensors = run.overall.summary.total;
  for (let r = 0; r < rounds; r++) {
    let t = now();
    await probe();
    result.probe.push(now() - t);
    t = now();
    await diffFiles([a, b]);
    result.lib.push(now() - t);
  }
  return result;
}

/**
 * Compute throughput of the pool on data that needs no file: the F16 pair kernel over 2 x 8 MiB of
 * in-memory values, repeated. Its ratio between thread counts shows how much of the extra cores the
 * (shared, virtual) machine actually gave during the run.
 */
function calibrate(native) {
  const n = 4 << 20;
  const a = new Uint16Array(n);
  const b = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = 0x2c00 + ((i * 2654435761) >>> 22);
    b[i] = a[i] ^ (i & 3);
  }
  const ref = (x) => ({ data: new Uint8Array(x.buffer), offset: 0, byteLength: x.byteLength, dtype: 2, count: n });
  const jobs = [{ a: ref(a), b: ref(b), epsilon: 0 }];
  const out = new Float64Array(35);
  native.pairSync(jobs, out);
  let best = Infinity;
  for (let r = 0; r < 15; r++) {
    const t = now();
    native.pairSync(jobs, out);
    best = Math.min(best, now() - t);
  }
  return (4 * n) / best / 1e9;
}

function orig() {
  const mod = createRequire(fileURLToPath(import.meta.url))(addonPath);
  const result = { orig: [], results: 0 };
  result.results = mod.diffPaths(a, b).length;
  for (let r = 0; r < rounds; r++) {
    const t = now();
    mod.diffPaths(a, b);
    result.orig.push(now() - t);
  }
  return result;
}

async function spectral() {
  const { diffFiles } = await import(new URL('../dist/index.js', import.meta.url).href);
  const { DTYPES } = await import(new URL('../dist/formats/dtype.js', import.meta.url).href);
  const { addon } = await import(new URL('../dist/native/loadAddon.js', import.meta.url).href);
  const native = addon();
  // The spectral step reads every matrix many times through the same mapping: its reference is a
  // read from a mapping whose page tables are already filled (the second read of one mapping).
  const probe = async () => {
    const files = [new native.MappedFile(a), new native.MappedFile(b)];
    try {
      const refs = files.map((f) => ({ file: f, offset: 0, byteLength: f.size, dtype: 11, count: f.size }));
      await native.readProbe(refs, new Float64Array(2));
      const t = now();
      await native.readProbe(refs, new Float64Array(2));
      return now() - t;
    } finally {
      for (const f of files) f.close();
    }
  };
  const needs = { spectral: true };
  const result = { threads: native.threadCount(), simd: native.simdLevel(), spectral: [], plain: [], probe: [], matrices: 0, steps: [], readBytes: 0 };
  await probe();
  await diffFiles([a, b]);
  const run = await diffFiles([a, b], { needs });
  for (const t of run.overall.tensors) {
    if (!t.spectral) continue;
    ['a', 'b'].forEach((side, k) => {
      const s = t.spectral[side];
      if (!s) return;
      result.matrices++;
      result.steps.push(s.iterations);
      result.readBytes += s.iterations * s.rows * s.cols * DTYPES[t.dtype[k]].size;
    });
  }
  for (let r = 0; r < rounds; r++) {
    let t = now();
    await diffFiles([a, b], { needs });
    result.spectral.push(now() - t);
    t = now();
    await diffFiles([a, b]);
    result.plain.push(now() - t);
    result.probe.push(await probe());
  }
  return result;
}

const result =
  mode === 'lib'
    ? await lib()
    : mode === 'cold-probe'
      ? await lib('probe')
      : mode === 'cold-lib'
        ? await lib('lib')
        : mode === 'spectral'
          ? await spectral()
          : orig();
process.stdout.write(JSON.stringify(result) + '\n');
