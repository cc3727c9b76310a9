/**
 * The Hugging Face `config.json` that sits beside model weights (model_type, num_attention_heads,
 * hidden_size, num_key_value_heads, tie_word_embeddings ...), read as metadata.
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A config.json larger than this is not a model config. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Result of {@link readHfConfig}: the parsed config, or why it could not be used. */
export type HfConfig = { readonly config: Record<string, unknown> } | { readonly error: string } | null;

/**
 * Reads `config.json` in `dir`. Never throws: a missing file gives null, a malformed one an `error`
 * (a broken sidecar must not stop a diff of the weights).
 */
export function readHfConfig(dir: string): HfConfig {
  const path = join(dir, 'config.json');
  try {
    const st = statSync(path);
    if (!st.isFile()) return null;
    if (st.size > MAX_CONFIG_BYTES) return { error: `${path} is ${st.size} bytes, too large for a model config` };
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { error: `${path} is not a JSON object` };
    return { config: parsed as Record<string, unknown> };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { error: `${path}: ${(e as Error).message}` };
  }
}
