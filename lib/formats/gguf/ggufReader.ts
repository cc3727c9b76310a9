/**
 * The GGUF reader (llama.cpp / ggml model files, versions 2 and 3).
 *
 * F32, F16, BF16, F64 and integer tensors, and Q8_0 blocks, are mapped in place: Q8_0 keeps its real
 * size (34 bytes per 32 weights) and the native kernels dequantize it while computing statistics.
 * Other block-quantized types (Q4_0, K-quants ...) are refused with a message naming the type.
 * ggml lists dimensions fastest-first; descriptors use the row-major order of every other format, so
 * a GGUF `[64, 86]` token embedding is `[86, 64]` here, as in the PyTorch model it came from.
 * Metadata key-values are `metadata.gguf.kv`; the usual hyperparameters are also given Hugging Face
 * names under `metadata.config` (see docs/formats.md).
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import { byteLengthOf, type DType } from '../dtype.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor } from '../TensorDescriptor.js';
import { mapFile as defaultMapFile, type FileMapper } from '../numpy/mapFile.js';
import { GGML_TYPES, looksLikeGguf, parseGgufHeader } from './ggufHeader.js';

const DTYPE_OF: Readonly<Record<number, DType>> = { 0: 'F32', 1: 'F16', 8: 'Q8_0', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64', 30: 'BF16' };

/** Hugging Face config names for GGUF hyperparameters (`<arch>.<key>`). */
const CONFIG_KEYS: Readonly<Record<string, string>> = {
  'attention.head_count': 'num_attention_heads',
  'attention.head_count_kv': 'num_key_value_heads',
  embedding_length: 'hidden_size',
  block_count: 'num_hidden_layers',
  feed_forward_length: 'intermediate_size',
  context_length: 'max_position_embeddings',
  'attention.key_length': 'head_dim',
  'attention.layer_norm_epsilon': 'layer_norm_eps',
  'attention.layer_norm_rms_epsilon': 'rms_norm_eps',
  'rope.freq_base': 'rope_theta',
  vocab_size: 'vocab_size',
};

function configFrom(kv: Record<string, unknown>): Record<string, unknown> {
  const arch = kv['general.architecture'];
  const config: Record<string, unknown> = {};
  if (typeof arch !== 'string') return config;
  config.model_type = arch;
  for (const [k, hf] of Object.entries(CONFIG_KEYS)) {
    const v = kv[`${arch}.${k}`];
    if (v !== undefined) config[hf] = v;
  }
  return config;
}

/**
 * Opens a GGUF file.
 * @throws DiffaiError `ERR_GGUF` (malformed header, a tensor past the end of the file or overlapping
 *   another, an unsupported quantization type).
 */
export async function openGguf(path: string, _options: ReadOptions = {}, mapFile: FileMapper = defaultMapFile): Promise<ModelFile> {
  const file = await mapFile(path);
  try {
    const fail = (m: string): DiffaiError => new DiffaiError('ERR_GGUF', `${path}: ${m}`, { file: path });
    const h = parseGgufHeader(file, path);
    const tensors: TensorDescriptor[] = [];
    const ranges: [number, number, string][] = [];
    const names = new Set<string>();
    for (const t of h.tensors) {
      const type = GGML_TYPES[t.type];
      const dtype = DTYPE_OF[t.type];
      if (!type) throw fail(`tensor ${t.name} has unknown ggml type ${t.type}`);
      if (!dtype) throw fail(`tensor ${t.name} is ${type.name}, a quantization diffai does not read yet (supported: F32, F16, BF16, F64, I8-I64, Q8_0)`);
      if (names.has(t.name)) throw fail(`two tensors are named ${t.name}`);
      names.add(t.name);
      let count = 1;
      for (const d of t.dims) count *= d;
      if (!Number.isSafeInteger(count)) throw fail(`tensor ${t.name} shape overflows`);
      if (type.blockElements > 1 && (t.dims[0] ?? 1) % type.blockElements !== 0) throw fail(`tensor ${t.name}: rows of ${t.dims[0]} elements are not whole ${type.name} blocks of ${type.blockElements}`);
      const byteLength = byteLengthOf(dtype, count);
      if (t.offset % h.alignment !== 0) throw fail(`tensor ${t.name} offset ${t.offset} is not a multiple of the alignment ${h.alignment}`);
      const start = h.dataStart + t.offset;
      if (start + byteLength > file.size) throw fail(`tensor ${t.name} data [${start}, ${start + byteLength}) runs past the end of the file (${file.size} bytes)`);
      ranges.push([start, start + byteLength, t.name]);
      tensors.push({ name: t.name, dtype, shape: [...t.dims].reverse(), count, source: { kind: 'mapped', file, offset: start, byteLength } });
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i][0] < ranges[i - 1][1] && ranges[i][1] > ranges[i][0]) throw fail(`tensors ${ranges[i - 1][2]} and ${ranges[i][2]} overlap`);
    }
    const config = configFrom(h.kv);
    return {
      path,
      format: 'gguf',
      tensors,
      metadata: { gguf: { version: h.version, alignment: h.alignment, kv: h.kv }, ...(Object.keys(config).length > 0 ? { config } : {}) },
      // llama.cpp converters write tensors in module order (token embedding, blocks 0..n, output).
      orderIsDepth: true,
      bytes: file.size,
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The GGUF {@link ModelReader}. */
export const ggufReader: ModelReader = {
  format: 'gguf',
  detect: (path, head, isDirectory) => !isDirectory && (path.toLowerCase().endsWith('.gguf') || looksLikeGguf(head)),
  open: (path, options) => openGguf(path, options),
};
