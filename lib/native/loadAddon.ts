/**
 * Loads the native addon (`build/Release/diffai.node` or a matching prebuild) through node-gyp-build,
 * registers {@link DiffaiError} as the class native errors are built from, and hands out one typed
 * {@link RawAddon} per process (per worker thread).
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DiffaiError } from '../errors.js';
import type { RawAddon } from './AddonTypes.js';

const require = createRequire(import.meta.url);

/** The node-gyp-build entry point (a CommonJS module without type declarations). */
interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

/** Exports every build of the addon must have; a build missing one is stale. */
const REQUIRED_EXPORTS = [
  'MappedFile',
  'setErrorClass',
  'createAbortHandle',
  'stats',
  'statsSync',
  'pair',
  'pairSync',
  'trajectory',
  'axisNorms',
  'matmul',
  'matmulSync',
  'gram',
  'gramSync',
  'readProbe',
  'dequantPair',
  'histogram',
  'convertToF32',
  'simdLevel',
  'simdLevels',
  'setSimdLevel',
  'threadCount',
] as const;

/**
 * The package root: the nearest ancestor of this module holding diffai's package.json. The same from
 * `lib/native/` (sources under vitest) and `dist/native/` (the published build).
 */
function packageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; ) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'diffai') return dir;
      } catch {
        // An unreadable package.json is not ours; keep looking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(here, '..', '..');
    dir = parent;
  }
}

/** The places node-gyp-build looks in, for the error message. */
function searchedPlaces(root: string): string[] {
  const places = [
    path.join(root, 'build', 'Release'),
    path.join(root, 'build', 'Debug'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`),
  ];
  const override = process.env.DIFFAI_PREBUILD;
  if (override) places.unshift(`${override} (DIFFAI_PREBUILD)`);
  return places;
}

function loadError(root: string, what: string, cause: unknown): DiffaiError {
  const causeText = cause instanceof Error ? cause.message.trim() : String(cause);
  const message =
    `${what} (platform ${process.platform}, arch ${process.arch}, Node-API ${process.versions.napi}, ` +
    `node ABI ${process.versions.modules}, Node.js ${process.versions.node}). ` +
    `Looked in: ${searchedPlaces(root).join(', ')}. ` +
    'Build it with `npm run build:native` (needs a C++17 compiler and Python), or install a diffai ' +
    `package that ships a prebuild for this platform. Cause: ${causeText}`;
  return new DiffaiError('ERR_NATIVE_LOAD', message, { cause });
}

/**
 * Loads the addon from a package root (default: this package) without caching. Most callers want
 * {@link addon}.
 *
 * @param root - Directory holding `build/` or `prebuilds/`.
 * @returns The raw addon, with {@link DiffaiError} registered as its error class.
 * @throws DiffaiError ERR_NATIVE_LOAD when no build matches this platform, the build fails to load
 *   (wrong libc, missing symbols) or it lacks an export of the current contract (a stale build). The
 *   message names the platform, arch, Node-API version, node ABI and the places searched; `cause`
 *   holds the loader's error.
 */
export function loadAddon(root: string = packageRoot()): RawAddon {
  const gypBuild = require('node-gyp-build') as NodeGypBuild;
  let file: string;
  try {
    file = gypBuild.resolve(root);
  } catch (cause) {
    throw loadError(root, 'No build of the diffai native addon matches this platform', cause);
  }
  let mod: unknown;
  try {
    mod = require(file);
  } catch (cause) {
    throw loadError(root, `The diffai native addon at ${file} failed to load`, cause);
  }
  const missing = REQUIRED_EXPORTS.filter((k) => typeof (mod as Record<string, unknown>)[k] !== 'function');
  if (missing.length > 0) {
    throw loadError(
      root,
      `The diffai native addon at ${file} is stale`,
      new Error(`missing exports: ${missing.join(', ')}; rebuild it with \`npm run build:native\``),
    );
  }
  const raw = mod as RawAddon;
  // The addon passes only codes of lib/errors.ts (native/core/status.cc), so DiffaiError's narrower
  // `code: ErrorCode` parameter is safe here.
  raw.setErrorClass(DiffaiError as unknown as Parameters<RawAddon['setErrorClass']>[0]);
  return raw;
}

let instance: RawAddon | undefined;

/**
 * The process-wide addon instance, loaded on first use.
 *
 * @returns The raw addon (see {@link RawAddon}); its errors are {@link DiffaiError}s with a `code`.
 * @throws DiffaiError ERR_NATIVE_LOAD when the addon cannot be loaded (see {@link loadAddon}).
 */
export function addon(): RawAddon {
  instance ??= loadAddon();
  return instance;
}
