/**
 * #26 --quantization-analysis: compression with scales counted, precision loss and SQNR of the
 * dequantized values, suitability thresholds, non-finite values, the null cases.
 */
import { describe, expect, it } from 'vitest';
import { quantizationAnalysis } from '../../../lib/analyses/quantizationAnalysis.js';
import { config, dequantValues, gaussian, jsonRoundTrip, mat, pairRun, toBF16, vec, type TensorSpec } from './builders.js';
import { expectFieldsMove } from './fieldsMove.js';

/** Symmetric per-row quantization of w [rows, cols] to `bits`: codes in [-(2^(bits-1) - 1), 2^(bits-1) - 1] and a scale per row. */
function quantize(w: Float64Array, rows: number, cols: number, bits: number): TensorSpec {
  const qmax = 2 ** (bits - 1) - 1;
  const scale: number[] = [];
  const codes = new Float64Array(w.length);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(w[r * cols + c]));
    scale.push(m / qmax);
    for (let c = 0; c < cols; c++) codes[r * cols + c] = Math.round(w[r * cols + c] / scale[r]);
  }
  return { data: codes, shape: [rows, cols], dtype: 'I8', quant: { scale, offset: new Array(rows).fill(0), axis: 0, tensors: ['fc.weight_scale'] } };
}

const w = gaussian(32 * 64, 5);
const A = { 'fc.weight': mat(w, 32, 64), 'fc.bias': vec(gaussian(32, 6)) };
const B = (bits: number) => ({ 'fc.weight': quantize(w, 32, 64, bits), 'fc.weight_scale': vec(quantize(w, 32, 64, bits).quant!.scale), 'fc.bias': A['fc.bias'] });
const run = (a: Record<string, TensorSpec>, b: Record<string, TensorSpec>, c = config()) => jsonRoundTrip(quantizationAnalysis.run({ run: pairRun(a, b), config: c }));

/** The expected pooled figures: error only in the weight, ||A||^2 over weight and bias. */
function expected(bits: number): { loss: number; sqnr: number } {
  const dq = dequantValues(B(bits)['fc.weight'], [32, 64]);
  let d = 0;
  let a = 0;
  for (let i = 0; i < w.length; i++) {
    d += (dq[i] - w[i]) ** 2;
    a += w[i] ** 2;
  }
  for (const x of A['fc.bias'].data) a += x * x;
  return { loss: Math.sqrt(d / a), sqnr: 10 * Math.log10(a / d) };
}

describe('#26 quantization', () => {
  it('per-channel int8: compression from real bytes (scales included), precision loss and SQNR of the dequantized weights', () => {
    const r = run(A, B(8));
    // A: 2048 * 4 + 32 * 4 bytes; B: 2048 * 1 + 32 * 4 (scales) + 32 * 4 (bias)
    expect(r.compression).toBeCloseTo(1 - (2048 + 128 + 128) / (8192 + 128), 15);
    const e = expected(8);
    expect(r.precision_loss).toBeCloseTo(e.loss, 12);
    expect(r.sqnr_db).toBeCloseTo(e.sqnr, 9);
    expect(r.sqnr_db!).toBeGreaterThan(30);
    expect(r.suitability).toBe('good');
    expect(r.most_sensitive.map((t) => t.tensor)).toEqual(['fc.weight']);
    expect(r.detail.tensors.find((t) => t.tensor === 'fc.weight')!.read_as).toBe('per_channel_symmetric (axis 0, 32 channels)');
    expect(r.speedup).not.toBeNull();
    expect(quantizationAnalysis.format(r)[0]).toMatch(/^quantization_analysis: compression=0\.7231, speedup=[0-9.]+, precision_loss=[0-9.e-]+, suitability=good; SQNR [0-9.]+ dB; most sensitive: fc\.weight [0-9.]+ dB; speedup on cpu: /);
  });

  it('suitability follows the SQNR thresholds (good >= 30 dB, fair >= 20, poor below), about 6 dB per bit', () => {
    const s8 = run(A, B(8)).sqnr_db!;
    const s4 = run(A, B(4));
    const s3 = run(A, B(3));
    expect(s8 - s4.sqnr_db!).toBeGreaterThan(20);
    expect(s8 - s4.sqnr_db!).toBeLessThan(28);
    expect(s4.suitability).toBe(s4.sqnr_db! >= 30 ? 'good' : s4.sqnr_db! >= 20 ? 'fair' : 'poor');
    expect(s3.suitability).toBe(s3.sqnr_db! >= 20 ? 'fair' : 'poor');
    expect(run(A, B(8), config({ sqnr_good_db: 1000 })).suitability).toBe('fair');
    expect(run(A, B(8), config({ sqnr_good_db: 1000, sqnr_fair_db: 999 })).suitability).toBe('poor');
  });

  it('a float conversion is read as stored; a non-finite value makes it poor', () => {
    const f16 = { 'fc.weight': { ...mat(w, 32, 64), dtype: 'F16' as const }, 'fc.bias': { ...A['fc.bias'], dtype: 'F16' as const } };
    const ok = run(A, f16);
    expect([ok.precision_loss, ok.sqnr_db, ok.suitability]).toEqual([0, null, 'good']);
    expect(ok.reasons.sqnr_db).toMatch(/no quantization error/);
    const bad = { ...f16, 'fc.bias': { ...f16['fc.bias'], data: Float64Array.from(A['fc.bias'].data, (x, i) => (i === 0 ? Infinity : x)) } };
    const r = run(A, bad);
    expect(r.suitability).toBe('poor');
    expect(r.level).toBe('WARNING');
    expect(r.detail.non_finite).toBe(1);
  });

  it('null with a reason when no dtype changed, or when integer codes have no known convention', () => {
    const same = run(A, A);
    for (const f of ['compression', 'speedup', 'precision_loss', 'suitability'] as const) {
      expect(same[f]).toBeNull();
      expect(same.reasons[f]).toMatch(/no dtype changed/);
    }
    const coded = run(A, { ...A, 'fc.weight': { ...mat(w, 32, 64), dtype: 'I8' } });
    expect(coded.precision_loss).toBeNull();
    expect(coded.reasons.precision_loss).toMatch(/without a recognised dequantization convention/);
    expect(coded.compression).not.toBeNull();
  });

  it('no field is a constant', () => {
    const bf16 = { 'fc.weight': mat(toBF16(w), 32, 64, 'BF16'), 'fc.bias': A['fc.bias'] };
    const checked = expectFieldsMove('quantization_analysis', run(A, B(8)), run(A, bf16));
    expect(checked).toEqual(['compression', 'speedup', 'precision_loss', 'sqnr_db']);
  });
});
