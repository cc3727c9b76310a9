/**
 * Configuration loading: TOML file, `DIFFAI_*` environment variables and command-line overrides, with
 * precedence flags > environment > file > defaults (SPEC section 4). See `docs/configuration.md`.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ANALYSIS_KEYS } from '../analyses/catalog.js';
import { inputShapeProblem } from '../cost/inputShape.js';
import { DiffaiError } from '../errors.js';
import { DEFAULT_CONFIG, HARDWARE_PROFILE_NAMES, type Config, type Thresholds } from './Config.js';

/** A partial configuration, as one source (file, environment, flags) gives it. */
export type ConfigOverrides = {
  [S in keyof Config]?: Partial<Config[S]>;
};

/** Where configuration comes from. */
export interface ConfigSources {
  /** `--config FILE`. */
  configPath?: string;
  /** Values from command-line flags (highest precedence). */
  flags?: ConfigOverrides;
  /** Environment; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory searched for `diffai.toml`; defaults to `process.cwd()`. */
  cwd?: string;
}

/** The resolved configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  /** The config file used, or null. */
  file: string | null;
}

/** Environment variables that belong to other parts of diffai (the addon loader and the kernels). */
const FOREIGN_ENV = new Set(['DIFFAI_PREBUILD', 'DIFFAI_SIMD', 'DIFFAI_THREADS', 'DIFFAI_CONFIG']);

/** Short environment names kept from the tool diffai follows (SPEC section 4). */
const ENV_ALIASES: Record<string, [keyof Config, string]> = {
  DIFFAI_ML_ANALYSIS_ALL: ['ml_analysis', 'enable_all'],
  DIFFAI_ANOMALY_THRESHOLD: ['thresholds', 'anomaly_threshold'],
  DIFFAI_CONVERGENCE_PATIENCE: ['thresholds', 'convergence_patience'],
};

const SECTIONS = ['ml_analysis', 'thresholds', 'output'] as const satisfies readonly (keyof Config)[];

type ValueRule =
  | { type: 'boolean' }
  | { type: 'number'; check?: (v: number) => string | null }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'string'; check: (v: string) => string | null };

/** `C,H,W` or `C,L` (integers from 1 to 2^20, at most 2^40 elements), or empty for "unknown" (`lib/cost/inputShape.ts`). */
const inputShape = (v: string) => {
  const problem = inputShapeProblem(v);
  return problem === null ? null : `C,H,W or C,L, e.g. 1,28,28 (${problem})`;
};

const positive = (v: number) => (v > 0 && Number.isFinite(v) ? null : 'a finite number > 0');
const nonNegative = (v: number) => (v >= 0 && Number.isFinite(v) ? null : 'a finite number >= 0');
const positiveInteger = (v: number) => (Number.isInteger(v) && v >= 1 ? null : 'an integer >= 1');
const share = (v: number) => (v > 0 && v <= 1 ? null : 'a number in (0, 1]');

/** The largest `batch_tokens` accepted (2^31): the cost model multiplies it into FLOP and byte counts. */
export const MAX_BATCH_TOKENS = 2 ** 31;

/**
 * Thresholds that must keep an order: [lower, upper, what the pair means]. A configuration that inverts
 * one would make a band empty (every value outside it), so it is refused.
 */
const ORDERED_THRESHOLDS: readonly [keyof Thresholds, keyof Thresholds, string][] = [
  ['warning_degradation', 'critical_degradation', 'the warning level must not exceed the critical level'],
  ['norm_growth_limit', 'critical_growth', 'the warning growth must not exceed the critical growth'],
  ['gradient_ratio_min', 'gradient_ratio_max', 'the healthy band of the gradient flow ratio must not be empty'],
  ['sqnr_fair_db', 'sqnr_good_db', 'the fair SQNR level must not exceed the good level'],
];

