import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../lib/config/Config.js';
import { loadConfig, overridesFromEnv } from '../../lib/config/loadConfig.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'diffai-config-'));
}

describe('loadConfig', () => {
  it('gives the SPEC defaults with no file, no environment and no flags', () => {
    const cwd = tempDir();
    const { config, file } = loadConfig({ env: { XDG_CONFIG_HOME: join(cwd, 'none') }, cwd });
    expect(file).toBeNull();
    expect(config.thresholds.critical_degradation).toBe(0.1);
    expect(config.thresholds.warning_degradation).toBe(0.05);
    expect(config.thresholds.memory_limit_mb).toBe(1024);
    expect(config.thresholds.convergence_patience).toBe(1);
    expect(config.output.format).toBe('cli');
    expect(config.output.epsilon).toBe(0);
  });

  it('reads ./diffai.toml, and flags > environment > file > defaults', () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'diffai.toml'),
      '[thresholds]\nmemory_limit_mb = 2048\nanomaly_threshold = 2.0\nconvergence_patience = 3\n[output]\nformat = "yaml"\n[ml_analysis]\nlearning_progress = true\n',
    );
    const env = { DIFFAI_ANOMALY_THRESHOLD: '4', DIFFAI_OUTPUT_FORMAT: 'json', XDG_CONFIG_HOME: join(cwd, 'none') };
    const { config, file } = loadConfig({ env, cwd, flags: { output: { format: 'cli' } } });
    expect(file).toBe(join(cwd, 'diffai.toml'));
    expect(config.thresholds.memory_limit_mb).toBe(2048); // file
    expect(config.thresholds.convergence_patience).toBe(3); // file
    expect(config.thresholds.anomaly_threshold).toBe(4); // env beats file
    expect(config.output.format).toBe('cli'); // flag beats env and file
    expect(config.ml_analysis.learning_progress).toBe(true);
    expect(config.thresholds.critical_degradation).toBe(DEFAULT_CONFIG.thresholds.critical_degradation);
  });

  it('finds $XDG_CONFIG_HOME/diffai/config.toml when there is no ./diffai.toml', () => {
    const cwd = tempDir();
    const xdg = tempDir();
    mkdirSync(join(xdg, 'diffai'));
    writeFileSync(join(xdg, 'diffai', 'config.toml'), '[output]\ntop_k = 9\n');
    const { config, file } = loadConfig({ env: { XDG_CONFIG_HOME: xdg }, cwd });
    expect(file).toBe(join(xdg, 'diffai', 'config.toml'));
    expect(config.output.top_k).toBe(9);
  });

  it('prefers --config over DIFFAI_CONFIG over ./diffai.toml', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'diffai.toml'), '[output]\ntop_k = 1\n');
    writeFileSync(join(cwd, 'env.toml'), '[output]\ntop_k = 2\n');
    writeFileSync(join(cwd, 'flag.toml'), '[output]\ntop_k = 3\n');
    expect(loadConfig({ env: { DIFFAI_CONFIG: join(cwd, 'env.toml') }, cwd }).config.output.top_k).toBe(2);
    expect(loadConfig({ env: { DIFFAI_CONFIG: join(cwd, 'env.toml') }, cwd, configPath: join(cwd, 'flag.toml') }).config.output.top_k).toBe(3);
  });

  it('rejects an unknown key, naming it', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'diffai.toml'), '[thresholds]\nanomaly_treshold = 2\n');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/unknown key \[thresholds\]\.anomaly_treshold/);
  });

  it('rejects an unknown section and a bad value, naming them', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'a.toml'), '[thresold]\nx = 1\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'a.toml') })).toThrow(/unknown section \[thresold\]/);
    writeFileSync(join(cwd, 'b.toml'), '[thresholds]\nmemory_limit_mb = "lots"\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'b.toml') })).toThrow(/\[thresholds\]\.memory_limit_mb = "lots": expected a number/);
    writeFileSync(join(cwd, 'c.toml'), '[thresholds]\nconvergence_patience = 0\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'c.toml') })).toThrow(/convergence_patience = 0: expected an integer >= 1/);
    writeFileSync(join(cwd, 'e.toml'), '[thresholds]\nlow_rank_energy = 1.5\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'e.toml') })).toThrow(/low_rank_energy = 1.5: expected a number in \(0, 1\]/);
    writeFileSync(join(cwd, 'd.toml'), '[output]\nformat = "xml"\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'd.toml') })).toThrow(/format = "xml": expected one of cli, json, yaml/);
  });

  it('refuses inverted thresholds, naming both keys and where each value came from', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'q.toml'), '[thresholds]\nsqnr_good_db = 20\nsqnr_fair_db = 30\n');
    const q = join(cwd, 'q.toml');
    expect(() => loadConfig({ env: {}, cwd, configPath: q })).toThrow(`[thresholds].sqnr_fair_db = 30 (${q}) is above [thresholds].sqnr_good_db = 20 (${q}): the fair SQNR level must not exceed the good level`);
    expect(() => loadConfig({ env: { DIFFAI_THRESHOLDS_GRADIENT_RATIO_MIN: '2000' }, cwd })).toThrow(
      '[thresholds].gradient_ratio_min = 2000 (environment) is above [thresholds].gradient_ratio_max = 1000 (default): the healthy band of the gradient flow ratio must not be empty',
    );
    expect(() => loadConfig({ env: {}, cwd, flags: { thresholds: { warning_degradation: 0.5 } } })).toThrow(/warning_degradation = 0\.5 \(command line\) is above \[thresholds\]\.critical_degradation = 0\.1 \(default\)/);
    // equal is allowed, and raising both together is fine
    expect(loadConfig({ env: {}, cwd, flags: { thresholds: { sqnr_good_db: 25, sqnr_fair_db: 25 } } }).config.thresholds.sqnr_fair_db).toBe(25);
  });

  it('batch_tokens is an integer from 1 to 2^31 in TOML and in the environment', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'b.toml'), '[thresholds]\nbatch_tokens = 1.5\n');
    expect(() => loadConfig({ env: {}, cwd, configPath: join(cwd, 'b.toml') })).toThrow(/batch_tokens = 1\.5: expected an integer from 1 to 2147483648 \(2\^31\)/);
    expect(() => loadConfig({ env: { DIFFAI_THRESHOLDS_BATCH_TOKENS: '1e12' }, cwd })).toThrow(/DIFFAI_THRESHOLDS_BATCH_TOKENS="1e12": expected an integer from 1 to 2147483648/);
    expect(loadConfig({ env: { DIFFAI_THRESHOLDS_BATCH_TOKENS: '2147483648' }, cwd }).config.thresholds.batch_tokens).toBe(2 ** 31);
  });

  it('reports invalid TOML with its line', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'diffai.toml'), '[output]\nformat = \n');
    try {
      loadConfig({ env: {}, cwd });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_CONFIG');
      expect((e as Error).message).toMatch(/diffai\.toml: invalid TOML at line 2/);
    }
  });

  it('errors when --config names a missing file', () => {
    expect(() => loadConfig({ env: {}, configPath: '/nonexistent/diffai.toml' })).toThrow(/does not exist \(given by --config\)/);
  });
});

