/**
 * The registered format readers, tried in order by `openModel`. A new format adds its reader here.
 *
 * Every reader is wrapped by {@link withHfConfig}, so a Hugging Face `config.json` beside the weights
 * becomes `metadata.config` whatever the format.
 *
 * @module
 */
import type { ModelReader } from './ModelReader.js';
import { ggufReader } from './gguf/ggufReader.js';
import { matlabReader } from './matlab/matlabReader.js';
import { numpyReader } from './numpy/numpyReader.js';
import { onnxReader } from './onnx/onnxReader.js';
import { pytorchReader } from './pytorch/pytorchReader.js';
import { safetensorsReader } from './safetensors/safetensorsReader.js';
import { shardedReader } from './sharded/shardedReader.js';
import { withHfConfig } from './sharded/withHfConfig.js';

/**
 * Readers in detection order (most specific first): model directories and index files, then formats
 * recognised by content or extension. The PyTorch reader comes after those with magic numbers because
 * it also claims the generic `.bin` extension.
 */
export const READERS: readonly ModelReader[] = [shardedReader, safetensorsReader, ggufReader, numpyReader, matlabReader, onnxReader, pytorchReader].map(withHfConfig);
