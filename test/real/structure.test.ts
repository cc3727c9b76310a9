/**
 * Structure recognition on the real models of ../shared/models: an MLP, a CNN, a GPT with fused
 * attention and a tied head (safetensors, .pt, GGUF), the LSTM + conv Silero VAD, the PaddleOCR
 * MobileNet, the face-api TF.js CNNs and the wake-word heads.
 */
import { describe, expect, it } from 'vitest';
import { tensorEntries } from '../../lib/diff/tensorEntries.js';
import { openModel } from '../../lib/formats/openModel.js';
import type { ModelStructure } from '../../lib/structure/ModelStructure.js';
import { recognizeStructure } from '../../lib/structure/recognizeStructure.js';
import { model } from '../helpers/paths.js';

async function structureOf(rel: string): Promise<ModelStructure> {
  const m = await openModel(model(rel));
  try {
    return recognizeStructure({ entries: tensorEntries(m), metadata: m.metadata, orderIsDepth: m.orderIsDepth });
  } finally {
    m.close();
  }
}

const kindsOf = (s: ModelStructure) => new Set(s.layers.map((l) => l.kind));

describe('structure of the real models', () => {
  it('trained/mlp_ep4: mlp, 3 weight layers in numbered order, head last', async () => {
    const s = await structureOf('trained/mlp_ep4.safetensors');
    expect([s.type, s.depth, s.depth_source]).toEqual(['mlp', 3, 'weight layers']);
    expect(s.depth_order).toEqual({ source: 'numbered blocks', layers: ['fc1.weight', 'fc2.weight', 'head.weight'] });
  });

  it('trained/cnn_ep3: cnn, conv kernels, BatchNorm norms, the shape chain conv1 -> conv2 -> fc -> head', async () => {
    const s = await structureOf('trained/cnn_ep3.safetensors');
    expect(s.type).toBe('cnn');
    expect(s.depth).toBe(4);
    expect(s.depth_order).toEqual({ source: 'shape chain', layers: ['conv1.weight', 'conv2.weight', 'fc.weight', 'head.weight'] });
    expect(s.layers.filter((l) => l.kind === 'norm').map((l) => l.name)).toEqual(['bn1.weight', 'bn2.weight']);
    // the I64 counters and running statistics are not layers
    expect(s.layers.some((l) => /running|num_batches/.test(l.name))).toBe(false);
  });

  it('trained/gpt_step600: transformer with fused in_proj attention, 2 blocks, tied head inferred (safetensors) or recorded (.pt)', async () => {
    const s = await structureOf('trained/gpt_step600.safetensors');
    expect([s.type, s.depth, s.blocks?.prefix]).toEqual(['transformer', 2, 'blocks.<int>']);
    const qkv = s.layers.filter((l) => l.attention?.part === 'qkv');
    expect(qkv.map((l) => [l.name, l.attention!.layout, l.attention!.d_model])).toEqual([
      ['blocks.0.attn.in_proj_weight', 'fused_in_proj', 64],
      ['blocks.1.attn.in_proj_weight', 'fused_in_proj', 64],
    ]);
    expect(s.tied).toEqual([expect.objectContaining({ target: 'tok_emb.weight', inferred: true })]);
    expect(s.context_length?.value).toBe(64);
    expect(s.depth_order?.source).toBe('numbered blocks');
    const pt = await structureOf('trained/gpt_step600.pt');
    expect(pt.tied).toEqual([expect.objectContaining({ alias: 'lm_head.weight', target: 'tok_emb.weight', inferred: false })]);
    expect(pt.depth_order?.source).toBe('file order');
    const gguf = await structureOf('gguf/gpt_step600.q8_0.gguf');
    expect([gguf.type, gguf.type_source]).toEqual(['char-gpt', 'config.json model_type']);
    expect(gguf.context_length).toEqual({ value: 64, source: 'config.json max_position_embeddings' });
    expect(gguf.layers.find((l) => l.name === 'blocks.0.mlp.0.weight')!.dtype).toBe('Q8_0');
  });

  it('npm/silero_vad_v4: LSTM gates from ONNX shapes [1, 4h, h] with [1, 8h] biases, depthwise 1-D convs, 1x1 kernels as linear: an rnn + cnn hybrid', async () => {
    const s = await structureOf('npm/silero_vad_v4.safetensors');
    expect(s.type).toBe('rnn');
    expect(s.hybrid).toBe('cnn + rnn');
    const gates = s.layers.filter((l) => l.kind === 'recurrent');
    expect(gates.length).toBe(24);
    expect(new Set(gates.map((l) => `${l.recurrent!.cell}/${l.recurrent!.hidden}`))).toEqual(new Set(['lstm/64']));
    expect(gates.filter((l) => l.recurrent!.part === 'bias').length).toBe(8);
    expect(s.layers.find((l) => l.name === 'model.encoder.3.0.dw_conv.0.weight')!.conv).toMatchObject({ spatial_dims: 1, kernel: [5], depthwise: true });
    expect(s.layers.find((l) => l.name === 'model.encoder.3.0.pw_conv.0.weight')!.kind).toBe('linear');
  });

  it('npm/ppocr_v2_cls (PaddleOCR MobileNetV3): cnn of 53 conv kernels with depthwise ones, BatchNorm gains as norms, buffers kept out', async () => {
    const s = await structureOf('npm/ppocr_v2_cls.safetensors');
    expect(s.type).toBe('cnn');
    expect(s.layers.filter((l) => l.kind === 'conv').length).toBe(53);
    expect(s.layers.filter((l) => l.conv?.depthwise).length).toBeGreaterThan(5);
    expect(s.layers.some((l) => /\.w_[12]$/.test(l.name))).toBe(false);
    expect(kindsOf(s)).toEqual(new Set(['conv', 'linear', 'norm']));
  });

  it('npm/face-api CNNs (TF.js, HWIO, uint8 quantized): cnn with depthwise kernels, scales counted in the layer bytes', async () => {
    const s = await structureOf('npm/face_landmark_68_tiny_model.dequant.safetensors');
    expect([s.type, s.layout]).toEqual(['cnn', 'output-last']);
    expect(s.layers.find((l) => l.name === 'dense0/conv1/depthwise_filter')!.conv).toMatchObject({ depthwise: true, kernel: [3, 3], out_channels: 32 });
    const q = await structureOf('npm/age_gender_model.quantized.safetensors');
    const conv = q.layers.find((l) => l.name === 'entry_flow/conv_in/filters')!;
    expect(conv.dtype).toBe('U8');
    expect(conv.tensors).toEqual(expect.arrayContaining(['entry_flow/conv_in/filters.q_scale', 'entry_flow/conv_in/filters.q_min']));
    expect(conv.bytes).toBe(3 * 3 * 3 * 32 + 4 + 4 + 32 * 4);
  });

  it('npm/wakeword heads (Gemm + LayerNorm): mlp, one numbered block, depth order by the shape chain', async () => {
    const s = await structureOf('npm/wakeword_hello_deepa_old.safetensors');
    expect([s.type, s.depth, s.depth_source]).toEqual(['mlp', 1, 'blocks']);
    expect(s.depth_order).toEqual({ source: 'shape chain', layers: ['layer1.weight', 'blocks.0.fcn_layer.weight', 'last_layer.weight'] });
  });
});
