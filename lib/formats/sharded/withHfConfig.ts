/**
 * Wraps a {@link ModelReader} so that the models it opens carry the `config.json` found beside them
 * as `metadata.config` (or `metadata.config_error` when it cannot be parsed). A `config` the format
 * itself provides (GGUF hyperparameters) is kept and the file's keys are merged over it.
 *
 * @module
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ModelReader } from '../ModelReader.js';
import type { ModelFile } from '../TensorDescriptor.js';
import { readHfConfig } from './readHfConfig.js';

/** Adds the sidecar config of `dir` to a model's metadata. */
export function attachHfConfig(model: ModelFile, dir: string): ModelFile {
  const found = readHfConfig(dir);
  if (found === null) return model;
  const metadata: Record<string, unknown> = { ...model.metadata };
  if ('config' in found) {
    const own = typeof metadata.config === 'object' && metadata.config !== null ? (metadata.config as Record<string, unknown>) : {};
    metadata.config = { ...own, ...found.config };
  } else {
    metadata.config_error = found.error;
  }
  return { ...model, metadata, close: () => model.close() };
}

/** A reader that attaches the `config.json` beside the file (or inside the directory) it opens. */
export function withHfConfig(reader: ModelReader): ModelReader {
  return {
    format: reader.format,
    detect: (path, head, isDirectory) => reader.detect(path, head, isDirectory),
    async open(path, options) {
      const model = await reader.open(path, options);
      if (model.metadata.config !== undefined && model.format !== 'gguf') return model;
      let dir = dirname(path);
      try {
        if (statSync(path).isDirectory()) dir = path;
      } catch {
        // the reader opened it, so it exists; a race leaves the parent directory, which is harmless
      }
      return attachHfConfig(model, dir);
    },
  };
}
