/**
 * The `diffai` command: a thin shell over the library (`compare`, `loadConfig`, the formatters).
 *
 * Exit codes (SPEC section 4): 0 no differences, 1 differences, 2 error (usage, I/O, parse), 130
 * interrupted (Ctrl-C stops the native workers through the AbortSignal; a second Ctrl-C exits at once).
 * With `--scan`: 0 every file is safe, 1 a file has findings, 2 error.
 *
 * A progress bar (lib/cli/progress.ts) is drawn on stderr when stderr is a terminal, the work lasts
 * more than about a second, and `--quiet` is off.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ANALYSIS_KEYS, flagOf } from '../analyses/catalog.js';
import { ANALYSES } from '../analyses/registry.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { compare } from '../compare.js';
import { compareDirectories, isDirectoryPair } from '../compareDirectories.js';
import { scanFile } from '../formats/pytorch/scanFile.js';
import { HARDWARE_PROFILE_NAMES, type Config } from '../config/Config.js';
import { inputShapeProblem } from '../cost/inputShape.js';
import { checkNativeEnv, loadConfig, MAX_BATCH_TOKENS, type ConfigOverrides } from '../config/loadConfig.js';
import { DiffaiError, isDiffaiError } from '../errors.js';
import { addon } from '../native/loadAddon.js';
import { formatCli } from '../report/formatCli.js';
import { formatJson, jsonReplacer } from '../report/formatJson.js';
import { directoryHasDifferences, formatDirectoryCli, formatDirectoryJson, formatDirectoryYaml } from '../report/formatDirectory.js';
import { escapeControl } from '../report/escapeControl.js';
import { formatScanCli, formatScanJson, formatScanYaml, type ScanOutcome } from '../report/formatScan.js';
import { toYaml } from '../report/toYaml.js';
import { formatYaml } from '../report/formatYaml.js';
import { hasDifferences } from '../report/toDocument.js';

/** Process exit codes. */
export const EXIT = { same: 0, different: 1, error: 2, interrupted: 130 } as const;

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  isTTY: boolean;
  /** Where the progress bar is drawn: stderr when it is a terminal, else undefined (no bar). */
  progress?: ProgressStream;
  /** Subscribes to Ctrl-C (SIGINT) while a diff runs; returns the unsubscribe function. */
  onInterrupt?: (handler: () => void) => () => void;
}

