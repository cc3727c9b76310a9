/**
 * The registered format readers, tried in order by `openModel`. A new format adds its reader here.
 *
 * @module
 */
import type { ModelReader } from './ModelReader.js';
import { safetensorsReader } from './safetensors/safetensorsReader.js';

/** Readers in detection order (most specific first). */
export const READERS: readonly ModelReader[] = [safetensorsReader];
