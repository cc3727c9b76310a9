/**
 * The whole diff engine at every SIMD level the CPU has (setSimdLevel lowers it for the process), on
 * real model pairs: same dtypes, a precision change (F32 -> F16, F32 -> BF16, F16 -> BF16), NaN/Inf,
 * quantized GGUF. Every level must give the scalar level's answer: counts, classes and extremes
 * exactly; sums, norms and pair values within the documented tolerance (docs/native.md: 2e-7
 * relative; signed sums relative to the data's scale).
 */
import { afterAll, describe, expect, it } from 'vitest';

import { diffFiles } from '../../lib/diff/diffModels.js';
import type { TensorDiff, TensorStats } from '../../lib/diff/ModelDiff.js';
import { addon } from '../../lib/native/loadAddon.js';
import { model } from '../helpers/paths.js';
import { runCli } from '../helpers/runCli.js';

const native = addon();
const levels = native.simdLevels();
const initial = native.simdLevel();
afterAll(() => native.setSimdLevel(initial));

const PAIRS: [string, string][] = [
  ['trained/gpt_step0.safetensors', 'trained/gpt_step600.safetensors'],
  ['trained/gpt_step600.safetensors', 'trained/gpt_final_fp16.safetensors'],
  ['trained/gpt_step600.safetensors', 'trained/gpt_final_bf16.safetensors'],
  ['trained/gpt_final_fp16.safetensors', 'trained/gpt_final_bf16.safetensors'],
  ['trained/mlp_ep4.safetensors', 'trained/mlp_final_naninf.safetensors'],
  ['gguf/gpt_step600.f16.gguf', 'gguf/gpt_step600.q8_0.gguf'],
];

const TOL = 2e-7;

function close(got: number, want: number, scale: number, what: string): void {
  if (Number.isNaN(want)) {
    expect(got, what).toBeNaN();
    return;
  }
  if (!Number.isFinite(want)) {
    expect(got, what).toBe(want);
    return;
  }
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(TOL * Math.max(Math.abs(want), scale) + 1e-300);
}

function sameStats(got: TensorStats | null, want: TensorStats | null, what: string): void {
  if (!want) {
    expect(got, what).toBeNull();
    return;
  }
  expect(got, what).not.toBeNull();
  for (const k of ['count', 'finite', 'zeros', 'nan', 'inf', 'min', 'max', 'abs_max'] as const) expect(got![k], `${what}.${k}`).toBe(want[k]);
  const rms = want.finite > 0 ? want.l2 / Math.sqrt(want.finite) : 0;
  close(got!.mean, want.mean, rms, `${what}.mean`);
  close(got!.std, want.std, rms * 1e-3, `${what}.std`);
  close(got!.l1, want.l1, 0, `${what}.l1`);
  close(got!.l2, want.l2, 0, `${what}.l2`);
}

function sameTensor(got: TensorDiff, want: TensorDiff, level: string): void {
  const what = `${level} ${want.name}`;
  expect(got.name).toBe(want.name);
  expect(got.status, what).toBe(want.status);
  sameStats(got.stats.a, want.stats.a, `${what} A`);
  sameStats(got.stats.b, want.stats.b, `${what} B`);
  if (!want.diff) {
    expect(got.diff, what).toBeNull();
    return;
  }
  const g = got.diff!;
  const w = want.diff;
  for (const k of ['changed', 'both_finite', 'new_non_finite'] as const) expect(g[k], `${what} ${k}`).toBe(w[k]);
  // D = B - A is formed in float32 by the SIMD levels and in float64 by the scalar reference.
  for (const k of ['rel_l2', 'l2_diff', 'diff_sq', 'mean_abs', 'max_abs'] as const) close(g[k], w[k], 0, `${what} ${k}`);
  close(g.diff_sum, w.diff_sum, w.mean_abs * w.both_finite, `${what} diff_sum`);
  close(g.cosine, w.cosine, 1, `${what} cosine`);
  close(g.dot, w.dot, (want.stats.a?.l2 ?? 0) * (want.stats.b?.l2 ?? 0), `${what} dot`);
}

describe.each(PAIRS)('%s vs %s', (a, b) => {
  it(`gives the scalar level's answer at every level (${levels.join(', ')})`, async () => {
    native.setSimdLevel('scalar');
    const want = await diffFiles([model(a), model(b)]);
    expect(want.overall.tensors.length).toBeGreaterThan(0);
    for (const level of levels.filter((l) => l !== 'scalar')) {
      native.setSimdLevel(level);
      const got = await diffFiles([model(a), model(b)]);
      expect(got.overall.summary).toEqual(want.overall.summary);
      got.overall.tensors.forEach((t, i) => sameTensor(t, want.overall.tensors[i], level));
    }
  });
});

describe('DIFFAI_SIMD', () => {
  it('reports the level in use and every level the CPU has, lowest first', () => {
    expect(levels[0]).toBe('scalar');
    expect(levels).toContain(initial);
  });

  it('lowers the level of a process, never raises it, and `diffai --version --verbose` shows the level in use', () => {
    const shown = (env: Record<string, string>) => /simd=(\w+) \(available: ([\w, ]+)\), threads=(\d+)/.exec(runCli(['--version', '--verbose'], { env }).stdout);
    const max = levels.at(-1)!;
    for (const level of levels) expect(shown({ DIFFAI_SIMD: level })?.[1]).toBe(level);
    expect(shown({ DIFFAI_SIMD: 'AVX2' })?.[1]).toBe(levels.includes('avx2') ? 'avx2' : max);
    // The kernels ignore an unknown level; the CLI refuses it rather than run otherwise than asked.
    expect(runCli(['--version', '--verbose'], { env: { DIFFAI_SIMD: 'sse9' } })).toMatchObject({ code: 2, stderr: expect.stringMatching(/^ERR_CONFIG: environment variable DIFFAI_SIMD="sse9"/) });
    if (max !== 'avx512') expect(shown({ DIFFAI_SIMD: 'avx512' })?.[1]).toBe(max); // never above the CPU
    expect(shown({})?.[2]).toBe(levels.join(', '));
    expect(shown({ DIFFAI_THREADS: '1' })?.[3]).toBe('1');
  });

  it('setSimdLevel can lower the level and restore it, never go above the CPU', () => {
    native.setSimdLevel('scalar');
    expect(native.simdLevel()).toBe('scalar');
    native.setSimdLevel(levels.at(-1)!);
    expect(native.simdLevel()).toBe(levels.at(-1));
    if (!levels.includes('avx512')) expect(() => native.setSimdLevel('avx512')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
