/**
 * #7 --memory-analysis: bytes by real dtype (scale tensors counted, aliases once, optimizer state
 * apart), delta equal to the per-tensor byte changes, gpu_est, efficiency, the Adam training estimate.
 */
import { describe, expect, it } from 'vitest';
import { memoryAnalysis } from '../../../lib/analyses/memoryAnalysis.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
import { modelBytes } from '../../../lib/analyses/modelBytes.js';
import { config, jsonRoundTrip, mat, pairRun, vec, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

const f32: Record<string, TensorSpec> = { 'fc.weight': mat(new Array(16).fill(1), 4, 4), 'fc.bias': vec([0, 0, 0, 0]) };
const int8: Record<string, TensorSpec> = { 'fc.weight': mat(new Array(16).fill(1), 4, 4, 'I8'), 'fc.weight_scale': vec([1, 1, 1, 1]), 'fc.bias': vec([0, 0, 0, 0]) };

describe('#7 memory', () => {
  it('F32 -> per-channel int8: delta = bytes_B - bytes_A with the scale tensor counted; gpu_est; efficiency', () => {
    const r = jsonRoundTrip(memoryAnalysis.run({ run: pairRun(f32, int8), config: DEFAULT_CONFIG }));
    // A: 64 + 16 = 80 bytes; B: 16 + 16 + 16 = 48 bytes
    expect(r.delta).toBe(48 - 80);
    expect(r.detail.changes_total).toBe(r.delta);
    expect(r.detail.changes).toEqual([
      { tensor: 'fc.weight', bytes_a: 64, bytes_b: 16, delta: -48 },
      { tensor: 'fc.weight_scale', bytes_a: 0, bytes_b: 16, delta: 16 },
    ]);
    expect(r.gpu_est).toBeCloseTo(48 * 1.2, 12);
    // 20 parameters (16 int8 codes + 4 bias; the 4 scales are not parameters) in 16 + 16 bytes of
    // parameters + 16 bytes of scales: 4 * 20 / 48 = 1.6667 parameters per F32-byte
    expect(r.efficiency).toBeCloseTo(80 / 48, 15);
    expect(r.detail.b.params).toBe(20);
    expect(r.detail.a.params).toBe(20);
    expect(r.detail.a.efficiency).toBe(1);
    expect(r.detail.b.bytes.quant_params).toBe(16);
    // Adam: A is F32, 20 trainable parameters x 16 bytes; B counts its int8 weights as a mixed-precision float model
    expect(r.detail.a.training).toMatchObject({ precision: 'fp32', parameters: 20, bytes_per_parameter: 16, bytes: 320 });
    expect(r.detail.b.training.precision).toBe('mixed');
    expect(r.level).toBeUndefined();
    expect(memoryAnalysis.format(r)[0]).toMatch(/^memory_analysis: delta=-32 bytes \(-3\.052e-5 MiB\), gpu_est=5\.493e-5 MiB \(1\.2 x 4\.578e-5 MiB of weights\), efficiency=1\.667; within the 1024 MiB limit; Adam training of B/);
  });

  it('tied aliases count once, optimizer state is apart, and over the limit is a warning', () => {
    const a = { ...f32, 'lm.weight': { ...mat(new Array(16).fill(1), 4, 4), aliasOf: 'fc.weight' } };
    const b = { ...f32, 'optimizer.state.0.exp_avg': { ...mat(new Array(16).fill(0), 4, 4), role: 'optimizer' } };
    const r = memoryAnalysis.run({ run: pairRun(a, b), config: config({ memory_limit_mb: 1e-6 }) });
    expect(r.delta).toBe(0);
    expect(r.detail.a.bytes.aliases).toBe(1);
    expect(r.detail.b.bytes.optimizer).toBe(64);
    expect(r.detail.exceeds_limit).toBe(true);
    expect(r.level).toBe('WARNING');
  });

  it('a model and its quantized copies have the same parameter count: scales, zero points, minimums, I64 constants are not parameters', () => {
    const ones = (n: number) => new Array<number>(n).fill(1);
    const float = { 'fc1.weight': mat(ones(16), 4, 4), 'fc1.bias': vec(ones(4)), 'norm.scale': vec(ones(4)), 'norm.bias': vec(ones(4)) };
    const extra: Record<string, TensorSpec> = {
      // an ONNX I64 shape constant and a BatchNorm counter: not parameters
      '/Reshape/shape': { data: [1, 16], shape: [2], dtype: 'I64' },
      'bn.num_batches_tracked': { data: [5], shape: [], dtype: 'I64' },
    };
    const perChannel = { ...float, 'fc1.weight': mat(ones(16), 4, 4, 'I8'), 'fc1.weight_scale': vec(ones(4)) };
    // torch dynamic quantization: the codes with their own scale / zero point, and the module's activation scale / zero point
    const dynq: Record<string, TensorSpec> = {
      ...float,
      'fc1.scale': { data: [0.1], shape: [], dtype: 'F32' },
      'fc1.zero_point': { data: [0], shape: [], dtype: 'I64' },
      'fc1.weight': { ...mat(ones(16), 4, 4, 'I8'), role: 'quantized' },
      'fc1.weight.scale': { data: [0.1], shape: [], dtype: 'F64', role: 'quant_scale' },
      'fc1.weight.zero_point': { data: [0], shape: [], dtype: 'I64', role: 'quant_zero_point' },
    };
    // TF.js uint8: the bias is stored as codes too, each with q_scale and q_min
    const tfjs: Record<string, TensorSpec> = {
      ...float,
      'fc1.weight': mat(ones(16), 4, 4, 'U8'),
      'fc1.weight.q_scale': { data: [0.1], shape: [] },
      'fc1.weight.q_min': { data: [0], shape: [] },
      'fc1.bias': vec(ones(4), 'U8'),
      'fc1.bias.q_scale': { data: [0.1], shape: [] },
      'fc1.bias.q_min': { data: [0], shape: [] },
    };
    // 16 + 4 + 4 (a Flax norm.scale beside a float norm.bias is a gain, a parameter) + 4 = 28
    const counts = [float, perChannel, dynq, tfjs].map((t) => modelBytes(pairRun({ ...t, ...extra }, float).inputs[0]));
    expect(counts.map((c) => c.parameter_count)).toEqual([28, 28, 28, 28]);
    // the I64 [2] shape constant: 16 bytes; the counter is a buffer: 8 bytes
    expect(counts.map((c) => [c.constants, c.buffers])).toEqual([[16, 8], [16, 8], [16, 8], [16, 8]]);
    // scales: 4 x F32; dynq: F32 + I64 + F64 + I64; tfjs: 4 x F32
    expect(counts.map((c) => c.quant_params)).toEqual([0, 16, 28, 16]);
    // the memory analysis reads the same count: parameters, Adam parameters, efficiency
    const m = memoryAnalysis.run({ run: pairRun(float, { ...dynq, ...extra }), config: DEFAULT_CONFIG });
    expect([m.detail.a.params, m.detail.b.params, m.detail.a.training.parameters, m.detail.b.training.parameters]).toEqual([28, 28, 28, 28]);
    // B: codes 16 + float 48 bytes of parameters, 28 bytes of quantization parameters: 4 * 28 / 92
    expect(m.efficiency).toBeCloseTo(112 / 92, 15);
  });

  it('no field is a constant', () => {
    const f64: Record<string, TensorSpec> = { 'fc.weight': mat(new Array(16).fill(1), 4, 4, 'F64'), 'fc.bias': vec([0, 0, 0, 0]) };
    const checked = expectFieldsMove('memory_analysis', memoryAnalysis.run({ run: pairRun(f32, int8), config: DEFAULT_CONFIG }), memoryAnalysis.run({ run: pairRun(f32, f64), config: DEFAULT_CONFIG }));
    expect(checked).toEqual(['delta', 'gpu_est', 'efficiency']);
  });
});
