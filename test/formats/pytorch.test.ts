import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openPytorch } from '../../lib/formats/pytorch/pytorchReader.js';
import { scanFile } from '../../lib/formats/pytorch/scanFile.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture, values, meta } from './helpers.js';
import { memMapper } from './memFile.js';
import { makeZip, pickleBytes, torchPickle } from './zipWriter.js';

const open = (name: string) => openPytorch(fixture(name), {}, fsMappedFile);
const markers = () => readdirSync('/tmp').filter((f) => f.startsWith('diffai_fixture_marker_'));

describe('PyTorch reader: known answers', () => {
  it.each(['torch_zip.pt', 'torch_legacy.pth', 'torch_archive_byteorder.pt', 'torch_bigendian.pt', 'torch_deflated.pt'])('%s', async (name) => {
    const m = await open(name);
    try {
      expectMatchesReference(m, name);
      expect(m.format).toBe('pytorch');
      expect(m.orderIsDepth).toBe(true);
      expect(m.tensors.map((t) => t.name).slice(0, 3)).toEqual(['fc.weight', 'fc.bias', 'emb.weight']);
    } finally {
      m.close();
    }
  });

  it('maps stored entries in place and converts big-endian and deflated storages into memory', async () => {
    const zip = await open('torch_zip.pt');
    const be = await open('torch_bigendian.pt');
    const df = await open('torch_deflated.pt');
    expect(zip.tensors.every((t) => t.source.kind === 'mapped')).toBe(true);
    expect(zip.metadata.pytorch).toEqual({ archive: 'zip', prefix: 'torch_zip', byteorder: 'little' });
    expect(be.metadata.pytorch).toEqual({ archive: 'zip', prefix: 'archive', byteorder: 'big' });
    expect(be.tensors.filter((t) => t.dtype !== 'I8' && t.dtype !== 'U8' && t.dtype !== 'BOOL').every((t) => t.source.kind === 'memory')).toBe(true);
    expect(df.tensors.every((t) => t.source.kind === 'memory')).toBe(true);
    for (const m of [zip, be, df]) m.close();
  });

  it('reads the legacy non-zip format with its storages mapped after the pickles', async () => {
    const m = await open('torch_legacy.pth');
    expect(m.metadata.pytorch).toEqual({ archive: 'legacy', byteorder: 'little' });
    expect(m.tensors.every((t) => t.source.kind === 'mapped')).toBe(true);
    m.close();
  });
});

describe('PyTorch reader: views and tied weights', () => {
  it('reports a second name of the same storage as an alias, gathers a transposed view, maps an offset slice', async () => {
    const m = await open('torch_views.pt');
    expectMatchesReference(m, 'torch_views.pt');
    const byName = new Map(m.tensors.map((t) => [t.name, t]));
    expect(byName.get('a.weight')!.aliasOf).toBeUndefined();
    expect(byName.get('b.weight')!.aliasOf).toBe('a.weight');
    expect(byName.get('t')!.source.kind).toBe('memory');
    expect(byName.get('t')!.shape).toEqual([4, 3]);
    const row = byName.get('row')!;
    expect(row.source.kind).toBe('mapped');
    expect(row.aliasOf).toBeUndefined();
    m.close();
  });
});

describe('PyTorch reader: full checkpoints', () => {
  it('names tensors by path and turns scalars, optimizer and scheduler state into metadata', async () => {
    const m = await open('torch_checkpoint.pt');
    expectMatchesReference(m, 'torch_checkpoint.pt');
    const names = m.tensors.map((t) => t.name);
    expect(names).toContain('model.0.weight');
    expect(names).toContain('optimizer.state.0.exp_avg');
    expect(names).toContain('optimizer.state.3.exp_avg_sq');
    expect(m.tensors.find((t) => t.name === 'optimizer.state.0.exp_avg')!.role).toBe('optimizer');
    expect(m.tensors.find((t) => t.name === 'model.0.weight')!.role).toBeUndefined();
    const md = meta(m);
    expect(md.checkpoint).toEqual({ epoch: 3, step: 42, args: { hidden: 3, lr: 0.01, name: 'tiny' }, best_acc: 0.875 });
    expect(md.optimizer.type).toBe('adam');
    expect(md.optimizer.path).toBe('optimizer');
    expect(md.optimizer.step).toBe(2);
    expect(md.optimizer.param_groups[0]).toMatchObject({ lr: 0.01, betas: [0.8, 0.99], weight_decay: 0.001, params: [0, 1, 2, 3] });
    expect(md.scheduler).toMatchObject({ step_size: 5, gamma: 0.5, last_epoch: 2, base_lrs: [0.01] });
    m.close();
  });

  it('reads quantized tensors as integer data with their scales and zero points', async () => {
    const m = await open('torch_quantized.pt');
    expectMatchesReference(m, 'torch_quantized.pt');
    const byName = new Map(m.tensors.map((t) => [t.name, t]));
    expect(byName.get('0.weight')!.role).toBe('quantized');
    expect(byName.get('0.weight.scale')!.role).toBe('quant_scale');
    expect(byName.get('0.weight.zero_point')!.role).toBe('quant_zero_point');
    expect(byName.get('0.bias')!.dtype).toBe('F32');
    expect(byName.get('per_channel.scale')!.shape).toEqual([3]);
    const q = meta(m).quantization;
    expect(q['0.weight']).toMatchObject({ scheme: 'per_tensor_affine', dtype: 'I8' });
    expect(q['per_channel']).toEqual({ scheme: 'per_channel_affine', dtype: 'I8', axis: 0 });
    expect(meta(m).checkpoint['0._packed_params.dtype']).toBe('torch.qint8');
    m.close();
  });
});

