/**
 * The packed job form of `stats` / `pair` (RawPackedJobs: one Float64Array row per job, sources by
 * index) and the bandwidth probe (`readProbe`): the same numbers as the object form, the same
 * argument checks with precise messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PACKED_PAIR_WIDTH, PACKED_REF_WIDTH, PAIR_WIDTH, STATS_WIDTH, type NativeMappedFile, type RawPackedJobs, type RawPairJob, type RawTensorRef } from '../../lib/native/AddonTypes.js';
import { diffFiles, type DiffProgress } from '../../lib/diff/diffModels.js';
import { addon } from '../../lib/native/loadAddon.js';
import { model } from '../helpers/paths.js';
import { gaussian, rng, tempDir, writeTemp } from './helpers.js';

const native = addon();
const F32 = 1;
const F16 = 2;
const U8 = 11;

let tmp: ReturnType<typeof tempDir>;
let file: NativeMappedFile;
let bytes: Uint8Array;
const N = 100_003; // float32 elements in the file, an odd count

beforeAll(() => {
  tmp = tempDir();
  const g = gaussian(rng(3));
  const x = new Float32Array(N).map(() => g());
  bytes = new Uint8Array(x.buffer);
  file = new native.MappedFile(writeTemp(tmp.dir, 'x.bin', x));
});
afterAll(() => {
  file.close();
  tmp.cleanup();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

/** Object-form refs and their packed rows, over the file and an in-memory copy at odd offsets. */
function jobs() {
  const mem = bytes.slice(4);
  const refs: RawTensorRef[] = [];
  for (let k = 0; k < 50; k++) {
    const start = (k * 1999) % (N - 3000);
    const count = 1 + ((k * 7919) % 2900);
    refs.push({ file, offset: start * 4, byteLength: count * 4, dtype: F32, count });
    if (k % 3 === 0) refs.push({ data: mem, offset: start * 4, byteLength: count * 4, dtype: F32, count });
  }
  const sources: (NativeMappedFile | Uint8Array)[] = [file, mem];
  const row = (r: RawTensorRef) => [r.file ? 0 : 1, r.offset, r.byteLength, r.dtype, r.count];
  return { refs, sources, row };
}

