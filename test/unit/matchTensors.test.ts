import { describe, expect, it } from 'vitest';
import { matchTensors } from '../../lib/diff/matchTensors.js';
import type { DType } from '../../lib/formats/dtype.js';
import type { ModelFile, ModelFormat, TensorDescriptor } from '../../lib/formats/TensorDescriptor.js';

function t(name: string, shape: number[] = [2, 2], dtype: DType = 'F32'): TensorDescriptor {
  const count = shape.reduce((p, d) => p * d, 1);
  return { name, dtype, shape, count, source: { kind: 'memory', data: new Uint8Array(count * 4) } };
}

function m(tensors: TensorDescriptor[], format: ModelFormat = 'safetensors', orderIsDepth = false): ModelFile {
  return { path: 'x', format, tensors, metadata: {}, orderIsDepth, bytes: 0, close: () => {} };
}

const all = () => true;
const view = (ms: ReturnType<typeof matchTensors>) => ms.map((x) => [x.name, x.status, x.a?.name ?? null, x.b?.name ?? null]);

describe('matchTensors', () => {
  it('classifies by name, shape and dtype, in natural name order', () => {
    const a = m([t('blocks.10.w'), t('blocks.2.w'), t('gone'), t('s', [2]), t('d')]);
    const b = m([t('blocks.2.w'), t('blocks.10.w'), t('new'), t('s', [3]), t('d', [2, 2], 'F16')]);
    expect(view(matchTensors(a, b, all))).toEqual([
      ['blocks.2.w', 'changed', 'blocks.2.w', 'blocks.2.w'],
      ['blocks.10.w', 'changed', 'blocks.10.w', 'blocks.10.w'],
      ['d', 'dtype_changed', 'd', 'd'],
      ['gone', 'removed', 'gone', null],
      ['new', 'added', null, 'new'],
      ['s', 'shape_changed', 's', 's'],
    ]);
  });

  it('keeps the checkpoint order when A records depth order', () => {
    const a = m([t('z.w'), t('a.w')], 'pytorch', true);
    expect(matchTensors(a, m([t('a.w'), t('z.w')]), all).map((x) => x.name)).toEqual(['z.w', 'a.w']);
  });

  it('aligns a state dict nested under model. (a full checkpoint) with a plain one', () => {
    const a = m([t('fc1.weight'), t('fc1.bias', [2])]);
    const b = m([t('model.fc1.weight'), t('model.fc1.bias', [2]), t('optimizer.state.0.exp_avg')]);
    expect(view(matchTensors(a, b, all))).toEqual([
      ['fc1.bias', 'changed', 'fc1.bias', 'model.fc1.bias'],
      ['fc1.weight', 'changed', 'fc1.weight', 'model.fc1.weight'],
      ['optimizer.state.0.exp_avg', 'added', null, 'optimizer.state.0.exp_avg'],
    ]);
  });

  it('aligns the other way round (module. on A, from DataParallel)', () => {
    const a = m([t('module.fc.weight'), t('module.fc.bias', [2])]);
    const b = m([t('fc.weight'), t('fc.bias', [2])]);
    expect(view(matchTensors(a, b, all)).map((r) => r.slice(1))).toEqual([
      ['changed', 'module.fc.bias', 'fc.bias'],
      ['changed', 'module.fc.weight', 'fc.weight'],
    ]);
  });

  it('does not align prefixes when most names already match', () => {
    const a = m([t('x.w'), t('y.w'), t('z.w')]);
    const b = m([t('x.w'), t('y.w'), t('model.z.w')]);
    expect(view(matchTensors(a, b, all)).map((r) => r[1])).toEqual(['added', 'changed', 'changed', 'removed']);
  });

  it('compares two single-tensor inputs whatever their names (two .npy files)', () => {
    const a = m([t('mlp_ep1_fc1.weight')], 'numpy');
    const b = m([t('mlp_ep4_fc1.weight')], 'numpy');
    expect(view(matchTensors(a, b, all))).toEqual([['mlp_ep1_fc1.weight', 'changed', 'mlp_ep1_fc1.weight', 'mlp_ep4_fc1.weight']]);
  });

  it('matches MATLAB variables by the exporters rule and shapes up to singleton dims', () => {
    const a = m([t('fc1.weight', [1, 32]), t('b', [1])]);
    const b = m([t('fc1_weight', [32]), t('b', [])], 'matlab');
    expect(view(matchTensors(a, b, all))).toEqual([
      ['b', 'changed', 'b', 'b'],
      ['fc1.weight', 'changed', 'fc1.weight', 'fc1_weight'],
    ]);
  });
});
