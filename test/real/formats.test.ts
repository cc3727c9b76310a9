/**
 * Every reader on the shared real models (../shared/models): each format agrees with its safetensors
 * twin. Diffs go through the real diff engine and the native addon (openModel -> READERS).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffFiles } from '../../lib/diff/diffModels.js';
import type { DiffRun } from '../../lib/diff/ModelDiff.js';
import { openModel } from '../../lib/formats/openModel.js';
import { matlabVariableName, sameShapeIgnoringSingletons } from '../../lib/formats/matlab/matlabNames.js';
import { scanFile } from '../../lib/formats/pytorch/scanFile.js';
import type { ModelFile, TensorDescriptor } from '../../lib/formats/TensorDescriptor.js';
import { model, REPO_ROOT } from '../helpers/paths.js';
import { decode, meta } from '../formats/helpers.js';
import { makeZip } from '../formats/zipWriter.js';
import { runCli } from '../helpers/runCli.js';

function bytesOf(t: TensorDescriptor): Buffer {
  return Buffer.from(t.source.kind === 'memory' ? t.source.data : t.source.file.read(t.source.offset, t.source.byteLength));
}

async function diff(a: string, b: string): Promise<DiffRun['pairs'][number]> {
  const run = await diffFiles([model(a), model(b)]);
  return run.pairs[0];
}

function expectNoDifferences(p: DiffRun['pairs'][number]): void {
  const s = p.summary;
  expect({ added: s.added, removed: s.removed, changed: s.changed, shape: s.shape_changed, dtype: s.dtype_changed }).toEqual({ added: 0, removed: 0, changed: 0, shape: 0, dtype: 0 });
  expect(s.unchanged).toBeGreaterThan(0);
}

async function withModel<T>(rel: string, fn: (m: ModelFile) => T | Promise<T>): Promise<T> {
  const m = await openModel(model(rel));
  try {
    return await fn(m);
  } finally {
    m.close();
  }
}

describe('cross-format: no differences against the safetensors twin', () => {
  it.each([
    ['npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.pt'],
    ['npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.npz'],
    ['npm/wakeword_namaste_deepa.safetensors', 'npm-other/wakeword_namaste_deepa.pt'],
    ['trained/mlp_ep4.pt', 'trained/mlp_ep4.safetensors'],
    ['trained/cnn_ep3.pt', 'trained/cnn_ep3.safetensors'],
    ['trained/cnn_ep3_legacy.pth', 'trained/cnn_ep3.safetensors'],
    ['trained/mlp_final_fp16.pt', 'trained/mlp_final_fp16.safetensors'],
    ['trained/gpt_final_fp16.pt', 'trained/gpt_final_fp16.safetensors'],
    ['gguf/gpt_step600.f32.gguf', 'trained/gpt_step600.safetensors'],
    ['trained/numpy/mlp_ep4.npz', 'trained/mlp_ep4.safetensors'],
    ['trained/numpy/mlp_ep1.npz', 'trained/mlp_ep1.safetensors'],
    ['trained/numpy/cnn_ep3.npz', 'trained/cnn_ep3.safetensors'],
    ['trained/numpy/cnn_final_compressed.npz', 'trained/cnn_ep3.safetensors'],
    ['trained/numpy/gpt_final.npz', 'trained/gpt_step600.safetensors'],
  ])('%s = %s', async (a, b) => {
    expectNoDifferences(await diff(a, b));
  });

  it('the deflated npz is inflated in memory, the stored one is mapped', async () => {
    await withModel('trained/numpy/cnn_final_compressed.npz', (m) => expect(m.tensors.every((t) => t.source.kind === 'memory')).toBe(true));
    await withModel('trained/numpy/cnn_ep3.npz', (m) => expect(m.tensors.every((t) => t.source.kind === 'mapped')).toBe(true));
  });

  it('gpt_step600.pt: no differences, lm_head.weight is a tied alias of tok_emb.weight', async () => {
    const p = await diff('trained/gpt_step600.pt', 'trained/gpt_step600.safetensors');
    expect(p.summary).toMatchObject({ added: 0, removed: 0, changed: 0, shape_changed: 0, dtype_changed: 0, tied_aliases: 1, unchanged: 28 });
    const lm = p.tensors.find((t) => t.name === 'lm_head.weight')!;
    expect(lm.aliasOf?.[0]).toBe('tok_emb.weight');
    // inputs[].params counts the alias once: 109696 elements in distinct storages (torch), as the safetensors copy
    const run = await diffFiles([model('trained/gpt_step600.pt'), model('trained/gpt_step600.safetensors')]);
    expect(run.inputs.map((i) => i.params)).toEqual([109696, 109696]);
  });

  it('GGUF F16 and Q8_0 against F32: dtype changes only, with small rel_l2', async () => {
    for (const [file, dtype, limit] of [['gguf/gpt_step600.f16.gguf', 'F16', 1e-3], ['gguf/gpt_step600.q8_0.gguf', 'Q8_0', 2e-2]] as const) {
      const p = await diff(file, 'trained/gpt_step600.safetensors');
      expect(p.summary).toMatchObject({ added: 0, removed: 0, changed: 0, shape_changed: 0, dtype_changed: 10 });
      for (const t of p.tensors.filter((x) => x.status === 'dtype_changed')) {
        expect(t.dtype).toEqual([dtype, 'F32']);
        expect(t.diff!.rel_l2).toBeGreaterThan(0);
        expect(t.diff!.rel_l2).toBeLessThan(limit);
      }
    }
    await withModel('gguf/gpt_step600.q8_0.gguf', (m) => {
      const t = m.tensors.find((x) => x.name === 'blocks.0.mlp.0.weight')!;
      expect(t.source.kind === 'mapped' && t.source.byteLength / t.count).toBeCloseTo(34 / 32, 12);
      expect((m.metadata.config as Record<string, unknown>).num_attention_heads).toBe(4);
    });
  });
});

describe('PyTorch checkpoints', () => {
  it('mlp_full_checkpoint.pt lists the model, the Adam moments and the hyperparameters', async () => {
    await withModel('trained/mlp_full_checkpoint.pt', (m) => {
      const names = m.tensors.map((t) => t.name);
      expect(names.slice(0, 6)).toEqual(['model.fc1.weight', 'model.fc1.bias', 'model.fc2.weight', 'model.fc2.bias', 'model.head.weight', 'model.head.bias']);
      for (let i = 0; i < 6; i++) for (const k of ['step', 'exp_avg', 'exp_avg_sq']) expect(names).toContain(`optimizer.state.${i}.${k}`);
      const md = meta(m);
      expect(md.checkpoint.epoch).toBe(4);
      expect(md.optimizer).toMatchObject({ type: 'adam', step: 376 });
      expect(md.optimizer.param_groups[0]).toMatchObject({ lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 });
      expect(m.orderIsDepth).toBe(true);
    });
    // The model part is the epoch-4 model, named under `model.`.
    await compareByName('trained/mlp_ep4.safetensors', 'trained/mlp_full_checkpoint.pt', (n) => `model.${n}`, false);
  });

  it('mlp_final_dynq_int8.pt: int8 weights with their scales and zero points', async () => {
    await withModel('trained/mlp_final_dynq_int8.pt', (m) => {
      const byName = new Map(m.tensors.map((t) => [t.name, t]));
      for (const layer of ['fc1', 'fc2', 'head']) {
        expect(byName.get(`${layer}.weight`)).toMatchObject({ dtype: 'I8', role: 'quantized' });
        expect(byName.get(`${layer}.weight.scale`)).toMatchObject({ dtype: 'F64', shape: [], role: 'quant_scale' });
        expect(byName.get(`${layer}.weight.zero_point`)).toMatchObject({ dtype: 'I64', role: 'quant_zero_point' });
        expect(byName.get(`${layer}.bias`)!.dtype).toBe('F32');
      }
      expect(byName.get('fc1.weight')!.shape).toEqual([128, 784]);
      const q = meta(m).quantization['fc1.weight'];
      expect(q.scheme).toBe('per_tensor_affine');
      expect(q.scale).toBeGreaterThan(0);
    });
    // Dequantized int8 weights are close to the float model they came from.
    const a = await openModel(model('trained/mlp_ep4.safetensors'));
    const b = await openModel(model('trained/mlp_final_dynq_int8.pt'));
    try {
      const w = b.tensors.find((t) => t.name === 'fc1.weight')!;
      const scale = meta(b).quantization['fc1.weight'].scale as unknown as number;
      const q = new Int8Array(bytesOf(w).buffer.slice(0));
      const f = new Float32Array(bytesOf(a.tensors.find((t) => t.name === 'fc1.weight')!).buffer.slice(0));
      let num = 0;
      let den = 0;
      for (let i = 0; i < f.length; i++) {
        num += (q[i] * scale - f[i]) ** 2;
        den += f[i] ** 2;
      }
      expect(Math.sqrt(num / den)).toBeLessThan(0.05);
    } finally {
      a.close();
      b.close();
    }
  });

  it('real torch files scan as safe', async () => {
    for (const rel of ['trained/mlp_full_checkpoint.pt', 'trained/cnn_ep3_legacy.pth', 'trained/mlp_final_dynq_int8.pt', 'npm-other/wakeword_hello_deepa_old.pt']) {
      const r = await scanFile(model(rel));
      expect(r, rel).toMatchObject({ safe: true });
    }
  });
});

describe('NumPy and MATLAB files against their safetensors twins', () => {
  it('.npy files hold the twin tensor (F16 as the rounded F32 values)', async () => {
    const st = await openModel(model('trained/mlp_ep4.safetensors'));
    const gpt = await openModel(model('trained/gpt_step600.safetensors'));
    try {
      const fc1 = bytesOf(st.tensors.find((t) => t.name === 'fc1.weight')!);
      await withModel('trained/numpy/mlp_ep4_fc1.weight.npy', (m) => expect(bytesOf(m.tensors[0]).equals(fc1)).toBe(true));
      await withModel('trained/numpy/gpt_tok_emb.weight.npy', (m) => expect(bytesOf(m.tensors[0]).equals(bytesOf(gpt.tensors.find((t) => t.name === 'tok_emb.weight')!))).toBe(true));
      const f32 = decode('F32', fc1);
      await withModel('trained/numpy/mlp_ep4_fc1.weight_f16.npy', (m) => {
        expect(m.tensors[0]).toMatchObject({ dtype: 'F16', shape: [128, 784] });
        const f16 = decode('F16', bytesOf(m.tensors[0]));
        // every F16 value is the F32 value rounded to half precision (relative error <= 2^-11)
        expect(f16.every((v, i) => Math.abs(v - f32[i]) <= Math.abs(f32[i]) * 2 ** -11 + 2 ** -24)).toBe(true);
      });
    } finally {
      st.close();
      gpt.close();
    }
  });

  it('wakeword .mat: names mapped back through tensor_names_json, values equal, shapes equal up to MATLAB singleton dims', async () => {
    // last_layer.bias [1] and last_layer.weight [1, 32] come back as [] and [32]: MATLAB cannot tell
    // [1, 32] from [32], so the matcher treats shapes equal up to singleton dims as equal.
    expectNoDifferences(await diff('npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.mat'));
    expectNoDifferences(await diff('npm-other/wakeword_namaste_deepa.mat', 'npm/wakeword_namaste_deepa.safetensors'));
    await compareByName('npm/wakeword_hello_deepa_old.safetensors', 'npm-other/wakeword_hello_deepa_old.mat', (n) => n);
  });

  const twins: Record<string, string> = { 'mlp_ep1.mat': 'mlp_ep1', 'mlp_ep4.mat': 'mlp_ep4', 'cnn_final.mat': 'cnn_ep3', 'gpt_final.mat': 'gpt_step600' };
  it.each(readdirSync(model('trained/matlab')).filter((f) => f.endsWith('.mat')))('trained/matlab/%s agrees with its safetensors twin', async (f) => {
    expect(twins[f], `twin of ${f}`).toBeDefined();
    await compareByName(`trained/${twins[f]}.safetensors`, `trained/matlab/${f}`, matlabVariableName);
    // Without tensor_names_json the diff matches `fc1_weight` to `fc1.weight` by the exporters' rule,
    // and shows the safetensors names.
    const p = await diff(`trained/${twins[f]}.safetensors`, `trained/matlab/${f}`);
    expectNoDifferences(p);
    expect(p.tensors.map((t) => t.name)).toContain(f.startsWith('gpt') ? 'tok_emb.weight' : f.startsWith('cnn') ? 'bn1.bias' : 'fc1.weight');
  });
});

/** Every tensor of the safetensors file is in the other file (under `rename(name)`) with equal dtype, shape up to singletons, and bytes. */
async function compareByName(safetensors: string, other: string, rename: (n: string) => string, sameCount = true): Promise<void> {
  const a = await openModel(model(safetensors));
  const b = await openModel(model(other));
  try {
    if (sameCount) expect(b.tensors.length).toBe(a.tensors.length);
    const byName = new Map(b.tensors.map((t) => [t.name, t]));
    for (const t of a.tensors) {
      const u = byName.get(rename(t.name));
      expect(u, `${basename(other)}: ${t.name}`).toBeDefined();
      expect(u!.dtype).toBe(t.dtype);
      expect(sameShapeIgnoringSingletons(t.shape, u!.shape), `${t.name} [${t.shape}] vs [${u!.shape}]`).toBe(true);
      expect(bytesOf(u!).equals(bytesOf(t)), `${basename(other)}: bytes of ${t.name}`).toBe(true);
    }
  } finally {
    a.close();
    b.close();
  }
}

