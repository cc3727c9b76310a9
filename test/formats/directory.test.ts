import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairDirectories } from '../../lib/formats/directory/pairDirectories.js';
import { diffaiError } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'diffai-dirs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tree(root: string, files: string[]): string {
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

describe('pairDirectories', () => {
  it('pairs model files by relative path, recursively, and lists one-sided and ignored files', () => {
    const a = tree(join(tmp, 'a'), ['model.safetensors', 'sub/ckpt.pt', 'sub/deep/x.npz', 'old_only.gguf', 'README.md', 'config.json']);
    const b = tree(join(tmp, 'b'), ['model.safetensors', 'sub/ckpt.pt', 'sub/deep/x.npz', 'sub/new_only.onnx', 'config.json']);
    const r = pairDirectories(a, b);
    expect(r.pairs.map((p) => p.relative)).toEqual(['model.safetensors', 'sub/ckpt.pt', 'sub/deep/x.npz']);
    expect(r.pairs[1]).toEqual({ relative: 'sub/ckpt.pt', a: join(a, 'sub/ckpt.pt'), b: join(b, 'sub/ckpt.pt') });
    expect(r.onlyA).toEqual(['old_only.gguf']);
    expect(r.onlyB).toEqual(['sub/new_only.onnx']);
    expect(r.ignored).toEqual(['README.md', 'config.json']);
  });
  it('counts a .bin as a model only when it starts like a PyTorch file', () => {
    const a = tree(join(tmp, 'bins_a'), ['weights.bin']);
    const b = tree(join(tmp, 'bins_b'), ['weights.bin', 'pytorch_model.bin']);
    writeFileSync(join(b, 'pytorch_model.bin'), Buffer.from([0x50, 0x4b, 3, 4, 0, 0]));
    const r = pairDirectories(a, b);
    expect(r.onlyB).toEqual(['pytorch_model.bin']);
    expect(r.ignored).toEqual(['weights.bin']);
  });
  it('takes a custom file filter', () => {
    const r = pairDirectories(join(tmp, 'a'), join(tmp, 'b'), { isModelFile: (f) => f.endsWith('.json') });
    expect(r.pairs.map((p) => p.relative)).toEqual(['config.json']);
  });
  it('ERR_FILE_NOT_FOUND for a missing directory, ERR_USAGE past the file limit', async () => {
    expect((await diffaiError(() => pairDirectories(join(tmp, 'a'), join(tmp, 'nope')))).code).toBe('ERR_FILE_NOT_FOUND');
    expect((await diffaiError(() => pairDirectories(join(tmp, 'a'), join(tmp, 'b'), { maxFiles: 2 }))).code).toBe('ERR_USAGE');
  });
});
