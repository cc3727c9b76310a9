/**
 * #26 --quantization-analysis: compression with scales counted, precision loss and SQNR of the
 * dequantized values, suitability thresholds, non-finite values, the null cases.
 */
import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../../lib/analyses/formatNumber.js';
import { quantizationAnalysis, sqnrDb } from '../../../lib/analyses/quantizationAnalysis.js';
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
    expect(r.detail.non_finite_tensors).toEqual(['fc.bias']);
    expect(quantizationAnalysis.format(r)[0]).toContain('suitability=poor; poor because B has 1 non-finite value (fc.bias); SQNR infinite (lossless)');
    // a NaN in A: its position is out of precision_loss, and the line says so
    const nanA = { ...A, 'fc.bias': { ...A['fc.bias'], data: Float64Array.from(A['fc.bias'].data, (x, i) => (i === 1 ? NaN : x)) } };
    const ra = run(nanA, f16);
    expect(ra.detail.non_finite_a).toEqual({ values: 1, tensors: ['fc.bias'] });
    expect(quantizationAnalysis.format(ra)[0]).toContain('; A has 1 non-finite value (fc.bias): precision_loss covers the positions finite in both');
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

  it('SQNR is exactly 0 dB (precision_loss exactly 1) when B dequantizes to all zeros: a ratio of equal sums is not rounded into 1e-15 dB', () => {
    expect(sqnrDb(1, 1)).toBe(0);
    // ||A||^2 and ||B - A||^2 come from two accumulations: equal to rounding
    expect(sqnrDb(1, 1 + 4 * Number.EPSILON)).toBe(0);
    expect(sqnrDb(2, 1)).toBeCloseTo(10 * Math.log10(2), 15);
    expect(sqnrDb(1, 0)).toBeNull();
    const zeroScale = { ...quantize(w, 32, 64, 8), quant: { scale: new Array(32).fill(0), offset: new Array(32).fill(0), axis: 0, tensors: ['fc.weight_scale'] } };
    const r = run({ 'fc.weight': A['fc.weight'] }, { 'fc.weight': zeroScale, 'fc.weight_scale': vec(new Array(32).fill(0)) });
    expect(Object.is(r.sqnr_db, 0)).toBe(true);
    expect(r.precision_loss).toBe(1);
    expect(r.most_sensitive).toEqual([{ tensor: 'fc.weight', sqnr_db: 0, rel_l2: 1 }]);
    expect(r.suitability).toBe('poor');
    expect(quantizationAnalysis.format(r)[0]).toMatch(/precision_loss=1, suitability=poor; SQNR 0 dB; most sensitive: fc\.weight 0 dB; /);
  });

  it('a NaN / Inf scale stored beside the codes: B would be non-finite once dequantized, so suitability is poor and precision null, naming the tensor and the problem', () => {
    const codes = quantize(w, 32, 64, 8);
    const b = { 'fc.weight': { ...codes, quant: undefined }, 'fc.weight_scale': vec(codes.quant!.scale.map((x, i) => (i === 3 ? NaN : x))), 'fc.bias': A['fc.bias'] };
    const r0 = pairRun(A, b);
    const t = r0.overall.tensors.find((x) => x.name === 'fc.weight')!;
    expect([t.status, t.dequant]).toEqual(['dtype_changed', undefined]);
    // what lib/diff/computeDequant.ts stores for this file (lib/quant/quantEncoding.ts, affineMap)
    const problem = 'fc.weight_scale has 1 non-finite value (of 32): the dequantized fc.weight is non-finite in 1 channel';
    t.dequant_problem = { side: 'b', reason: problem, non_finite_elements: 64 };
    const r = jsonRoundTrip(quantizationAnalysis.run({ run: r0, config: config() }));
    expect([r.suitability, r.level, r.precision_loss, r.sqnr_db]).toEqual(['poor', 'WARNING', null, null]);
    expect(r.reasons.precision_loss).toBe(`fc.weight cannot be dequantized: ${problem}`);
    expect(r.reasons.sqnr_db).toBe(r.reasons.precision_loss);
    expect(r.reasons.suitability).toBeUndefined();
    expect(r.detail.non_finite).toBe(64);
    expect(r.detail.not_comparable).toEqual([{ tensor: 'fc.weight', dtype: ['F32', 'I8'], reason: problem, non_finite_elements: 64 }]);
    // compression still compares like with like: the codes and their scale against the float weights
    expect(r.compression).toBeCloseTo(1 - (2048 + 128 + 128) / (8192 + 128), 15);
    expect(quantizationAnalysis.format(r)[0]).toBe(
      `quantization_analysis: compression=0.7231, speedup=${r.speedup === null ? 'null' : formatNumber(r.speedup)}, precision_loss=null (fc.weight cannot be dequantized: ${problem}), suitability=poor; poor because B has 64 non-finite values once dequantized (fc.weight); speedup on cpu: ${r.detail.speed.regime_text}`,
    );
  });

  it('a scale of the wrong length or an integer dtype: not comparable, with that reason instead of "no recognised convention"', () => {
    const codes = quantize(w, 32, 64, 8);
    for (const problem of ['fc.weight_scale has 16 values, which match no axis of fc.weight [32, 64] (one value per tensor, or one per channel of an axis)', 'fc.weight_scale is I32: a quantization scale must be floating point']) {
      const r0 = pairRun(A, { 'fc.weight': { ...codes, quant: undefined }, 'fc.weight_scale': vec(codes.quant!.scale.slice(0, 16)), 'fc.bias': A['fc.bias'] });
      r0.overall.tensors.find((x) => x.name === 'fc.weight')!.dequant_problem = { side: 'b', reason: problem, non_finite_elements: 0 };
      const r = quantizationAnalysis.run({ run: r0, config: config() });
      expect([r.precision_loss, r.sqnr_db, r.suitability, r.level]).toEqual([null, null, null, undefined]);
      expect(r.reasons.suitability).toBe(`fc.weight cannot be dequantized: ${problem}`);
      expect(r.detail.not_comparable).toEqual([{ tensor: 'fc.weight', dtype: ['F32', 'I8'], reason: problem, non_finite_elements: 0 }]);
      expect(quantizationAnalysis.format(r)[0]).toContain(`precision_loss=null, suitability=null (fc.weight cannot be dequantized: ${problem})`);
    }
  });

  it('compression compares like with like: tensors in both, plus the scales of the converted ones; the others are listed, on the line too', () => {
    const a = { ...A, 'other.weight': mat(gaussian(16 * 64, 7), 16, 64), 'gone.weight': mat(gaussian(64, 8), 8, 8) };
    const b = { ...B(8), 'other.weight': mat(gaussian(8 * 64, 7), 8, 64), 'extra.bias': vec(gaussian(10, 9)) };
    const r = run(a, b);
    // in both: fc.weight (F32 8192 bytes -> I8 2048) and fc.bias (128 -> 128); fc.weight_scale (128) goes with fc.weight
    expect(r.detail.bytes).toEqual({ a: 8192 + 128, b: 2048 + 128 + 128 });
    expect(r.compression).toBeCloseTo(1 - (2048 + 128 + 128) / (8192 + 128), 15);
    expect(r.detail.quant_params).toEqual(['fc.weight_scale']);
    expect(r.detail.excluded).toEqual([
      { tensor: 'other.weight', status: 'shape_changed', bytes: [4096, 2048] },
      { tensor: 'gone.weight', status: 'removed', bytes: [256, null] },
      { tensor: 'extra.bias', status: 'added', bytes: [null, 40] },
    ]);
    // every model tensor, as #7 counts them, stays in the detail
    expect(r.detail.model_bytes).toEqual({ a: 8192 + 128 + 4096 + 256, b: 2048 + 128 + 128 + 2048 + 40 });
    // precision is unchanged by the extra tensors: the same as the pair without them
    expect(r.sqnr_db).toBe(run(A, B(8)).sqnr_db);
    expect(quantizationAnalysis.format(r)[0]).toContain('; 3 tensors not compared: other.weight (shape changed), gone.weight (removed), extra.bias (added); speedup on cpu: ');
    const capped = run(a, b, config({}, { top_k: 1 }));
    expect(quantizationAnalysis.format(capped)[0]).toContain('; 3 tensors not compared: other.weight (shape changed), +2 more; ');
    // the line lists nothing when every tensor is compared
    expect(quantizationAnalysis.format(run(A, B(8)))[0]).not.toContain('not compared');
  });

  it('no field is a constant', () => {
    const bf16 = { 'fc.weight': mat(toBF16(w), 32, 64, 'BF16'), 'fc.bias': A['fc.bias'] };
    const checked = expectFieldsMove('quantization_analysis', run(A, B(8)), run(A, bf16));
    expect(checked).toEqual(['compression', 'speedup', 'precision_loss', 'sqnr_db']);
  });
});
