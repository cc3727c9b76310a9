/**
 * Pairing the files of two directories by relative path, for `diffai dirA dirB`.
 *
 * @module
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DiffaiError } from '../../errors.js';

/** Extensions of files diffai can open; other files are listed as `ignored`. */
export const MODEL_EXTENSIONS = ['.safetensors', '.pt', '.pth', '.bin', '.ckpt', '.npy', '.npz', '.mat', '.gguf', '.onnx'];

/** Result of {@link pairDirectories}. Relative paths use `/` on every platform. */
export interface DirectoryPairs {
  /** Files present on both sides, sorted by relative path. */
  readonly pairs: { readonly relative: string; readonly a: string; readonly b: string }[];
  /** Model files only under A (removed in B). */
  readonly onlyA: string[];
  /** Model files only under B (added in B). */
  readonly onlyB: string[];
  /** Files on either side that are not model files (config.json, README ...), by relative path. */
  readonly ignored: string[];
}

/** Options of {@link pairDirectories}. */
export interface PairOptions {
  /** Which files take part (default: by {@link MODEL_EXTENSIONS}). */
  isModelFile?: (relativePath: string) => boolean;
  /** Most files listed per side (default 100,000): a guard against walking a whole disk. */
  maxFiles?: number;
}

/**
 * `.bin` is also the extension of ONNX external data and other raw blobs: such a file is a model only
 * when it starts like a PyTorch file (a zip archive or the legacy pickle magic).
 */
function binIsTorch(path: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    return n === 4 && ((head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) || (head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a));
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function walk(root: string, maxFiles: number): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      throw new DiffaiError('ERR_FILE_IO', `${dir}: cannot list directory (${(e as Error).message})`, { file: dir, cause: e });
    }
    for (const name of names) {
      const p = join(dir, name);
      const st = lstatSync(p);
      // Symbolic links to directories are not followed (no cycles); links to files are compared.
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile() || st.isSymbolicLink()) {
        out.push(relative(root, p).split(sep).join('/'));
        if (out.length > maxFiles) throw new DiffaiError('ERR_USAGE', `${root}: more than ${maxFiles} files; pass the model files or a narrower directory`, { file: root });
      }
    }
  }
  return out.sort();
}

/**
 * Pairs the model files under `dirA` and `dirB` by relative path, recursively.
 * @throws DiffaiError `ERR_FILE_NOT_FOUND` (not a directory), `ERR_FILE_IO`, `ERR_USAGE` (too many files).
 */
export function pairDirectories(dirA: string, dirB: string, options: PairOptions = {}): DirectoryPairs {
  for (const d of [dirA, dirB]) {
    let ok = false;
    try {
      ok = statSync(d).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new DiffaiError('ERR_FILE_NOT_FOUND', `${d}: not a directory`, { file: d });
  }
  const isModel =
    options.isModelFile ??
    ((rel: string) => {
      const lower = rel.toLowerCase();
      if (lower.endsWith('.bin')) return binIsTorch(join(dirA, rel)) || binIsTorch(join(dirB, rel));
      return MODEL_EXTENSIONS.some((e) => lower.endsWith(e));
    });
  const max = options.maxFiles ?? 100_000;
  const a = walk(dirA, max);
  const b = walk(dirB, max);
  const setB = new Set(b);
  const setA = new Set(a);
  const ignored = [...new Set([...a, ...b].filter((f) => !isModel(f)))].sort();
  const pairs = a.filter((f) => isModel(f) && setB.has(f)).map((f) => ({ relative: f, a: join(dirA, f), b: join(dirB, f) }));
  return {
    pairs,
    onlyA: a.filter((f) => isModel(f) && !setB.has(f)),
    onlyB: b.filter((f) => isModel(f) && !setA.has(f)),
    ignored,
  };
}
