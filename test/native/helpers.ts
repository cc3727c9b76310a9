/**
 * Shared helpers of the native tests: refs over in-memory buffers, temp files, a seeded generator,
 * bit-level decoders and float64 reference implementations of every kernel (the oracle).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { NativeMappedFile, RawTensorRef } from '../../lib/native/AddonTypes.js';
import { PAIR_WIDTH, STATS_WIDTH, StatsSlot } from '../../lib/native/AddonTypes.js';
import { DTYPES, type DType } from '../../lib/formats/dtype.js';
import { SeededRandom } from '../../lib/linalg/seededRandom.js';

export { PAIR_WIDTH, STATS_WIDTH };

/** A ref over a whole typed array's bytes, optionally copied to a byte offset inside a larger buffer. */
export function ref(arr: ArrayBufferView, dtype: DType, count?: number, misalign = 0): RawTensorRef {
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  const n = count ?? arr.byteLength / DTYPES[dtype].size;
  if (misalign === 0) return { data: bytes, offset: 0, byteLength: bytes.byteLength, dtype: DTYPES[dtype].code, count: n };
  const host = new Uint8Array(bytes.byteLength + misalign + 5);
  host.set(bytes, misalign);
  return { data: host, offset: misalign, byteLength: bytes.byteLength, dtype: DTYPES[dtype].code, count: n };
}

/** A ref into a mapped file. */
export function fileRef(file: NativeMappedFile, offset: number, byteLength: number, dtype: DType, count: number): RawTensorRef {
  return { file, offset, byteLength, dtype: DTYPES[dtype].code, count };
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'diffai-native-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes bytes to a file in dir and returns its path. */
export function writeTemp(dir: string, name: string, bytes: Uint8Array | ArrayBufferView): string {
  const p = path.join(dir, name);
  writeFileSync(p, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return p;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function rng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.uniform();
}

/** Standard normal samples from a uniform generator (Box-Muller). */
export function gaussian(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits to a number (exact). */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits to a number (exact). */
export function bf16ToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** float32 to bfloat16 bits, for values that bfloat16 holds exactly (truncation). */
export function bf16Bits(x: number): number {
  f32[0] = x;
  return u32[0] >>> 16;
}

/** A number to binary16 bits, round to nearest even (enough for test data). */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    const m = roundEven(a / 2 ** -24);
    return sign | m; // m may reach 0x400 = smallest normal, which has the same bits
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

function roundEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Float64 reference statistics of a list of values, in StatsSlot order. */
export function refStats(values: ArrayLike<number>): number[] {
  let count = 0,
    finite = 0,
    zeros = 0,
    nan = 0,
    inf = 0,
    sum = 0,
    l1 = 0,
    sq = 0,
    min = Infinity,
    max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    count++;
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) inf++;
    else {
      finite++;
      sum += v;
      l1 += Math.abs(v);
      sq += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
    }
  }
  const out = new Array<number>(STATS_WIDTH).fill(NaN);
  out[StatsSlot.count] = count;
  out[StatsSlot.finite] = finite;
  out[StatsSlot.zeros] = zeros;
  out[StatsSlot.nan] = nan;
  out[StatsSlot.inf] = inf;
  if (finite > 0) {
    const mean = sum / finite;
    let m2 = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) m2 += (v - mean) ** 2;
    }
    out[StatsSlot.mean] = mean;
    out[StatsSlot.std] = Math.sqrt(m2 / finite);
    out[StatsSlot.min] = min;
    out[StatsSlot.max] = max;
    out[StatsSlot.absMax] = Math.max(Math.abs(min), Math.abs(max));
    out[StatsSlot.l1] = l1;
    out[StatsSlot.l2] = Math.sqrt(sq);
    out[StatsSlot.sum] = sum;
  }
  return out;
}

/** Float64 reference pair values (the 9 PairSlot values; identical taken from `identical`). */
export function refPair(a: ArrayLike<number>, b: ArrayLike<number>, epsilon: number, identical = 0): number[] {
  let both = 0,
    diffSq = 0,
    dot = 0,
    diffSum = 0,
    maxAbs = 0,
    sumAbs = 0,
    changed = 0,
    newNonFinite = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const d = y - x;
      both++;
      diffSq += d * d;
      dot += x * y;
      diffSum += d;
      maxAbs = Math.max(maxAbs, Math.abs(d));
      sumAbs += Math.abs(d);
      if (Math.abs(d) > epsilon) changed++;
    } else {
      if (Number.isFinite(x)) newNonFinite++;
      const same = (Number.isNaN(x) && Number.isNaN(y)) || x === y;
      if (!same) changed++;
    }
  }
  return [identical, both, diffSq, dot, diffSum, maxAbs, sumAbs, changed, newNonFinite];
}

/**
 * Asserts |got - want| <= tol * scale for each slot, where scale is max(|want|, floor) per slot;
 * NaN must match NaN, infinities must match exactly.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, floor = 0, label = ''): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) {
        throw new Error(`${label} slot ${i}: got ${g}, want ${w}`);
      }
      continue;
    }
    const scale = Math.max(Math.abs(w), Number.isFinite(floor) ? floor : 0);
    if (!(Math.abs(g - w) <= tol * scale)) {
      throw new Error(`${label} slot ${i}: got ${g}, want ${w} (rel err ${Math.abs(g - w) / (scale || 1)}, tol ${tol})`);
    }
  }
}

/**
 * Compares statistics records. Unsigned sums (l1, l2), extrema and counts are compared relative to
 * their own value; the signed mean and sum relative to the data's scale (rms and l1), since a
 * mean near zero has no meaningful relative error; std relative to max(std, rms * 1e-3).
 */
export function expectStatsClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label = ''): void {
  const finite = want[StatsSlot.finite];
  const rms = finite > 0 ? want[StatsSlot.l2] / Math.sqrt(finite) : 0;
  const floors = new Array<number>(STATS_WIDTH).fill(0);
  floors[StatsSlot.mean] = rms;
  floors[StatsSlot.sum] = want[StatsSlot.l1];
  floors[StatsSlot.std] = rms * 1e-3;
  for (let i = 0; i < STATS_WIDTH; i++) {
    expectClose([got[i]], [want[i]], tol, floors[i], `${label} slot ${i}`);
  }
}
