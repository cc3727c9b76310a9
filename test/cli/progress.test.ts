/**
 * The CLI's progress bar and Ctrl-C, end to end on the real bin: the bar is drawn on a terminal
 * (a pseudo-terminal from `script`) for work over a second, never with --quiet or when stderr is a
 * pipe; SIGINT stops the native work and exits 130 at once.
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

import { BIN } from '../helpers/paths.js';

const N = 2 ** 28;
let dir: string;
let a: string;
let b: string;

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
