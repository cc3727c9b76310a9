/**
 * Structure recognition on small tensor lists with known answers: layer kinds, attention layouts,
 * recurrent gates, tied heads, numbered blocks, depth order and its sources.
 */
import { describe, expect, it } from 'vitest';
import type { TensorEntry } from '../../../lib/diff/ModelDiff.js';
import { byteLengthOf, type DType } from '../../../lib/formats/dtype.js';
import { numberedBlocks } from '../../../lib/structure/numberedBlocks.js';
import { recognizeStructure, type StructureInput } from '../../../lib/structure/recognizeStructure.js';

function e(name: string, shape: number[], dtype: DType = 'F32', extra: Partial<TensorEntry> = {}): TensorEntry {
  const count = shape.reduce((p, d) => p * d, 1);
  return { name, dtype, shape, count, bytes: extra.aliasOf ? 0 : byteLengthOf(dtype, count), ...extra };
}

function input(entries: TensorEntry[], metadata: Record<string, unknown> = {}, orderIsDepth = false): StructureInput {
  return { entries, metadata, orderIsDepth };
}

const kinds = (s: ReturnType<typeof recognizeStructure>) => Object.fromEntries(s.layers.map((l) => [l.name, l.kind]));

describe('recognizeStructure: types and depth', () => {
  it('an MLP (fc1, fc2, head): type mlp, 3 weight layers, depth order from numbered names with the head last', () => {
    const s = recognizeStructure(input([e('head.bias', [10]), e('head.weight', [10, 64]), e('fc2.weight', [64, 128]), e('fc2.bias', [64]), e('fc1.weight', [128, 784]), e('fc1.bias', [128])]));
    expect(s.type).toBe('mlp');
    expect(s.depth).toBe(3);
    expect(s.depth_source).toBe('weight layers');
    expect(s.depth_order).toEqual({ source: 'numbered blocks', layers: ['fc1.weight', 'fc2.weight', 'head.weight'] });
    const fc1 = s.layers.find((l) => l.name === 'fc1.weight')!;
    // the bias is attached: params and bytes of weight + bias
    expect([fc1.out, fc1.in, fc1.params, fc1.bytes]).toEqual([128, 784, 128 * 784 + 128, 4 * (128 * 784 + 128)]);
    expect(s.layers.find((l) => l.name === 'head.weight')!.head).toBe(true);
  });

  it('a CNN: conv kernels make it cnn; depth order from the shape chain (conv -> conv -> flatten -> linear -> head)', () => {
    const s = recognizeStructure(
      input([e('conv1.weight', [16, 1, 3, 3]), e('conv2.weight', [32, 16, 3, 3]), e('fc.weight', [64, 1568]), e('head.weight', [10, 64]), e('bn1.weight', [16]), e('bn1.bias', [16]), e('bn1.num_batches_tracked', [], 'I64')]),
    );
    expect(s.type).toBe('cnn');
    expect(s.depth).toBe(4);
    expect(s.depth_order).toEqual({ source: 'shape chain', layers: ['conv1.weight', 'conv2.weight', 'fc.weight', 'head.weight'] });
    expect(kinds(s)['bn1.weight']).toBe('norm');
    expect(s.layers.find((l) => l.name === 'conv2.weight')!.conv).toMatchObject({ spatial_dims: 2, kernel: [3, 3], in_channels: 16, out_channels: 32 });
  });

  it('a shape chain with two candidates at a step is not a depth order', () => {
    const s = recognizeStructure(input([e('a.weight', [8, 4]), e('b.weight', [8, 8]), e('c.weight', [8, 8])]));
    expect(s.depth_order).toBeNull();
    expect(s.depth_order_reason).toMatch(/depth order unknown/);
  });

  it('a GPT with fused in_proj attention: transformer, depth = blocks, tied head inferred without an output matrix, context from the position embedding', () => {
    const blk = (i: number) => [
      e(`blocks.${i}.ln1.weight`, [64]),
      e(`blocks.${i}.attn.in_proj_weight`, [192, 64]),
      e(`blocks.${i}.attn.in_proj_bias`, [192]),
      e(`blocks.${i}.attn.out_proj.weight`, [64, 64]),
      e(`blocks.${i}.mlp.0.weight`, [256, 64]),
      e(`blocks.${i}.mlp.2.weight`, [64, 256]),
    ];
    const s = recognizeStructure(input([e('tok_emb.weight', [86, 64]), e('pos_emb.weight', [32, 64]), ...blk(0), ...blk(1), ...blk(2), e('ln_f.weight', [64])]));
    expect(s.type).toBe('transformer');
    expect(s.blocks).toEqual({ prefix: 'blocks.<int>', count: 3, indices: [0, 1, 2] });
    expect(s.depth).toBe(3);
    expect(s.depth_order!.source).toBe('numbered blocks');
    expect(s.depth_order!.layers.slice(0, 4)).toEqual(['blocks.0.attn.in_proj_weight', 'blocks.0.attn.out_proj.weight', 'blocks.0.mlp.0.weight', 'blocks.0.mlp.2.weight']);
    const qkv = s.layers.find((l) => l.name === 'blocks.1.attn.in_proj_weight')!;
    expect(qkv.attention).toEqual({ layout: 'fused_in_proj', part: 'qkv', d_model: 64 });
    expect(qkv.block).toBe(1);
    expect(qkv.params).toBe(192 * 64 + 192);
    expect(s.tied).toEqual([expect.objectContaining({ target: 'tok_emb.weight', inferred: true })]);
    const head = s.layers.find((l) => l.tiedTo === 'tok_emb.weight')!;
    expect([head.kind, head.head, head.out, head.in, head.bytes]).toEqual(['linear', true, 86, 64, 0]);
    expect(s.context_length).toEqual({ value: 32, source: 'rows of the learned position embedding pos_emb.weight' });
  });

  it('a tied head recorded by the format is an alias, and config.json tie_word_embeddings = false stops the inference', () => {
    const alias = recognizeStructure(input([e('tok_emb.weight', [86, 64]), e('blocks.0.attn.in_proj_weight', [192, 64]), e('lm_head.weight', [86, 64], 'F32', { aliasOf: 'tok_emb.weight' })], {}, true));
    expect(alias.tied).toEqual([expect.objectContaining({ alias: 'lm_head.weight', target: 'tok_emb.weight', inferred: false })]);
    expect(alias.layers.filter((l) => l.head)).toHaveLength(1);
    const untied = recognizeStructure(input([e('tok_emb.weight', [86, 64]), e('blocks.0.attn.in_proj_weight', [192, 64])], { config: { tie_word_embeddings: false } }));
    expect(untied.tied).toEqual([]);
  });

  it('GPT-2 c_attn [d, 3d], HF separate q/k/v projections, and the [3d, d] + [d, d] shape pattern', () => {
    const gpt2 = recognizeStructure(input([e('h.0.attn.c_attn.weight', [64, 192]), e('h.0.attn.c_proj.weight', [64, 64]), e('h.0.mlp.c_proj.weight', [256, 64])]));
    expect(kinds(gpt2)).toMatchObject({ 'h.0.attn.c_attn.weight': 'attention', 'h.0.attn.c_proj.weight': 'attention', 'h.0.mlp.c_proj.weight': 'linear' });
    expect(gpt2.layers.find((l) => l.name === 'h.0.attn.c_attn.weight')!.attention!.d_model).toBe(64);
    const hf = recognizeStructure(
      input([e('layers.0.self_attn.q_proj.weight', [64, 64]), e('layers.0.self_attn.k_proj.weight', [16, 64]), e('layers.0.self_attn.v_proj.weight', [16, 64]), e('layers.0.self_attn.o_proj.weight', [64, 64])]),
    );
    expect(hf.layers.map((l) => l.attention?.part)).toEqual(['q', 'k', 'v', 'o']);
    const shapes = recognizeStructure(input([e('blocks.0.a.weight', [96, 32]), e('blocks.0.b.weight', [32, 32]), e('blocks.0.c.weight', [128, 32])]));
    expect(shapes.type).toBe('transformer');
    expect(shapes.layers.filter((l) => l.attention?.layout === 'shape_pattern').map((l) => l.name)).toEqual(['blocks.0.a.weight', 'blocks.0.b.weight']);
    // without a [d, d] partner a [3d, d] matrix is an MLP layer
    expect(recognizeStructure(input([e('x.weight', [96, 32]), e('y.weight', [32, 96])])).type).toBe('mlp');
  });

  it('recurrent gates: PyTorch LSTM names, GRU, and ONNX [dirs, 4h, h] shapes with their biases; 1x1 kernels of a sequence model are linear', () => {
    const lstm = recognizeStructure(input([e('rnn.weight_ih_l0', [256, 40]), e('rnn.weight_hh_l0', [256, 64]), e('rnn.bias_ih_l0', [256]), e('fc.weight', [10, 64])]));
    expect(lstm.type).toBe('rnn');
    expect(lstm.layers.find((l) => l.name === 'rnn.weight_hh_l0')!.recurrent).toEqual({ cell: 'lstm', hidden: 64, part: 'hidden' });
    expect(lstm.layers.find((l) => l.name === 'rnn.weight_ih_l0')!.recurrent).toEqual({ cell: 'lstm', hidden: 64, part: 'input' });
    const gru = recognizeStructure(input([e('gru.weight_ih_l0', [96, 8]), e('gru.weight_hh_l0', [96, 32])]));
    expect(gru.layers[0].recurrent!.cell).toBe('gru');
    const onnx = recognizeStructure(input([e('lstm.W', [1, 256, 80]), e('lstm.R', [1, 256, 64]), e('lstm.B', [1, 512]), e('proj.weight', [64, 32, 1]), e('dw.weight', [32, 1, 5])]));
    expect(kinds(onnx)).toEqual({ 'lstm.W': 'recurrent', 'lstm.R': 'recurrent', 'lstm.B': 'recurrent', 'proj.weight': 'linear', 'dw.weight': 'conv' });
    expect(onnx.layers.find((l) => l.name === 'lstm.B')!.recurrent!.part).toBe('bias');
    expect(onnx.type).toBe('rnn');
    // a 1x1 kernel outside a sequence model stays a conv
    expect(kinds(recognizeStructure(input([e('pw.weight', [64, 32, 1, 1])])))['pw.weight']).toBe('conv');
  });

  it('hybrids by parameter share, config.json model_type wins, TF layout kernels have the output last', () => {
    const hybrid = recognizeStructure(input([e('conv.weight', [64, 3, 7, 7]), e('blocks.0.attn.in_proj_weight', [192, 64]), e('blocks.0.attn.out_proj.weight', [64, 64])]));
    expect(hybrid.type).toBe('transformer');
    expect(hybrid.hybrid).toBe('cnn + transformer');
    expect(hybrid.composition.map((c) => c.kind).sort()).toEqual(['attention', 'conv']);
    expect(hybrid.composition.reduce((s, c) => s + c.share, 0)).toBeCloseTo(1, 12);
    const named = recognizeStructure(input([e('fc1.weight', [4, 4])], { config: { model_type: 'bert' } }));
    expect([named.type, named.type_source]).toEqual(['bert', 'config.json model_type']);
    const tf = recognizeStructure(input([e('conv/filters', [3, 3, 8, 16]), e('sep/depthwise_filter', [3, 3, 16, 1]), e('fc/weights', [16, 2])], { format: 'tfjs-weights' }));
    expect(tf.layout).toBe('output-last');
    expect(tf.layers.find((l) => l.name === 'conv/filters')!.conv).toMatchObject({ in_channels: 8, out_channels: 16, kernel: [3, 3], layout: 'channels_last' });
    expect(tf.layers.find((l) => l.name === 'sep/depthwise_filter')!.conv).toMatchObject({ depthwise: true, out_channels: 16 });
    expect(tf.layers.find((l) => l.name === 'fc/weights')!).toMatchObject({ out: 2, in: 16 });
  });

  it('integer-coded weights are layers whose bytes include their scale tensors; optimizer state is not a layer', () => {
    const s = recognizeStructure(
      input([e('fc1.weight', [8, 4], 'I8'), e('fc1.weight_scale', [8]), e('fc1.bias', [8]), e('optimizer.state.0.exp_avg', [8, 4], 'F32', { role: 'optimizer' })]),
    );
    expect(s.layers.map((l) => l.name)).toEqual(['fc1.weight']);
    expect(s.layers[0].bytes).toBe(32 + 32 + 32);
    expect(s.layers[0].tensors).toEqual(['fc1.weight', 'fc1.weight_scale', 'fc1.bias']);
  });

  it('file order is depth order when the format keeps it', () => {
    const s = recognizeStructure(input([e('z.weight', [4, 4]), e('a.weight', [4, 4])], {}, true));
    expect(s.depth_order).toEqual({ source: 'file order', layers: ['z.weight', 'a.weight'] });
  });
});

describe('numberedBlocks', () => {
  it('picks the family with the most indices, the shorter prefix on ties, and Keras Layer_<int>', () => {
    const f = numberedBlocks(['blocks.0.mlp.0.weight', 'blocks.0.mlp.2.weight', 'blocks.1.mlp.0.weight', 'blocks.1.mlp.2.weight', 'tok.weight'])!;
    expect([f.prefix, f.indices]).toEqual(['blocks.<int>', [0, 1]]);
    expect(f.indexOf('blocks.1.mlp.2.weight')).toBe(1);
    expect(f.indexOf('tok.weight')).toBeNull();
    const k = numberedBlocks(['model/Layer_0/kernel', 'model/Layer_1/kernel', 'model/Layer_2/kernel'])!;
    expect([k.prefix, k.indices]).toEqual(['model.Layer_<int>', [0, 1, 2]]);
    expect(k.indexOf('model/Layer_2/kernel')).toBe(2);
    // a trailing integer is a tensor name, not a block (ONNX initializers named 1110)
    expect(numberedBlocks(['1110', 'fc1.weight'])).toBeNull();
  });
});