describe('PyTorch reader: malicious pickles are refused and nothing runs', () => {
  const cases: [string, string][] = [
    ['malicious/zip_global_reduce.pt', 'os.system'],
    ['malicious/zip_stack_global.pt', 'subprocess.Popen'],
    ['malicious/zip_protocol0.pt', 'os.system'],
    ['malicious/zip_build.pt', 'builtins.exec'],
    ['malicious/zip_nested.pt', 'os.system'],
    ['malicious/legacy.pth', 'os.system'],
  ];
  it.each(cases)('%s names %s', async (name, global) => {
    const before = markers();
    const e = await diffaiError(() => open(name));
    expect(e.code).toBe('ERR_PICKLE_UNSAFE_GLOBAL');
    expect(e.message).toContain(global);
    expect(e.message).toContain('nothing was executed');
    expect(markers()).toEqual(before);
    expect(existsSync('/tmp/diffai_fixture_marker_' + name.replace(/^malicious\/(zip_)?/, '').replace(/\.(pt|pth)$/, ''))).toBe(false);
  });

  it.each([
    ['global_reduce', ['os.system']],
    ['stack_global', ['subprocess.Popen']],
    ['protocol0', ['os.system']],
    ['inst', ['os.system']],
    ['builtins_exec', ['__builtin__.exec']],
    ['build', ['builtins.exec']],
    ['nested_bytes', ['torch.storage._load_from_bytes']],
    ['getattr_chain', ['builtins.getattr', 'builtins.__import__']],
  ])('scanFile lists the globals of %s.pkl without running it', async (name, globals) => {
    const r = await scanFile(fixture(`malicious/${name}.pkl`), fsMappedFile);
    expect(r.kind).toBe('pickle');
    expect(r.safe).toBe(false);
    expect(r.findings.map((f) => f.global)).toEqual(globals);
    expect(r.findings.every((f) => f.severity === 'dangerous')).toBe(true);
    expect(existsSync(`/tmp/diffai_fixture_marker_${name}`)).toBe(false);
  });

  it('scanFile finds a malicious pickle nested beside a benign data.pkl, and in a legacy file and an object .npy', async () => {
    const nested = await scanFile(fixture('malicious/zip_nested.pt'), fsMappedFile);
    expect(nested.findings).toEqual([expect.objectContaining({ where: 'torch_zip/extra.pkl', global: 'os.system', opcode: 'GLOBAL' })]);
    expect(nested.pickles).toContain('torch_zip/data.pkl');
    const legacy = await scanFile(fixture('malicious/legacy.pth'), fsMappedFile);
    expect(legacy.kind).toBe('pytorch-legacy');
    expect(legacy.findings.map((f) => f.global)).toEqual(['os.system']);
    const npy = await scanFile(fixture('malicious/object.npy'), fsMappedFile);
    expect(npy.kind).toBe('npy');
    expect(npy.findings.map((f) => f.global)).toEqual(['os.system']);
  });

  it('scanFile reports benign files as safe', async () => {
    for (const name of ['torch_zip.pt', 'torch_legacy.pth', 'torch_checkpoint.pt', 'torch_quantized.pt', 'npz_stored.npz', 'npy_f32.npy']) {
      const r = await scanFile(fixture(name), fsMappedFile);
      expect(r, name).toMatchObject({ safe: true, findings: [], errors: [] });
    }
  });

  it('refuses an extension-registry opcode (EXT1) as an unsafe global', async () => {
    const zip = makeZip([{ name: 'a/data.pkl', data: pickleBytes('\x80\x02\x82\x01)R.') }]);
    const e = await diffaiError(() => openPytorch('ext.pt', {}, memMapper(zip)));
    expect(e.code).toBe('ERR_PICKLE_UNSAFE_GLOBAL');
    expect(e.message).toContain('extension code 1');
  });
});