/** Extra constraints on particular thresholds; every other threshold must be a finite number > 0. */
const THRESHOLD_CHECKS: Record<string, (v: number) => string | null> = {
  convergence_patience: positiveInteger,
  oscillation_cosine: (v) => (v >= -1 && v <= 1 ? null : 'a number in [-1, 1]'),
  // Shares, ratios of energy and cosines are at most 1.
  warning_degradation: share,
  critical_degradation: share,
  dead_unit_ratio: share,
  reinit_cosine: share,
  pruning_share: share,
  sparse_share: share,
  low_rank_energy: share,
  not_continuation_share: share,
  pruning_threshold: share,
  batch_tokens: (v) => (Number.isInteger(v) && v >= 1 && v <= MAX_BATCH_TOKENS ? null : `an integer from 1 to ${MAX_BATCH_TOKENS} (2^31)`),
  inference_memory_factor: (v) => (v >= 1 && Number.isFinite(v) ? null : 'a finite number >= 1'),
  gradient_ratio_min: positive,
  gradient_ratio_max: positive,
  sqnr_good_db: (v) => (Number.isFinite(v) ? null : 'a finite number'),
  sqnr_fair_db: (v) => (Number.isFinite(v) ? null : 'a finite number'),
};

/** The type rule of `[section].key`, or null when the key does not exist. */
function ruleOf(section: keyof Config, key: string): ValueRule | null {
  if (section === 'ml_analysis') {
    return key === 'enable_all' || (ANALYSIS_KEYS as readonly string[]).includes(key) ? { type: 'boolean' } : null;
  }
  if (section === 'thresholds') {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_CONFIG.thresholds, key)) return null;
    // The analyses' own settings that are not numbers (#8, #15, #26).
    if (key === 'hardware_profile') return { type: 'enum', values: HARDWARE_PROFILE_NAMES };
    if (key === 'input_shape') return { type: 'string', check: inputShape };
    return { type: 'number', check: THRESHOLD_CHECKS[key] ?? positive };
  }
  switch (key) {
    case 'format':
      return { type: 'enum', values: ['cli', 'json', 'yaml'] };
    case 'epsilon':
      return { type: 'number', check: nonNegative };
    case 'verbose':
    case 'quiet':
      return { type: 'boolean' };
    case 'color':
      return { type: 'enum', values: ['auto', 'always', 'never'] };
    case 'sort_key':
      return { type: 'enum', values: ['rel_l2', 'l2_diff', 'max_abs', 'mean_abs', 'cosine', 'changed', 'name'] };
    case 'top_k':
      return { type: 'number', check: positiveInteger };
    default:
      return null;
  }
}

/** Checks a typed value (from TOML or flags) against its rule; returns the problem or null. */
function checkValue(rule: ValueRule, value: unknown): string | null {
  switch (rule.type) {
    case 'boolean':
      return typeof value === 'boolean' ? null : 'expected true or false';
    case 'number':
      if (typeof value !== 'number') return 'expected a number';
      return rule.check ? (rule.check(value) === null ? null : `expected ${rule.check(value)}`) : null;
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? null : `expected one of ${rule.values.join(', ')}`;
    case 'string':
      if (typeof value !== 'string') return 'expected a string';
      return rule.check(value) === null ? null : `expected ${rule.check(value)}`;
  }
}