const defaultIo = (): CliIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
  progress: process.stderr.isTTY ? process.stderr : undefined,
  onInterrupt: (handler) => {
    let count = 0;
    const on = () => {
      // The first Ctrl-C aborts the native work (prompt: checked every 2 MiB of input); a second one
      // exits at once, whatever is running.
      if (++count > 1) process.exit(EXIT.interrupted);
      handler();
    };
    process.on('SIGINT', on);
    return () => process.off('SIGINT', on);
  },
});

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function buildProgram(): Command {
  const program = new Command('diffai')
    .description('Compare ML model files tensor by tensor and explain what changed.')
    .usage('[options] <A> <B> [C ...]')
    .argument('[inputs...]', 'model files, oldest first (2 or more)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['cli', 'json', 'yaml']))
    .option('--epsilon <x>', 'values differ when |B - A| > x (default 0: exact)')
    .option('--path <substr>', 'only tensors whose name contains SUBSTR')
    .option('--ignore-keys-regex <re>', 'skip tensors whose name matches RE')
    .option('-v, --verbose', 'also list unchanged tensors; with --version, show the native build')
    .option('-q, --quiet', 'print nothing; only the exit code tells')
    .option('--brief', 'summary and analyses only, no per-tensor lines')
    .option('--config <file>', 'configuration file (TOML)')
    .addOption(new Option('--color <when>', 'colour output').choices(['auto', 'always', 'never']))
    .option('--no-color', 'same as --color never')
    .addOption(new Option('--sort-key <key>', 'sort diff lines by KEY (implies --sort-by-change-magnitude)').choices(['rel_l2', 'l2_diff', 'max_abs', 'mean_abs', 'cosine', 'changed', 'name']))
    .addOption(new Option('--hardware-profile <name>', 'hardware profile of the cost model (#8, #15, #26)').choices([...HARDWARE_PROFILE_NAMES]))
    .option('--input-shape <shape>', 'per-sample input shape for conv layers, C,H,W or C,L (e.g. 1,28,28)')
    .option('--batch-tokens <n>', 'tokens (or samples) per batch for the batched figures of #8 and #15 (default 512)')
    .option('--all', 'run every available analysis')
    .option('--scan', 'list the security findings of pickle-bearing files (.pt, .pth, .bin, .npz, .npy) without diffing')
    .option('-V, --version', 'print the version');
  const available = new Set(ANALYSES.map((a) => a.key));
  for (const key of ANALYSIS_KEYS) {
    program.option(flagOf(key), available.has(key) ? 'analysis (docs/analyses.md)' : 'analysis not available in this version');
  }
  program.helpOption('-h, --help', 'show this help');
  program.addHelpText(
    'after',
    '\nExit codes: 0 no differences, 1 differences, 2 error.\nDocs: README.md, docs/analyses.md, docs/configuration.md, docs/output.md',
  );
  program.exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  program.allowExcessArguments(false);
  return program;
}

type Opts = Record<string, unknown>;

function flagOverrides(opts: Opts): ConfigOverrides {
  const output: Partial<Config['output']> = {};
  if (opts.output !== undefined) output.format = opts.output as Config['output']['format'];
  if (opts.epsilon !== undefined) {
    // A plain decimal number: Number() would also take '', ' 1', '0x10' and 'Infinity'.
    const text = String(opts.epsilon);
    const e = /^\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
    if (!Number.isFinite(e)) throw new DiffaiError('ERR_USAGE', `--epsilon must be a finite decimal number >= 0, got ${JSON.stringify(opts.epsilon)}`);
    output.epsilon = e;
  }
  if (opts.quiet && opts.verbose) throw new DiffaiError('ERR_USAGE', '--quiet and --verbose contradict each other: choose one');
  if (opts.verbose) output.verbose = true;
  if (opts.quiet) output.quiet = true;
  if (opts.color === false) output.color = 'never';
  else if (typeof opts.color === 'string') output.color = opts.color as Config['output']['color'];
  if (opts.sortKey !== undefined) output.sort_key = opts.sortKey as Config['output']['sort_key'];
  const thresholds: Partial<Config['thresholds']> = {};
  if (opts.hardwareProfile !== undefined) thresholds.hardware_profile = opts.hardwareProfile as Config['thresholds']['hardware_profile'];
  if (opts.inputShape !== undefined) {
    const problem = inputShapeProblem(String(opts.inputShape));
    if (problem !== null) throw new DiffaiError('ERR_USAGE', `--input-shape ${JSON.stringify(opts.inputShape)}: ${problem} (expected C,H,W or C,L, e.g. 1,28,28)`);
    thresholds.input_shape = String(opts.inputShape);
  }
  if (opts.batchTokens !== undefined) {
    const n = Number(opts.batchTokens);
    if (!/^\d+$/.test(String(opts.batchTokens)) || !Number.isSafeInteger(n) || n < 1 || n > MAX_BATCH_TOKENS) {
      throw new DiffaiError('ERR_USAGE', `--batch-tokens must be an integer from 1 to ${MAX_BATCH_TOKENS} (2^31), got ${JSON.stringify(opts.batchTokens)}`);
    }
    thresholds.batch_tokens = n;
  }
  const ml: Record<string, boolean> = {};
  if (opts.all) ml.enable_all = true;
  // A sort key asks for the sorted view: --sort-key alone implies --sort-by-change-magnitude.
  if (opts.sortKey !== undefined) ml.sort_by_change_magnitude = true;
  for (const key of ANALYSIS_KEYS) {
    const camel = key.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if (opts[camel]) ml[key] = true;
  }
  const out: ConfigOverrides = { output };
  if (Object.keys(thresholds).length) out.thresholds = thresholds;
  if (Object.keys(ml).length) out.ml_analysis = ml as Config['ml_analysis'];
  return out;
}

function useColor(config: Config, io: CliIo): boolean {
  if (config.output.color === 'always') return true;
  if (config.output.color === 'never') return false;
  return io.isTTY && !('NO_COLOR' in io.env && io.env.NO_COLOR !== '');
}

/** How errors are written: `CODE: message` on stderr, or an error document on stdout for -o json/yaml. */
type ErrorMode = 'cli' | 'json' | 'yaml';

function errorModeOf(format: string | undefined): ErrorMode {
  return format === 'json' || format === 'yaml' ? format : 'cli';
}

function reportError(e: unknown, mode: ErrorMode, io: CliIo): number {
  const code = isDiffaiError(e) ? (e as DiffaiError).code : 'ERR_INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  if (mode !== 'cli') {
    const file = isDiffaiError(e) ? (e as DiffaiError).file : undefined;
    const doc = { schema: 'diffai/1', error: { code, message, ...(file ? { file } : {}) } };
    io.stdout(mode === 'json' ? JSON.stringify(doc, jsonReplacer, 2) + '\n' : toYaml(doc));
  } else {
    // Messages quote names from the files: escape control characters.
    io.stderr(`${code}: ${escapeControl(message)}\n`);
    if (!isDiffaiError(e) && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
  }
  return EXIT.error;
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code.
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram();
  const interrupt = new AbortController();
  // Until the configuration is read, take the format from the command line as far as it can be seen.
  const formatArg = argv.findIndex((a) => a === '-o' || a === '--output');
  let errorMode = errorModeOf(formatArg >= 0 ? argv[formatArg + 1] : argv.find((a) => a.startsWith('--output='))?.slice(9));
  try {
    try {
      program.parse([...argv], { from: 'user' });
    } catch (e) {
      if (e instanceof CommanderError) {
        if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') {
          io.stdout(program.helpInformation());
          return EXIT.same;
        }
        throw new DiffaiError('ERR_USAGE', e.message.replace(/^error: /, ''));
      }
      throw e;
    }
    const opts = program.opts<Opts>();
    if (opts.version) {
      checkNativeEnv(io.env);
      io.stdout(`diffai ${packageVersion()}\n`);
      if (opts.verbose) {
        const native = addon();
        io.stdout(`native: simd=${native.simdLevel()} (available: ${native.simdLevels().join(', ')}), threads=${native.threadCount()}\n`);
        io.stdout(`node ${process.version}, ${process.platform}-${process.arch}, napi ${process.versions.napi}\n`);
      }
      return EXIT.same;
    }
    const inputs = program.args;
    if (opts.scan) {
      if (inputs.length < 1) throw new DiffaiError('ERR_USAGE', '--scan needs at least 1 file');
      const { config } = loadConfig({ configPath: opts.config as string | undefined, flags: flagOverrides(opts), env: io.env, cwd: io.cwd });
      errorMode = errorModeOf(config.output.format);
      // Every file is scanned even when one cannot be read: a finding must never be hidden by an error.
      const results: ScanOutcome[] = [];
      for (const p of inputs) {
        try {
          results.push(await scanFile(p));
        } catch (e) {
          if (!isDiffaiError(e)) throw e;
          results.push({ path: p, error: { code: (e as DiffaiError).code, message: (e as DiffaiError).message } });
        }
      }
      const format = config.output.format;
      if (!config.output.quiet) {
        io.stdout(format === 'json' ? formatScanJson(results) : format === 'yaml' ? formatScanYaml(results) : formatScanCli(results, useColor(config, io)));
      }
      // In CLI format, errors go to stderr like any other error; JSON/YAML carry them in `scans`.
      if (format === 'cli') for (const r of results) if ('error' in r) io.stderr(`${r.error.code}: ${escapeControl(r.error.message)}\n`);
      if (results.some((r) => 'error' in r)) return EXIT.error;
      return results.every((r) => 'safe' in r && r.safe) ? EXIT.same : EXIT.different;
    }
    if (inputs.length < 2) {
      throw new DiffaiError('ERR_USAGE', `need at least 2 model files to compare, got ${inputs.length} (try diffai --help)`);
    }
    const { config } = loadConfig({ configPath: opts.config as string | undefined, flags: flagOverrides(opts), env: io.env, cwd: io.cwd });
    errorMode = errorModeOf(config.output.format);
    let ignoreKeysRegex: RegExp | undefined;
    if (opts.ignoreKeysRegex !== undefined) {
      try {
        ignoreKeysRegex = new RegExp(opts.ignoreKeysRegex as string);
      } catch (cause) {
        throw new DiffaiError('ERR_USAGE', `--ignore-keys-regex: invalid regular expression: ${(cause as Error).message}`, { cause });
      }
    }
    const bar = io.progress && !config.output.quiet ? new ProgressBar(io.progress) : undefined;
    const compareOptions = { config, path: opts.path as string | undefined, ignoreKeysRegex, onProgress: bar?.update, signal: interrupt.signal };
    const unsubscribe = io.onInterrupt?.(() => interrupt.abort());
    const run = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        const result = await work();
        if (interrupt.signal.aborted) throw new DiffaiError('ERR_ABORTED', 'interrupted');
        return result;
      } finally {
        bar?.stop();
        unsubscribe?.();
      }
    };
    if (isDirectoryPair(inputs)) {
      const dirs = await run(() => compareDirectories(inputs[0], inputs[1], compareOptions));
      if (!config.output.quiet) {
        const format = config.output.format;
        const formatOptions = { verbose: config.output.verbose, brief: Boolean(opts.brief), color: useColor(config, io) };
        io.stdout(format === 'json' ? formatDirectoryJson(dirs) : format === 'yaml' ? formatDirectoryYaml(dirs) : formatDirectoryCli(dirs, formatOptions));
      }
      return directoryHasDifferences(dirs) ? EXIT.different : EXIT.same;
    }
    const report = await run(() => compare(inputs, compareOptions));
    const differs = report.run.pairs.some(hasDifferences) || hasDifferences(report.run.overall);
    if (!config.output.quiet) {
      switch (config.output.format) {
        case 'json':
          io.stdout(formatJson(report));
          break;
        case 'yaml':
          io.stdout(formatYaml(report));
          break;
        default:
          io.stdout(formatCli(report, { verbose: config.output.verbose, brief: Boolean(opts.brief), color: useColor(config, io) }));
      }
    }
    return differs ? EXIT.different : EXIT.same;
  } catch (e) {
    if (interrupt.signal.aborted && isDiffaiError(e) && (e as DiffaiError).code === 'ERR_ABORTED') {
      io.stderr('ERR_ABORTED: interrupted\n');
      return EXIT.interrupted;
    }
    return reportError(e, errorMode, io);
  }
}
