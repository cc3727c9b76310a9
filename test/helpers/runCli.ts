/** Spawns the real `diffai` bin and collects its output and exit code. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './paths.js';

const EMPTY_CWD = mkdtempSync(join(tmpdir(), 'diffai-cli-cwd-'));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/diffai.js ...args`. The environment is cleaned of DIFFAI_* and NO_COLOR variables
 * (unless given in `env`), XDG_CONFIG_HOME points nowhere and the working directory is an empty temp
 * directory, so a developer's own config cannot leak in.
 */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): CliResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DIFFAI_') && k !== 'NO_COLOR') env[k] = v;
  env.XDG_CONFIG_HOME = '/nonexistent-diffai-test-config';
  Object.assign(env, options.env ?? {});
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? EMPTY_CWD, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