describe('packed jobs', () => {
  it('stats: the same bits as the object form', () => {
    const { refs, sources, row } = jobs();
    const a = new Float64Array(refs.length * STATS_WIDTH);
    const b = new Float64Array(refs.length * STATS_WIDTH);
    native.statsSync(refs, a);
    native.statsSync({ sources, table: Float64Array.from(refs.flatMap(row)) }, b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('pair: the same bits as the object form, sync and async', async () => {
    const { refs, sources, row } = jobs();
    const pairs: RawPairJob[] = [];
    for (let i = 0; i + 1 < refs.length; i++) {
      const count = Math.min(refs[i].count, refs[i + 1].count);
      const cut = (r: RawTensorRef): RawTensorRef => ({ ...r, count, byteLength: count * 4 });
      pairs.push({ a: cut(refs[i]), b: cut(refs[i + 1]), epsilon: i % 2 ? 0 : 1e-3 });
    }
    const table = Float64Array.from(pairs.flatMap((p) => [...row(p.a), ...row(p.b), p.epsilon]));
    expect(table.length).toBe(pairs.length * PACKED_PAIR_WIDTH);
    const a = new Float64Array(pairs.length * PAIR_WIDTH);
    const b = new Float64Array(pairs.length * PAIR_WIDTH);
    const c = new Float64Array(pairs.length * PAIR_WIDTH);
    native.pairSync(pairs, a);
    native.pairSync({ sources, table }, b);
    await native.pair({ sources, table }, c);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).toEqual(Array.from(a));
  });

  it('an empty table is a valid call with no jobs', () => {
    native.statsSync({ sources: [], table: new Float64Array(0) }, new Float64Array(0));
  });

  it('checks every field with a message naming the job', () => {
    const ok = [0, 0, 400, F32, 100];
    const stats = (sources: unknown[], table: number[]) => () =>
      native.statsSync({ sources, table: Float64Array.from(table) } as RawPackedJobs, new Float64Array(64 * STATS_WIDTH));
    const msg = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return `${(e as { code: string }).code} ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(msg(stats([file], [...ok, 0, 0]))).toMatch(/ERR_INVALID_ARGUMENT jobs\.table has 7 values, not a multiple of 5/);
    expect(msg(stats([file], [...ok, 1, 0, 4, F32, 1]))).toMatch(/ERR_INVALID_ARGUMENT jobs\[1\]\.ref\.source 1 is not an index of jobs\.sources \(1\)/);
    expect(msg(stats([file], [0, 0.5, 4, F32, 1]))).toMatch(/jobs\[0\]\.ref\.offset must be an integer in \[0, 2\^53\), got 0\.5/);
    expect(msg(stats([file], [0, 2 ** 53, 4, F32, 1]))).toMatch(/jobs\[0\]\.ref\.offset must be an integer in \[0, 2\^53\)/);
    expect(msg(stats([file], [0, 0, 4, 99, 1]))).toMatch(/jobs\[0\]\.ref\.dtype 99 is not a dtype code/);
    expect(msg(stats([file], [0, 0, 8, F32, 1]))).toMatch(/ERR_INVALID_ARGUMENT jobs\[0\]\.ref: byteLength 8 does not match 1 elements of F32/);
    expect(msg(stats([file], [0, file.size - 2, 4, F32, 1]))).toMatch(/ERR_RANGE jobs\[0\]\.ref: bytes \[\d+, \d+ \+ 4\) lie outside/);
    expect(msg(stats([{}], ok))).toMatch(/ERR_INVALID_ARGUMENT jobs\.sources\[0\] must be a MappedFile or a Uint8Array/);
    expect(msg(() => native.statsSync({ sources: file, table: new Float64Array(0) } as unknown as RawPackedJobs, new Float64Array(0)))).toMatch(/jobs\.sources must be an array/);
    expect(msg(() => native.statsSync({ sources: [file], table: [0, 0, 4, 1, 1] } as unknown as RawPackedJobs, new Float64Array(13)))).toMatch(/jobs\.table must be a Float64Array/);
    const pair = (row: number[]) => () => native.pairSync({ sources: [file], table: Float64Array.from(row) }, new Float64Array(PAIR_WIDTH));
    expect(msg(pair([...ok, ...ok, -1]))).toMatch(/jobs\[0\]\.epsilon must be a number >= 0/);
    expect(msg(pair([...ok, ...ok, NaN]))).toMatch(/jobs\[0\]\.epsilon must be a number >= 0/);
    expect(msg(pair([...ok, 0, 0, 200, F16, 100, 0]))).toBe('no error'); // dtypes may differ
    expect(msg(pair([...ok, 0, 0, 8, F32, 2, 0]))).toMatch(/jobs\[0\]: A has 100 elements, B has 2/);
    expect(PACKED_REF_WIDTH).toBe(5);
  });

  it('a closed source is refused; a busy one cannot be closed while a packed call reads it', async () => {
    const { dir } = tmp;
    const f = new native.MappedFile(writeTemp(dir, 'y.bin', bytes));
    const table = new Float64Array(200 * PACKED_REF_WIDTH);
    for (let i = 0; i < 200; i++) table.set([0, 0, bytes.length, U8, bytes.length], i * PACKED_REF_WIDTH);
    const p = native.stats({ sources: [f], table }, new Float64Array(200 * STATS_WIDTH));
    expect(codeOf(() => f.close())).toBe('ERR_FILE_BUSY');
    await p;
    f.close();
    expect(codeOf(() => native.statsSync({ sources: [f], table: new Float64Array(0) }, new Float64Array(0)))).toBe('ERR_FILE_CLOSED');
  });
});

describe('readProbe', () => {
  it('reads every byte once: the byte sum, at every SIMD level, from a file and from memory', async () => {
    const initial = native.simdLevel();
    let want = 0;
    for (let i = 7; i < bytes.length - 3; i++) want += bytes[i];
    try {
      for (const level of native.simdLevels()) {
        native.setSimdLevel(level);
        const out = new Float64Array(2);
        const n = bytes.length - 10;
        await native.readProbe(
          [
            { file, offset: 7, byteLength: n, dtype: U8, count: n },
            { data: bytes, offset: 7, byteLength: n, dtype: U8, count: n },
          ],
          out,
        );
        expect(Array.from(out), level).toEqual([want, want]);
      }
    } finally {
      native.setSimdLevel(initial);
    }
  });
});

describe('diffModels progress', () => {
  it('reports bytes and tensors of the stats phase, ending with every tensor done', async () => {
    const seen: DiffProgress[] = [];
    const run = await diffFiles([model('trained/gpt_step0.safetensors'), model('trained/gpt_step600.safetensors')], { onProgress: (p) => seen.push(p) });
    const last = seen.at(-1)!;
    expect(last.phase).toBe('stats');
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(last.tensorsTotal).toBe(run.overall.tensors.length);
    expect(last.tensorsDone).toBe(last.tensorsTotal);
    for (let i = 1; i < seen.length; i++) expect(seen[i].tensorsDone!).toBeGreaterThanOrEqual(seen[i - 1].tensorsDone!);
  });
});
