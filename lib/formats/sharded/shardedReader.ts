/**
 * Sharded models: a `*.safetensors.index.json` / `pytorch_model.bin.index.json` (Hugging Face's
 * `weight_map` from tensor name to shard file), or a directory holding such an index, shards named
 * `<stem>-NNNNN-of-NNNNN.safetensors`, or a single `.safetensors` / `.bin` weights file. The shards are
 * opened with their own readers and presented as one model; a `config.json` in the directory is
 * `metadata.config`.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { DiffaiError } from '../../errors.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor } from '../TensorDescriptor.js';
import { attachHfConfig } from './withHfConfig.js';

const SHARD_PATTERN = /^(.*)-(\d+)-of-(\d+)\.(safetensors|bin)$/;
const INDEX_PATTERN = /\.(safetensors|bin)\.index\.json$/;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** Opens one shard file; the default dispatches on the extension to the safetensors or PyTorch reader. */
export type ShardOpener = (path: string, options: ReadOptions) => Promise<ModelFile>;

async function defaultOpenShard(path: string, options: ReadOptions): Promise<ModelFile> {
  if (path.endsWith('.safetensors')) {
    const { openSafetensors } = await import('../safetensors/safetensorsReader.js');
    return openSafetensors(path);
  }
  const { openPytorch } = await import('../pytorch/pytorchReader.js');
  return openPytorch(path, options);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** What a directory holds, if it is one model: an index file, a full set of shards, or one weights file. */
export function findShardLayout(dir: string): { index: string } | { shards: string[] } | null {
  const files = listDir(dir);
  const indexes = files.filter((f) => INDEX_PATTERN.test(f));
  if (indexes.length > 0) {
    // Prefer safetensors when both are present (transformers does).
    const st = indexes.find((f) => f.endsWith('.safetensors.index.json'));
    return { index: join(dir, st ?? indexes[0]) };
  }
  const shards = files.filter((f) => SHARD_PATTERN.test(f));
  if (shards.length > 0) {
    const m = SHARD_PATTERN.exec(shards[0])!;
    const total = Number(m[3]);
    const same = shards.filter((f) => {
      const n = SHARD_PATTERN.exec(f)!;
      return n[1] === m[1] && n[4] === m[4] && Number(n[3]) === total;
    });
    if (same.length === shards.length) return { shards: same.map((f) => join(dir, f)) };
    return null;
  }
  const weights = files.filter((f) => /\.safetensors$/.test(f));
  if (weights.length === 1 && !files.some((f) => /\.(pt|pth|bin|ckpt|gguf|onnx|npz|npy|mat)$/.test(f)) && !hasSubdirectory(dir, files)) {
    return { shards: [join(dir, weights[0])] };
  }
  return null;
}

/**
 * True when the directory has a subdirectory: then a lone weights file is not the whole story (a
 * `ckpt/` or `checkpoints/` folder beside it), and the directory is compared file by file instead.
 */
function hasSubdirectory(dir: string, files: readonly string[]): boolean {
  return files.some((f) => {
    try {
      return statSync(join(dir, f)).isDirectory();
    } catch {
      return false;
    }
  });
}

/**
 * Opens a sharded model from an index file or a directory.
 *
 * @param openShard - opens one shard (tests pass an fs-backed opener).
 * @throws DiffaiError `ERR_FORMAT` (an unreadable index, a shard outside the model directory, a tensor
 *   listed in the index but missing from its shard, or present in two shards), or a shard reader's code.
 */
export async function openSharded(path: string, options: ReadOptions = {}, openShard: ShardOpener = defaultOpenShard): Promise<ModelFile> {
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_FORMAT', `${path}: ${m}`, { file: path });
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new DiffaiError('ERR_FILE_NOT_FOUND', `${path}: no such file or directory`, { file: path, cause: e });
  }
  const layout = isDir ? findShardLayout(path) : { index: path };
  if (layout === null) throw fail(`a directory without a model index, a full set of shards or a single weights file`);
  const dir = isDir ? path : dirname(path);
  let shardFiles: string[];
  let weightMap: Map<string, string> | null = null;
  const metadata: Record<string, unknown> = {};
  if ('index' in layout) {
    let index: { weight_map?: unknown; metadata?: unknown };
    try {
      const st = statSync(layout.index);
      if (st.size > MAX_INDEX_BYTES) throw new Error(`${st.size} bytes`);
      index = JSON.parse(readFileSync(layout.index, 'utf8')) as typeof index;
    } catch (e) {
      throw fail(`cannot read the index ${basename(layout.index)}: ${(e as Error).message}`);
    }
    const wm = index.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm) || Object.values(wm).some((v) => typeof v !== 'string')) throw fail(`index ${basename(layout.index)} has no weight_map of tensor name -> shard file`);
    weightMap = new Map(Object.entries(wm as Record<string, string>));
    const base = resolve(dir);
    shardFiles = [...new Set(weightMap.values())].map((f) => {
      const p = resolve(dir, f);
      if (!p.startsWith(base + sep)) throw fail(`shard ${JSON.stringify(f)} is outside the model directory`);
      return p;
    });
    if (typeof index.metadata === 'object' && index.metadata !== null) metadata.index = index.metadata;
  } else {
    shardFiles = layout.shards;
  }
  const opened: ModelFile[] = [];
  const closeAll = (): void => {
    for (const m of opened) m.close();
  };
  try {
    const tensors: TensorDescriptor[] = [];
    const where = new Map<string, string>();
    for (const f of shardFiles) {
      const m = await openShard(f, options);
      opened.push(m);
      const rel = basename(f);
      for (const t of m.tensors) {
        const prev = where.get(t.name);
        if (prev !== undefined) throw fail(`tensor ${t.name} is in two shards (${prev} and ${rel})`);
        if (weightMap && weightMap.get(t.name) !== undefined && resolve(dir, weightMap.get(t.name)!) !== resolve(f)) {
          throw fail(`tensor ${t.name} is in ${rel} but the index puts it in ${weightMap.get(t.name)}`);
        }
        where.set(t.name, rel);
        tensors.push(t);
      }
    }
    if (weightMap) {
      for (const [name, shard] of weightMap) if (!where.has(name)) throw fail(`tensor ${name} is listed in the index (shard ${shard}) but not found in that shard`);
    }
    const shardMeta = opened.map((m) => m.metadata);
    const first = opened[0];
    const model: ModelFile = {
      path,
      format: first?.format ?? 'safetensors',
      tensors,
      metadata: { ...(shardMeta[0] ?? {}), ...metadata, shards: shardFiles.map((f) => basename(f)) },
      orderIsDepth: opened.length > 0 && opened.every((m) => m.orderIsDepth),
      bytes: opened.reduce((s, m) => s + m.bytes, 0),
      close: closeAll,
    };
    return attachHfConfig(model, dir);
  } catch (e) {
    closeAll();
    throw e;
  }
}

/** The sharded-model {@link ModelReader}: index files and model directories. */
export const shardedReader: ModelReader = {
  format: 'safetensors',
  detect: (path, _head, isDirectory) => (isDirectory ? findShardLayout(path) !== null : INDEX_PATTERN.test(basename(path))),
  open: (path, options) => openSharded(path, options),
};
