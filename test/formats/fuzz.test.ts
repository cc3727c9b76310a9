/**
 * Fuzz-ish robustness: every parser, fed truncated and mutated copies of the fixtures, either opens the
 * file with descriptors that stay inside it, or throws a DiffaiError. Never another exception, a crash
 * or a hang.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDiffaiError } from '../../lib/errors.js';
import { byteLengthOf } from '../../lib/formats/dtype.js';
import { openGguf } from '../../lib/formats/gguf/ggufReader.js';
import { openMatlab } from '../../lib/formats/matlab/matlabReader.js';
import { openNumpy } from '../../lib/formats/numpy/numpyReader.js';
import { openOnnx } from '../../lib/formats/onnx/onnxReader.js';
import { openPytorch } from '../../lib/formats/pytorch/pytorchReader.js';
import { scanFile } from '../../lib/formats/pytorch/scanFile.js';
import type { ModelFile } from '../../lib/formats/TensorDescriptor.js';
import { fixture } from './helpers.js';
import { memMapper } from './memFile.js';

type Opener = (path: string, bytes: Uint8Array) => Promise<ModelFile>;
const opt = { maxInflatedBytes: 8 * 1024 * 1024 };
const CASES: [string, Opener][] = [
  ['torch_zip.pt', (p, b) => openPytorch(p, opt, memMapper(b))],
  ['torch_legacy.pth', (p, b) => openPytorch(p, opt, memMapper(b))],
  ['torch_checkpoint.pt', (p, b) => openPytorch(p, opt, memMapper(b))],
  ['torch_quantized.pt', (p, b) => openPytorch(p, opt, memMapper(b))],
  ['torch_deflated.pt', (p, b) => openPytorch(p, opt, memMapper(b))],
  ['npy_fortran_be.npy', (p, b) => openNumpy(p, opt, memMapper(b))],
  ['npz_stored.npz', (p, b) => openNumpy(p, opt, memMapper(b))],
  ['npz_deflated.npz', (p, b) => openNumpy(p, opt, memMapper(b))],
  ['mat_v5.mat', (p, b) => openMatlab(p, opt, memMapper(b))],
  ['mat_v5_compressed.mat', (p, b) => openMatlab(p, opt, memMapper(b))],
  ['gguf_v3.gguf', (p, b) => openGguf(p, opt, memMapper(b))],
  ['onnx_model.onnx', (p, b) => openOnnx(p, opt, memMapper(b))],
];

/** xorshift32: a fixed seed keeps failures reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function check(open: Opener, name: string, bytes: Uint8Array, what: string): Promise<void> {
  let m: ModelFile;
  try {
    m = await open(name, bytes);
  } catch (e) {
    if (!isDiffaiError(e)) throw new Error(`${name} ${what}: threw a non-DiffaiError: ${(e as Error)?.stack ?? String(e)}`);
    return;
  }
  for (const t of m.tensors) {
    expect(t.count, `${name} ${what}: ${t.name}`).toBe(t.shape.reduce((a, b) => a * b, 1));
    const len = byteLengthOf(t.dtype, t.count);
    if (t.source.kind === 'mapped') {
      expect(t.source.byteLength, `${name} ${what}: ${t.name}`).toBe(len);
      expect(t.source.offset + t.source.byteLength, `${name} ${what}: ${t.name}`).toBeLessThanOrEqual(t.source.file.size);
      expect(t.source.offset).toBeGreaterThanOrEqual(0);
    } else {
      expect(t.source.data.length, `${name} ${what}: ${t.name}`).toBe(len);
    }
  }
  m.close();
}

describe('fuzz: truncations and mutations give a DiffaiError or a consistent model', () => {
  it.each(CASES)('%s', async (name, open) => {
    const original = new Uint8Array(readFileSync(fixture(name)));
    const random = rng(0x9e3779b9 ^ original.length);
    // Truncation at ~150 offsets spread over the file (every offset of the first 64 bytes).
    const cuts = new Set<number>();
    for (let i = 0; i < Math.min(64, original.length); i++) cuts.add(i);
    for (let i = 0; i < 90; i++) cuts.add(Math.floor(random() * original.length));
    for (const cut of cuts) await check(open, name, original.subarray(0, cut), `truncated at ${cut}`);
    // 300 mutations: one to four bytes changed to random, 0x00, 0xff or 0x7f values.
    for (let i = 0; i < 300; i++) {
      const b = original.slice();
      const n = 1 + Math.floor(random() * 4);
      const at: number[] = [];
      for (let k = 0; k < n; k++) {
        const p = Math.floor(random() * b.length);
        const v = [Math.floor(random() * 256), 0, 0xff, 0x7f][Math.floor(random() * 4)];
        b[p] = v;
        at.push(p);
      }
      await check(open, name, b, `mutated at ${at.join(',')}`);
    }
  });

  it('scanFile never throws on mutated malicious pickles except with a DiffaiError', async () => {
    const original = new Uint8Array(readFileSync(fixture('malicious/zip_nested.pt')));
    const random = rng(7);
    for (let i = 0; i < 200; i++) {
      const b = original.slice();
      b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      try {
        await scanFile('fuzz.pt', memMapper(b));
      } catch (e) {
        if (!isDiffaiError(e)) throw e;
      }
    }
  });
});
