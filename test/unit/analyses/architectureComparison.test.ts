/**
 * #5 --architecture-comparison: types, depth, differences with tied aliases apart, composition.
 */
import { describe, expect, it } from 'vitest';
import { architectureComparison } from '../../../lib/analyses/architectureComparison.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import { gaussian, jsonRoundTrip, makeRun, mat, vec, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

const w = (r: number, c: number, seed = 1) => mat(gaussian(r * c, seed), r, c);
const mlp: Record<string, TensorSpec> = { 'fc1.weight': w(8, 4), 'fc1.bias': vec([0, 0, 0, 0, 0, 0, 0, 0]), 'fc2.weight': w(2, 8) };
const gpt = (blocks: number, tied: boolean): Record<string, TensorSpec> => {
  const t: Record<string, TensorSpec> = { 'tok_emb.weight': w(20, 8) };
  for (let i = 0; i < blocks; i++) {
    t[`blocks.${i}.attn.in_proj_weight`] = w(24, 8, i + 2);
    t[`blocks.${i}.attn.out_proj.weight`] = w(8, 8, i + 3);
    t[`blocks.${i}.mlp.0.weight`] = w(32, 8, i + 4);
  }
  if (tied) t['lm_head.weight'] = { ...w(20, 8), aliasOf: 'tok_emb.weight' };
  return t;
};
const run = (a: Record<string, TensorSpec>, b: Record<string, TensorSpec>, orderA = false) => {
  const r = makeRun([{ tensors: a, orderIsDepth: orderA }, { tensors: b }]);
  return jsonRoundTrip(architectureComparison.run({ run: r, config: DEFAULT_CONFIG }));
};

describe('#5 architecture comparison', () => {
  it('mlp against transformer: types, depth (weight layers, blocks), every added and removed tensor listed', () => {
    const r = run(mlp, gpt(3, false));
    expect([r.type1, r.type2]).toEqual(['mlp', 'transformer']);
    expect(r.depth).toEqual([2, 3]);
    expect(r.detail.a.depth_source).toBe('weight layers');
    expect(r.detail.b.depth_source).toBe('blocks');
    expect(r.differences).toBe(3 + 10);
    expect(r.detail.counts).toEqual({ added: 10, removed: 3, shape_changed: 0, dtype_changed: 0 });
    expect(r.detail.differences.filter((d) => d.status === 'removed').map((d) => d.tensor).sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.weight']);
    expect(r.composition.b.map((c) => c.kind)).toEqual(expect.arrayContaining(['attention', 'linear', 'embedding']));
    const line = architectureComparison.format(r)[0];
    expect(line).toMatch(/^architecture_comparison: type1=mlp, type2=transformer, depth=2->3 \(weight layers \/ blocks\), differences=13 \(10 added, 3 removed\); composition: \[linear 100 %\] -> \[/);
  });

  it('a tied alias on one side is listed apart, not as a removal; shape and dtype changes are differences', () => {
    const b = gpt(2, false);
    b['blocks.0.mlp.0.weight'] = w(16, 8);
    b['blocks.1.mlp.0.weight'] = { ...b['blocks.1.mlp.0.weight'], dtype: 'F16' };
    const r = run(gpt(2, true), b, true);
    expect(r.detail.tied_aliases).toEqual([{ tensor: 'lm_head.weight', side: 'a', alias_of: 'tok_emb.weight' }]);
    expect(r.detail.counts).toEqual({ added: 0, removed: 0, shape_changed: 1, dtype_changed: 1 });
    expect(r.differences).toBe(2);
    expect(r.detail.a.tied[0]).toMatchObject({ alias: 'lm_head.weight', inferred: false });
    expect(r.detail.b.tied[0]).toMatchObject({ target: 'tok_emb.weight', inferred: true });
  });

  it('optimizer state, quantization parameters, buffers and constants are listed apart, not counted as differences', () => {
    // A: a full checkpoint (model + Adam state, the format says `optimizer`) with a BatchNorm counter
    const a: Record<string, TensorSpec> = {
      ...mlp,
      'optimizer.state.0.exp_avg': { ...w(8, 4), role: 'optimizer' },
      'optimizer.state.0.step': { data: [10], shape: [], role: 'optimizer' },
      'bn.num_batches_tracked': { data: [3], shape: [], dtype: 'I64' },
    };
    // B: the same model, fc2 quantized per channel (codes + scale), and an ONNX I64 shape constant
    const b: Record<string, TensorSpec> = { ...mlp, 'fc2.weight': { ...mlp['fc2.weight'], dtype: 'I8' }, 'fc2.weight_scale': vec([1, 1]), '/Reshape/shape': { data: [1, 8], shape: [2], dtype: 'I64' } };
    const r = run(a, b);
    // the one difference is the parameter that changed dtype
    expect(r.differences).toBe(1);
    expect(r.detail.counts).toEqual({ added: 0, removed: 0, shape_changed: 0, dtype_changed: 1 });
    expect(r.detail.differences.map((d) => d.tensor)).toEqual(['fc2.weight']);
    expect(r.detail.non_parameters).toEqual([
      { tensor: 'optimizer.state.0.exp_avg', status: 'removed', class: 'optimizer' },
      { tensor: 'optimizer.state.0.step', status: 'removed', class: 'optimizer' },
      { tensor: 'bn.num_batches_tracked', status: 'removed', class: 'buffer' },
      { tensor: 'fc2.weight_scale', status: 'added', class: 'quant_param' },
      { tensor: '/Reshape/shape', status: 'added', class: 'constant' },
    ]);
    expect(architectureComparison.format(r)[0]).toMatch(/differences=1 \(1 dtype changed\), not parameters apart: 2 optimizer state, 1 buffers, 1 quantization parameters, 1 constants; composition: /);
    // a parameter added beside them still counts
    const r2 = run(a, { ...b, 'fc3.weight': w(2, 2) });
    expect(r2.detail.counts).toEqual({ added: 1, removed: 0, shape_changed: 0, dtype_changed: 1 });
  });

  it('config.json model_type wins and is printed with the type from the components', () => {
    const r0 = makeRun([{ tensors: mlp, metadata: { config: { model_type: 'my-net' } } }, { tensors: mlp }]);
    const r = architectureComparison.run({ run: r0, config: DEFAULT_CONFIG });
    expect(r.type1).toBe('my-net');
    expect(architectureComparison.format(r)[0]).toMatch(/type1=my-net \(mlp\), type2=mlp/);
  });

  it('no field is a constant', () => {
    const checked = expectFieldsMove('architecture_comparison', run(mlp, gpt(3, false)), run(gpt(1, false), gpt(2, false)));
    expect(checked).toEqual(['depth', 'differences']);
  });
});