/** A decimal number as TOML writes one: optional sign, digits with an optional fraction, optional exponent. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** Parses an environment string by rule; returns [value] or a problem. */
function parseEnvValue(rule: ValueRule, raw: string): [unknown] | string {
  const s = raw.trim();
  switch (rule.type) {
    case 'boolean': {
      const l = s.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(l)) return [true];
      if (['0', 'false', 'no', 'off', ''].includes(l)) return [false];
      return 'expected true/false, 1/0, yes/no or on/off';
    }
    case 'number': {
      // decimal notation only: Number() would also read 0x10, 0b11 and 0o7
      const v = DECIMAL.test(s) ? Number(s) : NaN;
      if (Number.isNaN(v)) return 'expected a decimal number';
      const problem = rule.check?.(v) ?? null;
      return problem === null ? [v] : `expected ${problem}`;
    }
    case 'enum':
      return rule.values.includes(s) ? [s] : `expected one of ${rule.values.join(', ')}`;
    case 'string': {
      const problem = rule.check(s);
      return problem === null ? [s] : `expected ${problem}`;
    }
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Validates one source's overrides (config file or flags): unknown sections or keys and bad values are
 * errors that name them.
 *
 * @param origin - e.g. the file name or `command line`, used in messages.
 * @throws DiffaiError `ERR_CONFIG`.
 */
export function validateOverrides(raw: unknown, origin: string): ConfigOverrides {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new DiffaiError('ERR_CONFIG', `${origin}: expected a table of sections`);
  const out: ConfigOverrides = {};
  for (const [section, table] of Object.entries(raw as Record<string, unknown>)) {
    if (table === null || typeof table !== 'object' || Array.isArray(table)) {
      // A value outside any section: say where such a key belongs.
      const home = SECTIONS.find((sec) => ruleOf(sec, section) !== null);
      throw new DiffaiError(
        'ERR_CONFIG',
        home
          ? `${origin}: ${section} must be inside a section: [${home}] ${section} = ...`
          : `${origin}: unknown top-level key ${section} (settings go in ${SECTIONS.map((sec) => `[${sec}]`).join(', ')})`,
      );
    }
    if (!(SECTIONS as readonly string[]).includes(section)) {
      throw new DiffaiError('ERR_CONFIG', `${origin}: unknown section [${section}] (known: ${SECTIONS.map((s) => `[${s}]`).join(', ')})`);
    }
    const target: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
      const rule = ruleOf(section as keyof Config, key);
      if (!rule) throw new DiffaiError('ERR_CONFIG', `${origin}: unknown key [${section}].${key}`);
      const problem = checkValue(rule, value);
      if (problem) throw new DiffaiError('ERR_CONFIG', `${origin}: [${section}].${key} = ${describe(value)}: ${problem}`);
      target[key] = value;
    }
    (out as Record<string, unknown>)[section] = target;
  }
  return out;
}

/**
 * The kernels read `DIFFAI_THREADS` and `DIFFAI_SIMD` themselves and ignore values they cannot use;
 * the CLI refuses such values instead of silently running otherwise.
 *
 * @throws DiffaiError `ERR_CONFIG` naming the variable.
 */
export function checkNativeEnv(env: NodeJS.ProcessEnv): void {
  const threads = env.DIFFAI_THREADS;
  if (threads !== undefined && threads !== '' && !(/^\d+$/.test(threads.trim()) && Number(threads) >= 1 && Number(threads) <= 1024)) {
    throw new DiffaiError('ERR_CONFIG', `environment variable DIFFAI_THREADS=${JSON.stringify(threads)}: expected an integer from 1 to 1024 (threads of the native pool)`);
  }
  const simd = env.DIFFAI_SIMD;
  if (simd !== undefined && simd !== '' && !['scalar', 'avx2', 'avx512'].includes(simd.trim().toLowerCase())) {
    throw new DiffaiError('ERR_CONFIG', `environment variable DIFFAI_SIMD=${JSON.stringify(simd)}: expected scalar, avx2 or avx512 (it can lower the kernels' level, never raise it)`);
  }
}

/**
 * Reads `DIFFAI_*` variables: the short names `DIFFAI_ML_ANALYSIS_ALL`, `DIFFAI_ANOMALY_THRESHOLD`,
 * `DIFFAI_CONVERGENCE_PATIENCE`, and `DIFFAI_<SECTION>_<KEY>` for every key (e.g.
 * `DIFFAI_THRESHOLDS_MEMORY_LIMIT_MB=2048`, `DIFFAI_OUTPUT_FORMAT=json`). `DIFFAI_PREBUILD`,
 * `DIFFAI_SIMD`, `DIFFAI_THREADS` and `DIFFAI_CONFIG` belong to other parts and are skipped.
 *
 * @throws DiffaiError `ERR_CONFIG` naming the variable for an unknown name or a bad value.
 */
