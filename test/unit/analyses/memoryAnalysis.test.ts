/**
 * #7 --memory-analysis: bytes by real dtype (scale tensors counted, aliases once, optimizer state
 * apart), delta equal to the per-tensor byte changes, gpu_est, efficiency, the Adam training estimate.
 */
import { describe, expect, it } from 'vitest';
import { memoryAnalysis } from '../../../lib/analyses/memoryAnalysis.js';
import { DEFAULT_CONFIG } from '../../../lib/config/Config.js';
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
    // 24 elements in 48 bytes: 4 * 24 / 48 = 2 parameters per F32-byte
    expect(r.efficiency).toBe(2);
    expect(r.detail.a.efficiency).toBe(1);
    expect(r.detail.b.bytes.quant_params).toBe(16);
    // Adam: A is F32, 20 trainable parameters x 16 bytes; B counts its int8 weights as a mixed-precision float model
    expect(r.detail.a.training).toMatchObject({ precision: 'fp32', parameters: 20, bytes_per_parameter: 16, bytes: 320 });
    expect(r.detail.b.training.precision).toBe('mixed');
    expect(r.level).toBeUndefined();
    expect(memoryAnalysis.format(r)[0]).toMatch(/^memory_analysis: delta=-32 bytes \(-3\.052e-5 MiB\), gpu_est=5\.493e-5 MiB \(1\.2 x 4\.578e-5 MiB of weights\), efficiency=2; within the 1024 MiB limit; Adam training of B/);
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

  it('no field is a constant', () => {
    const f64: Record<string, TensorSpec> = { 'fc.weight': mat(new Array(16).fill(1), 4, 4, 'F64'), 'fc.bias': vec([0, 0, 0, 0]) };
    const checked = expectFieldsMove('memory_analysis', memoryAnalysis.run({ run: pairRun(f32, int8), config: DEFAULT_CONFIG }), memoryAnalysis.run({ run: pairRun(f32, f64), config: DEFAULT_CONFIG }));
    expect(checked).toEqual(['delta', 'gpu_est', 'efficiency']);
  });
});
