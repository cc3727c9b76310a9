/** Paths used by tests, computed from this file's location (never absolute machine paths). */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared real models beside the checkout (../shared/models); CI provides them too. */
export const MODELS = resolve(REPO_ROOT, '../shared/models');

/** A path under the shared models; throws when it is missing so a real-model test can never pass vacuously. */
export function model(rel: string): string {
  const p = resolve(MODELS, rel);
  if (!existsSync(p)) throw new Error(`real model ${rel} not found under ${MODELS}`);
  return p;
}

/** The compiled CLI entry (built by `npm run build:ts`, which `npm install` runs). */
export const BIN = resolve(REPO_ROOT, 'bin/diffai.js');
