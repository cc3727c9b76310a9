/**
 * `diffai dirA dirB`: the model files of two directories paired by relative path, each pair compared
 * as by {@link compare}, plus the files present on one side only.
 *
 * A directory that is itself one model (a sharded safetensors checkpoint with its index, or a single
 * weights file beside `config.json`) is not split into files: it is compared as one model.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { compare, selectAnalyses, type CompareOptions } from './compare.js';
import { DEFAULT_CONFIG } from './config/Config.js';
import { pairDirectories, type DirectoryPairs } from './formats/directory/pairDirectories.js';
import { findShardLayout } from './formats/sharded/shardedReader.js';
import type { Report } from './report/Report.js';

/** One compared pair of files. */
export interface DirectoryEntryReport {
  /** Path relative to both directories, with `/` separators. */
  relative: string;
  report: Report;
}

/** The result of {@link compareDirectories}. */
export interface DirectoryReport {
  a: string;
  b: string;
  files: DirectoryEntryReport[];
  /** Model files only under A / only under B, relative paths. */
  onlyA: string[];
  onlyB: string[];
  /** Other files (config.json, README ...), not compared. */
  ignored: string[];
}

/** True when both inputs are directories that should be compared file by file. */
export function isDirectoryPair(paths: readonly string[]): boolean {
  if (paths.length !== 2) return false;
  return paths.every((p) => {
    try {
      return statSync(p).isDirectory() && findShardLayout(p) === null;
    } catch {
      return false;
    }
  });
}

/**
 * Compares two directories file by file (recursively, by relative path).
 *
 * @throws DiffaiError as {@link pairDirectories} and {@link compare}; the first file that cannot be read
 *   stops the comparison with its error.
 */
export async function compareDirectories(dirA: string, dirB: string, options: CompareOptions = {}): Promise<DirectoryReport> {
  selectAnalyses(options.config ?? DEFAULT_CONFIG); // unavailable analyses fail before any file is read
  const paired: DirectoryPairs = pairDirectories(dirA, dirB);
  const files: DirectoryEntryReport[] = [];
  for (const p of paired.pairs) files.push({ relative: p.relative, report: await compare([p.a, p.b], options) });
  return { a: dirA, b: dirB, files, onlyA: paired.onlyA, onlyB: paired.onlyB, ignored: paired.ignored };
}