describe('overridesFromEnv', () => {
  it('maps the short names and DIFFAI_<SECTION>_<KEY>', () => {
    const o = overridesFromEnv({
      DIFFAI_ML_ANALYSIS_ALL: 'true',
      DIFFAI_ANOMALY_THRESHOLD: '2.5',
      DIFFAI_CONVERGENCE_PATIENCE: '3',
      DIFFAI_THRESHOLDS_MEMORY_LIMIT_MB: '512',
      DIFFAI_ML_ANALYSIS_CHANGE_SUMMARY: '1',
      DIFFAI_OUTPUT_VERBOSE: 'yes',
      HOME: '/x',
    });
    expect(o).toEqual({
      ml_analysis: { enable_all: true, change_summary: true },
      thresholds: { anomaly_threshold: 2.5, convergence_patience: 3, memory_limit_mb: 512 },
      output: { verbose: true },
    });
  });

  it('ignores DIFFAI_PREBUILD, DIFFAI_SIMD, DIFFAI_THREADS, DIFFAI_CONFIG and DIFFAI_BENCH_*', () => {
    expect(overridesFromEnv({ DIFFAI_PREBUILD: '/x', DIFFAI_SIMD: 'scalar', DIFFAI_THREADS: '1', DIFFAI_CONFIG: 'a.toml', DIFFAI_BENCH_RUNS: '3' })).toEqual({});
  });

  it('rejects an unknown variable and a bad value, naming the variable', () => {
    expect(() => overridesFromEnv({ DIFFAI_ANOMALY: '2' })).toThrow(/DIFFAI_ANOMALY is not a diffai setting/);
    expect(() => overridesFromEnv({ DIFFAI_ANOMALY_THRESHOLD: 'high' })).toThrow(/DIFFAI_ANOMALY_THRESHOLD="high": expected a decimal number/);
    // hexadecimal, binary and octal forms are not numbers here, though Number() reads them
    for (const v of ['0x10', '0b11', '0o7', 'Infinity', '1_000']) expect(() => overridesFromEnv({ DIFFAI_THRESHOLDS_BATCH_TOKENS: v })).toThrow(/expected a decimal number/);
    expect(overridesFromEnv({ DIFFAI_THRESHOLDS_BATCH_TOKENS: ' 1e3 ', DIFFAI_ANOMALY_THRESHOLD: '.5' })).toEqual({ thresholds: { batch_tokens: 1000, anomaly_threshold: 0.5 } });
    expect(() => overridesFromEnv({ DIFFAI_ANOMALY_THRESHOLD: '-1' })).toThrow(/expected a finite number > 0/);
    expect(() => overridesFromEnv({ DIFFAI_ML_ANALYSIS_ALL: 'maybe' })).toThrow(/DIFFAI_ML_ANALYSIS_ALL="maybe"/);
    expect(() => overridesFromEnv({ DIFFAI_ML_ANALYSIS_NOT_AN_ANALYSIS: '1' })).toThrow(/not a diffai setting/);
  });
});