describe('CLI on bad input: exit 2 with a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'diffai-bad-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const real = (rel: string) => new Uint8Array(readFileSync(model(rel)));
  const npyHeader = (h: string) => Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length + 1, 0]), Buffer.from(h + '\n')]);

  it.each([
    ['truncated.pt', () => real('trained/mlp_ep4.pt').subarray(0, 4000), 'ERR_ZIP'],
    ['truncated_legacy.pth', () => real('trained/cnn_ep3_legacy.pth').subarray(0, 300), 'ERR_PICKLE'],
    ['wrong_magic.npy', () => Buffer.from('NUMPY? no, just text that is long enough'), 'ERR_NPY'],
    ['lying_shape.npy', () => Buffer.concat([npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }"), Buffer.alloc(16)]), 'ERR_NPY'],
    ['bomb.npz', () => makeZip([{ name: 'w.npy', data: Buffer.concat([npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (16,), }"), Buffer.alloc(32 << 20)]), deflate: true, declaredSize: 200 }]), 'ERR_ZIP_BOMB'],
    ['truncated.gguf', () => real('gguf/gpt_step600.f32.gguf').subarray(0, 2000), 'ERR_GGUF'],
    ['wrong_magic.mat', () => Buffer.from('not a mat file'.padEnd(300, '.')), 'ERR_MAT'],
    ['truncated.mat', () => real('trained/matlab/mlp_ep4.mat').subarray(0, 5000), 'ERR_MAT'],
    ['not_protobuf.onnx', () => Buffer.from('this is not a protobuf message'), 'ERR_ONNX'],
    ['malicious.pt', () => new Uint8Array(readFileSync(resolve(REPO_ROOT, 'test/fixtures/formats/malicious/zip_global_reduce.pt'))), 'ERR_PICKLE_UNSAFE_GLOBAL'],
  ])('%s', (name, bytes, code) => {
    const bad = write(name, bytes());
    const r = runCli([bad, model('trained/mlp_ep4.safetensors')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${code}:`);
    expect(r.stderr).toContain(name);
    expect(r.stderr).not.toContain('ERR_INTERNAL');
  });
});

describe('openModel picks the right reader (fixtures, through the native mapping)', () => {
  const fx = (rel: string) => resolve(REPO_ROOT, 'test/fixtures/formats', rel);
  it.each([
    ['torch_zip.pt', 'pytorch', 11],
    ['torch_legacy.pth', 'pytorch', 11],
    ['npy_f32.npy', 'numpy', 1],
    ['npz_deflated.npz', 'numpy', 5],
    ['mat_v5.mat', 'matlab', 13],
    ['mat_v73.mat', 'matlab', 5],
    ['gguf_v3.gguf', 'gguf', 5],
    ['onnx_model.onnx', 'onnx', 8],
    ['onnx_external/model.onnx', 'onnx', 2],
    ['sharded', 'safetensors', 3],
    ['sharded/model.safetensors.index.json', 'safetensors', 3],
    ['sharded/model-00001-of-00002.safetensors', 'safetensors', 1],
  ])('%s -> %s', async (rel, format, count) => {
    const m = await openModel(fx(rel));
    try {
      expect(m.format).toBe(format);
      expect(m.tensors).toHaveLength(count);
      if (rel.startsWith('sharded')) expect(meta(m).config).toEqual({ model_type: 'tiny', num_attention_heads: 2, hidden_size: 4 });
    } finally {
      m.close();
    }
  });
  it('a sharded directory diffs as one model against its merged tensors', async () => {
    const run = await diffFiles([fx('sharded'), fx('sharded/model.safetensors.index.json')]);
    expectNoDifferences(run.pairs[0]);
  });
});
