/**
 * The CLI's progress bar and Ctrl-C, end to end on the real bin: the bar is drawn on a terminal
 * (a pseudo-terminal from `script`) for work over a second, never with --quiet or when stderr is a
 * pipe; SIGINT stops the native work and exits 130 at once. With an analysis that runs the spectral
 * step, the phases make one bar that never moves back (on the terminal, and, without timing, in the
 * reports `compare` hands the bar).
 *
 * The work: a sparse pair (no disk space used) of 2^28 float32 zeros against the same shape in
 * float16, so the tensor is dtype-changed and goes through the mixed-dtype pair kernel, at the
 * scalar SIMD level on one thread: several seconds of native work on any machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { compare } from '../../lib/compare.js';
import { ProgressBar } from '../../lib/cli/progress.js';
import { loadConfig } from '../../lib/config/loadConfig.js';
import type { DiffProgress } from '../../lib/diff/diffModels.js';
import { BIN } from '../helpers/paths.js';
import { buildSafetensors, writeTemp } from '../helpers/safetensorsBuilder.js';

const N = 2 ** 28;
let dir: string;
let a: string;
let b: string;

/** A safetensors file of one random F32 matrix [n, n] (values from a seeded LCG). */
function matrixSafetensors(path: string, n: number, seed: number): void {
  let json = JSON.stringify({ w: { dtype: 'F32', shape: [n, n], data_offsets: [0, n * n * 4] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'latin1');
  const data = new Float32Array(n * n);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    writeSync(fd, new Uint8Array(data.buffer));
  } finally {
    closeSync(fd);
  }
}

function sparseSafetensors(path: string, dtype: 'F32' | 'F16', count: number): void {
  const size = dtype === 'F32' ? 4 : 2;
  let json = JSON.stringify({ x: { dtype, shape: [count], data_offsets: [0, count * size] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8 + json.length);
  head.writeBigUInt64LE(BigInt(json.length), 0);
  head.write(json, 8, 'latin1');
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, head.length + count * size);
  } finally {
    closeSync(fd);
  }
}

/** The environment of a slow run: scalar kernels on one thread, no user config. */
function slowEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DIFFAI_')) env[k] = v;
  return { ...env, DIFFAI_SIMD: 'scalar', DIFFAI_THREADS: '1', XDG_CONFIG_HOME: '/nonexistent-diffai-test-config' };
}

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/** Runs the CLI under a pseudo-terminal (util-linux `script`); returns what the terminal showed. */
function onTerminal(args: string): { code: number; screen: string } {
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args} > /dev/null`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: slowEnv(), encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, screen: r.stdout };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'diffai-progress-'));
  a = join(dir, 'a.safetensors');
  b = join(dir, 'b.safetensors');
  sparseSafetensors(a, 'F32', N);
  sparseSafetensors(b, 'F16', N);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The percentages of the bar frames a terminal showed, in order, with their phase labels. */
function frames(screen: string): { label: string; percent: number }[] {
  return [...screen.matchAll(/\rdiffai ([a-z ]*)\[[#-]+\] +(\d+)%/g)].map((m) => ({ label: m[1].trim(), percent: Number(m[2]) }));
}

describe('progress bar', () => {
  it.skipIf(!hasScript)('is drawn on a terminal for work over a second, then erased', () => {
    const { code, screen } = onTerminal(`${JSON.stringify(a)} ${JSON.stringify(b)} --brief`);
    expect(code).toBe(1); // a dtype change is a difference
    expect(screen).toMatch(/\rdiffai \[[#-]+\] +\d+%  [\d.]+\/1\.61 GB {2}\d+\/1 tensors/);
    expect(screen).toContain('GB/s');
    expect(screen).toContain('ETA');
    expect(screen.endsWith('\r\x1b[2K')).toBe(true);
  });

  it.skipIf(!hasScript)('is never drawn with --quiet', () => {
    const { code, screen } = onTerminal(`${JSON.stringify(a)} ${JSON.stringify(b)} --quiet`);
    expect(code).toBe(1);
    expect(screen).toBe('');
  });

  it('is never drawn when stderr is not a terminal', () => {
    const r = spawnSync(process.execPath, [BIN, a, b, '--brief'], { env: slowEnv(), encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
  });
});

describe('progress bar over the phases of a run', () => {
  it.skipIf(!hasScript)('labels the spectral step and never moves back on a terminal', () => {
    // 3072 x 3072 random F32 matrices: the spectral step takes seconds at the scalar level.
    const ma = join(dir, 'ma.safetensors');
    const mb = join(dir, 'mb.safetensors');
    matrixSafetensors(ma, 3072, 1);
    matrixSafetensors(mb, 3072, 2);
    const { code, screen } = onTerminal(`${JSON.stringify(ma)} ${JSON.stringify(mb)} --param-efficiency-analysis --brief`);
    expect(code).toBe(1);
    const shown = frames(screen);
    expect(shown.some((f) => f.label === 'spectral')).toBe(true);
    for (let i = 1; i < shown.length; i++) expect(shown[i].percent).toBeGreaterThanOrEqual(shown[i - 1].percent);
    expect(screen.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('is fed one monotone total by compare: statistics, unit norms, spectral step, histograms', async () => {
    const values = (n: number, seed: number, shift: number) => {
      let s = seed;
      return Array.from({ length: n }, () => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        return (s / 2 ** 32 - 0.5) * 0.1 + shift;
      });
    };
    const model = (name: string, shift: number) =>
      writeTemp(
        name,
        buildSafetensors({
          'layer0.weight': { dtype: 'F32', shape: [300, 200], values: values(60000, 1, shift) },
          'layer1.weight': { dtype: 'F16', shape: [120, 300], values: values(36000, 2, shift) },
          'layer1.bias': { dtype: 'F32', shape: [120], values: values(120, 3, shift) },
        }),
      );
    const { config } = loadConfig({ flags: { ml_analysis: { param_efficiency_analysis: true } } });
    const seen: DiffProgress[] = [];
    const lines: string[] = [];
    let t = 0;
    const bar = new ProgressBar({ write: (x) => lines.push(x), columns: 120 }, { delayMs: 0, intervalMs: 0, now: () => (t += 100), setTimer: (fn) => (fn(), { cancel: () => {} }) });
    await compare([model('progress-a.safetensors', 0), model('progress-b.safetensors', 1e-3)], {
      config,
      onProgress: (p) => {
        seen.push(p);
        bar.update(p);
      },
    });
    bar.stop();
    expect(seen.map((p) => p.phase).filter((p, i, all) => i === 0 || all[i - 1] !== p)).toEqual(['stats', 'unit_norms', 'spectral', 'histograms']);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].bytesDone).toBeGreaterThanOrEqual(seen[i - 1].bytesDone);
      expect(seen[i].bytesTotal).toBeLessThanOrEqual(seen[i - 1].bytesTotal);
    }
    expect(seen.at(-1)!.bytesDone).toBe(seen.at(-1)!.bytesTotal);
    const shown = frames(lines.join(''));
    expect(shown.length).toBeGreaterThan(3);
    for (let i = 1; i < shown.length; i++) expect(shown[i].percent).toBeGreaterThanOrEqual(shown[i - 1].percent);
    expect(shown.some((f) => f.label === 'spectral')).toBe(true);
  });
});

describe('Ctrl-C', () => {
  it('aborts the native work and exits 130 promptly', async () => {
    const child = spawn(process.execPath, [BIN, a, b], { env: slowEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Long enough for the process to start and the kernels to run (the whole diff takes seconds).
    await new Promise((r) => setTimeout(r, 1200));
    const sent = performance.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const took = performance.now() - sent;
    expect(code).toBe(130);
    expect(stderr).toContain('ERR_ABORTED: interrupted');
    expect(took).toBeLessThan(1000);
  });
});