export function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const out: ConfigOverrides = {};
  checkNativeEnv(env);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('DIFFAI_') || FOREIGN_ENV.has(name) || name.startsWith('DIFFAI_BENCH_') || raw === undefined) continue;
    let target: [keyof Config, string] | undefined = ENV_ALIASES[name];
    if (!target) {
      const rest = name.slice('DIFFAI_'.length);
      for (const section of SECTIONS) {
        const prefix = section.toUpperCase() + '_';
        if (rest.startsWith(prefix)) {
          target = [section, rest.slice(prefix.length).toLowerCase()];
          break;
        }
      }
    }
    const rule = target ? ruleOf(target[0], target[1]) : null;
    if (!target || !rule) {
      throw new DiffaiError(
        'ERR_CONFIG',
        `environment variable ${name} is not a diffai setting (use DIFFAI_<SECTION>_<KEY>, e.g. DIFFAI_THRESHOLDS_MEMORY_LIMIT_MB; see docs/configuration.md)`,
      );
    }
    const parsed = parseEnvValue(rule, raw);
    if (typeof parsed === 'string') throw new DiffaiError('ERR_CONFIG', `environment variable ${name}=${JSON.stringify(raw)}: ${parsed}`);
    const section = ((out as Record<string, Record<string, unknown>>)[target[0]] ??= {});
    section[target[1]] = parsed[0];
  }
  return out;
}

/** The config file to use: `--config`, else `DIFFAI_CONFIG`, else `./diffai.toml`, else the XDG one. */
export function findConfigFile(sources: ConfigSources): string | null {
  const env = sources.env ?? process.env;
  const explicit = sources.configPath ?? env.DIFFAI_CONFIG;
  if (explicit !== undefined && explicit !== '') {
    if (!existsSync(explicit)) {
      throw new DiffaiError('ERR_CONFIG', `config file ${explicit} does not exist (given by ${sources.configPath !== undefined ? '--config' : 'DIFFAI_CONFIG'})`, {
        file: explicit,
      });
    }
    return explicit;
  }
  const local = resolve(sources.cwd ?? process.cwd(), 'diffai.toml');
  if (existsSync(local)) return local;
  const xdg = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  const user = join(xdg, 'diffai', 'config.toml');
  return existsSync(user) ? user : null;
}

/**
 * Resolves the configuration from defaults, the config file, the environment and flags.
 *
 * @throws DiffaiError `ERR_CONFIG` naming the file, key or variable at fault.
 */
export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const file = findConfigFile(sources);
  let fromFile: ConfigOverrides = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new DiffaiError('ERR_CONFIG', `${file}: cannot read config file (${(cause as Error).message})`, { file, cause });
    }
    let parsed: unknown;
    try {
      parsed = parseToml(text);
    } catch (cause) {
      const where = cause instanceof TomlError ? ` at line ${cause.line}, column ${cause.column}` : '';
      throw new DiffaiError('ERR_CONFIG', `${file}: invalid TOML${where}: ${(cause as Error).message.split('\n')[0]}`, { file, cause });
    }
    fromFile = validateOverrides(parsed, file);
  }
  const fromEnv = overridesFromEnv(sources.env ?? process.env);
  const fromFlags = sources.flags ? validateOverrides(sources.flags, 'command line') : {};
  const config = structuredClone(DEFAULT_CONFIG);
  for (const layer of [fromFile, fromEnv, fromFlags]) {
    for (const section of SECTIONS) Object.assign(config[section], layer[section] ?? {});
  }
  checkOrder(config.thresholds, [
    [fromFlags, 'command line'],
    [fromEnv, 'environment'],
    [fromFile, file ?? ''],
  ]);
  return { config, file };
}

/**
 * Refuses thresholds whose order is inverted ({@link ORDERED_THRESHOLDS}), naming where each value came from.
 *
 * @throws DiffaiError `ERR_CONFIG`.
 */
function checkOrder(th: Thresholds, layers: [ConfigOverrides, string][]): void {
  const origin = (key: keyof Thresholds) => layers.find(([l]) => l.thresholds && key in l.thresholds)?.[1] || 'default';
  for (const [lo, hi, why] of ORDERED_THRESHOLDS) {
    if ((th[lo] as number) > (th[hi] as number)) {
      throw new DiffaiError('ERR_CONFIG', `[thresholds].${lo} = ${th[lo]} (${origin(lo)}) is above [thresholds].${hi} = ${th[hi]} (${origin(hi)}): ${why}`);
    }
  }
}
