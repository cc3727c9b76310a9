// Deterministic jobs shared by threads.test.ts and threads-child.mjs (plain JS so the child needs
// no TypeScript loader): several multi-chunk tensors and a batch of small ones.
// The library's generator, compiled into dist/ by the test run's global setup.
import { SeededRandom } from '../../dist/linalg/seededRandom.js';

function rng(seed) {
  const r = new SeededRandom(seed);
  return () => r.uniform();
}

function bytesOf(a) {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export function makeJobs() {
  const u = rng(1234);
  const big = new Float32Array(3_000_017).map(() => (u() - 0.3) * 4);
  const moved = big.map((v, i) => (i % 5 === 0 ? v + (u() - 0.5) * 1e-3 : v));
  const half = new Uint16Array(2_000_003).map(() => 0x3000 + Math.floor(u() * 0x1800));
  const statsJobs = [
    { data: bytesOf(big), offset: 0, byteLength: big.byteLength, dtype: 1, count: big.length },
    { data: bytesOf(half), offset: 0, byteLength: half.byteLength, dtype: 2, count: half.length },
  ];
  for (let j = 0; j < 50; j++) {
    const small = big.subarray(j * 1000, j * 1000 + 777);
    statsJobs.push({ data: bytesOf(small), offset: 0, byteLength: small.byteLength, dtype: 1, count: small.length });
  }
  const pairJobs = [
    {
      a: { data: bytesOf(big), offset: 0, byteLength: big.byteLength, dtype: 1, count: big.length },
      b: { data: bytesOf(moved), offset: 0, byteLength: moved.byteLength, dtype: 1, count: moved.length },
      epsilon: 0,
    },
    {
      a: { data: bytesOf(half), offset: 0, byteLength: half.byteLength, dtype: 2, count: half.length },
      b: { data: bytesOf(big), offset: 0, byteLength: half.length * 4, dtype: 1, count: half.length },
      epsilon: 0.5,
    },
  ];
  // gram: the F32 data as a 4096 x 730 matrix (12 MB: two row ranges), the F16 as 2000 x 1000, and
  // small matrices batched into shared tasks.
  const vec = (n) => Float64Array.from({ length: n }, () => u() - 0.5);
  const gramJobs = [
    { ref: { data: bytesOf(big), offset: 0, byteLength: 4096 * 730 * 4, dtype: 1, count: 4096 * 730 }, rows: 4096, cols: 730, v: vec(730) },
    { ref: { data: bytesOf(half), offset: 0, byteLength: 2000 * 1000 * 2, dtype: 2, count: 2000 * 1000 }, rows: 2000, cols: 1000, v: vec(1000) },
  ];
  for (let j = 0; j < 20; j++) {
    const small = big.subarray(j * 1000, j * 1000 + 777);
    gramJobs.push({ ref: { data: bytesOf(small), offset: 0, byteLength: small.byteLength, dtype: 1, count: 777 }, rows: 21, cols: 37, v: vec(37) });
  }
  return { statsJobs, pairJobs, gramJobs, big };
}