describe('PyTorch reader: bad input, one literal case per error', () => {
  const openBytes = (bytes: Uint8Array) => openPytorch('bad.pt', {}, memMapper(bytes));
  it.each([300, 100_000])('ERR_PICKLE: lists nested %i deep (no stack overflow)', async (n) => {
    const deep = pickleBytes('\x80\x02]', '(]'.repeat(n), 'e'.repeat(n), '.');
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'archive/data.pkl', data: deep }])));
    expect(e.code).toBe('ERR_PICKLE');
    expect(e.message).toBe('bad.pt: containers nested deeper than 256 levels; not a checkpoint diffai reads');
  });
  const storage = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);

  it('reads a hand-made archive (the literal builders are right)', async () => {
    const m = await openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }, { name: 'x/data/0', data: storage }]));
    expect(values(m.tensors[0])).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('ERR_FORMAT: neither zip nor legacy pickle', async () => {
    expect((await diffaiError(() => openBytes(new TextEncoder().encode('not a checkpoint at all')))).code).toBe('ERR_FORMAT');
  });
  it('ERR_ZIP: a local header and nothing else (no central directory)', async () => {
    const e = await diffaiError(() => openBytes(new Uint8Array([0x50, 0x4b, 3, 4, ...new Array(40).fill(0)])));
    expect(e.code).toBe('ERR_ZIP');
    expect(e.message).toContain('bad.pt');
  });
  it('ERR_ZIP: truncated archive', async () => {
    const z = makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }, { name: 'x/data/0', data: storage }]);
    expect((await diffaiError(() => openBytes(z.subarray(0, z.length - 30)))).code).toBe('ERR_ZIP');
  });
  it('ERR_PICKLE: archive without data.pkl', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/other', data: 'x' }])));
    expect(e).toMatchObject({ code: 'ERR_PICKLE' });
    expect(e.message).toContain('data.pkl');
  });
  it('ERR_PICKLE: truncated pickle', async () => {
    const p = torchPickle([2, 3]);
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: p.subarray(0, p.length - 5) }, { name: 'x/data/0', data: storage }])));
    expect(e.code).toBe('ERR_PICKLE');
  });
  it('ERR_PICKLE: storage entry missing', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }])));
    expect(e.code).toBe('ERR_PICKLE');
    expect(e.message).toContain('x/data/0');
  });
  it('ERR_PICKLE: storage shorter than its declared element count (lying size)', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3], '0', 100) }, { name: 'x/data/0', data: storage }])));
    expect(e.code).toBe('ERR_PICKLE');
    expect(e.message).toMatch(/100 F32 elements/);
  });
  it('ERR_PICKLE: a view past the end of its storage', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3], '0', 6, 4) }, { name: 'x/data/0', data: storage }])));
    expect(e.code).toBe('ERR_PICKLE');
    expect(e.message).toContain('needs element 9');
  });
  it('ERR_ZIP_BOMB: a deflated storage inflating past its declared size', async () => {
    const big = new Uint8Array(1 << 20);
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }, { name: 'x/data/0', data: big, deflate: true, declaredSize: 24 }])));
    expect(e.code).toBe('ERR_ZIP_BOMB');
  });
  it('ERR_ZIP_BOMB: a declared size over the memory limit', async () => {
    const big = new Uint8Array(1 << 20);
    const e = await diffaiError(() =>
      openPytorch('bad.pt', { maxInflatedBytes: 1000 }, memMapper(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }, { name: 'x/data/0', data: big, deflate: true }]))),
    );
    expect(e.code).toBe('ERR_ZIP_BOMB');
  });
  it('ERR_PICKLE: TorchScript archives are named as such', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'x/data.pkl', data: torchPickle([2, 3]) }, { name: 'x/constants.pkl', data: '\x80\x02).' }])));
    expect(e.code).toBe('ERR_PICKLE');
    expect(e.message).toContain('TorchScript');
  });
});

describe('dequantize', () => {
  it('applies per-tensor and per-channel scales and zero points', async () => {
    const { dequantize } = await import('../../lib/formats/pytorch/dequantize.js');
    const m = await open('torch_quantized.pt');
    // per_channel was quantize_per_channel(W, scales [0.5, 0.25, 0.125], zero points [0, 1, -1], axis 0)
    const w = Array.from({ length: 12 }, (_, i) => (i - 5.5) / 8);
    const pc = Array.from(dequantize(m, 'per_channel'));
    const scales = [0.5, 0.25, 0.125];
    pc.forEach((v, i) => expect(Math.abs(v - w[i])).toBeLessThanOrEqual(scales[Math.floor(i / 4)] / 2 + 1e-7));
    const lin = dequantize(m, '0.weight');
    expect(lin).toHaveLength(12);
    expect(() => dequantize(m, '0.bias')).toThrow(/not a quantized tensor/);
    m.close();
  });
});
