/**
 * The settings of the model-structure analyses in `[thresholds]`: hardware_profile (enum), input_shape
 * (C,H,W / C,L string), batch_tokens (integer), and the numeric thresholds of #4, #6, #7, #26, from a
 * file, the environment and flags, with errors that name the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../lib/config/Config.js';
import { loadConfig } from '../../lib/config/loadConfig.js';

const cwd = () => mkdtempSync(join(tmpdir(), 'diffai-config-model-'));
const env = (extra: Record<string, string> = {}) => ({ XDG_CONFIG_HOME: '/nonexistent', ...extra });

describe('[thresholds] settings of the model-structure analyses', () => {
  it('defaults', () => {
    const t = DEFAULT_CONFIG.thresholds;
    expect([t.hardware_profile, t.batch_tokens, t.input_shape, t.inference_memory_factor, t.gradient_ratio_min, t.gradient_ratio_max, t.pruning_threshold, t.sqnr_good_db, t.sqnr_fair_db]).toEqual([
      'cpu', 512, '', 1.2, 1e-3, 1e3, 0.1, 30, 20,
    ]);
  });

  it('from a TOML file, the environment (DIFFAI_THRESHOLDS_<KEY>) and flags, with flags winning', () => {
    const dir = cwd();
    writeFileSync(join(dir, 'diffai.toml'), '[thresholds]\nhardware_profile = "a100"\ninput_shape = "3,224,224"\nbatch_tokens = 64\n');
    const fromFile = loadConfig({ cwd: dir, env: env() }).config.thresholds;
    expect([fromFile.hardware_profile, fromFile.input_shape, fromFile.batch_tokens]).toEqual(['a100', '3,224,224', 64]);
    const fromEnv = loadConfig({ cwd: dir, env: env({ DIFFAI_THRESHOLDS_HARDWARE_PROFILE: 'cpu', DIFFAI_THRESHOLDS_INPUT_SHAPE: '1,28,28', DIFFAI_THRESHOLDS_BATCH_TOKENS: '8' }) }).config.thresholds;
    expect([fromEnv.hardware_profile, fromEnv.input_shape, fromEnv.batch_tokens]).toEqual(['cpu', '1,28,28', 8]);
    const fromFlags = loadConfig({ cwd: dir, env: env({ DIFFAI_THRESHOLDS_HARDWARE_PROFILE: 'cpu' }), flags: { thresholds: { hardware_profile: 'a100' } } }).config.thresholds;
    expect(fromFlags.hardware_profile).toBe('a100');
  });

  it('bad values are errors naming the key', () => {
    expect(() => loadConfig({ cwd: cwd(), env: env({ DIFFAI_THRESHOLDS_HARDWARE_PROFILE: 'h100' }) })).toThrow(/DIFFAI_THRESHOLDS_HARDWARE_PROFILE.*expected one of cpu, a100/);
    expect(() => loadConfig({ cwd: cwd(), env: env({ DIFFAI_THRESHOLDS_INPUT_SHAPE: '28' }) })).toThrow(/DIFFAI_THRESHOLDS_INPUT_SHAPE.*C,H,W/);
    expect(() => loadConfig({ cwd: cwd(), env: env({ DIFFAI_THRESHOLDS_BATCH_TOKENS: '1.5' }) })).toThrow(/BATCH_TOKENS.*integer/);
    expect(() => loadConfig({ cwd: cwd(), env: env({ DIFFAI_THRESHOLDS_INFERENCE_MEMORY_FACTOR: '0.5' }) })).toThrow(/>= 1/);
    expect(() => loadConfig({ cwd: cwd(), env: env(), flags: { thresholds: { input_shape: 7 as unknown as string } } })).toThrow(/input_shape = 7: expected a string/);
    expect(() => loadConfig({ cwd: cwd(), env: env(), flags: { thresholds: { pruning_threshold: 2 } } })).toThrow(/pruning_threshold.*\(0, 1\]/);
  });
});
