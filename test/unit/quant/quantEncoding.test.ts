/**
 * Dequantization conventions: which tensors hold the scales, along which axis, and the affine map the
 * kernel applies, on in-memory tensors with known values.
 */
import { describe, expect, it } from 'vitest';
import type { TensorDescriptor } from '../../../lib/formats/TensorDescriptor.js';
import type { DType } from '../../../lib/formats/dtype.js';
import { affineOf, channelAxis, findQuantEncoding } from '../../../lib/quant/quantEncoding.js';
import { readValues } from '../../../lib/quant/readValues.js';

function t(name: string, dtype: DType, shape: number[], values: number[], role?: string): TensorDescriptor {
  const count = shape.reduce((p, d) => p * d, 1);
  let bytes: Uint8Array;
  switch (dtype) {
    case 'F64':
      bytes = new Uint8Array(Float64Array.from(values).buffer);
      break;
    case 'F32':
      bytes = new Uint8Array(Float32Array.from(values).buffer);
      break;
    case 'I64':
      bytes = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
      break;
    case 'I8':
      bytes = new Uint8Array(Int8Array.from(values).buffer);
      break;
    case 'U8':
      bytes = Uint8Array.from(values);
      break;
    default:
      throw new Error(dtype);
  }
  return { name, dtype, shape, count, source: { kind: 'memory', data: bytes }, ...(role ? { role } : {}) };
}

describe('channelAxis', () => {
  it('one scale is per tensor; the single axis of that size; the output axis of the layout for square matrices', () => {
    expect(channelAxis([8, 4], 1, 'output-first', undefined)).toBeNull();
    expect(channelAxis([8, 4], 4, 'output-first', undefined)).toBe(1);
    expect(channelAxis([4, 4], 4, 'output-first', undefined)).toBe(0);
    expect(channelAxis([4, 4], 4, 'output-last', undefined)).toBe(1);
    expect(channelAxis([8, 4], 3, 'output-first', undefined)).toBeUndefined();
    expect(channelAxis([8, 4], 4, 'output-first', 0)).toBeUndefined();
  });
});

describe('findQuantEncoding and affineOf', () => {
  it('per-channel int8 with a `<name>_scale` tensor (symmetric: offset 0)', () => {
    const w = t('fc.weight', 'I8', [2, 3], [1, -2, 3, 4, 5, -6]);
    const s = t('fc.weight_scale', 'F32', [2], [0.5, 0.25]);
    const enc = findQuantEncoding(w, { tensors: [w, s], metadata: {} })!;
    expect([enc.convention, enc.axis, enc.scale.name]).toEqual(['per_channel_symmetric', 0, 'fc.weight_scale']);
    const a = affineOf(w, enc)!;
    expect([a.outer, a.n, a.inner, Array.from(a.scale), Array.from(a.offset)]).toEqual([1, 2, 3, [0.5, 0.25], [0, 0]]);
  });

  it('TF.js uint8: q * q_scale + q_min, one scale per tensor', () => {
    const w = t('conv/filters', 'U8', [3, 3, 2, 4], new Array(72).fill(7));
    const s = t('conv/filters.q_scale', 'F32', [], [0.125]);
    const m = t('conv/filters.q_min', 'F32', [], [-1.5]);
    const enc = findQuantEncoding(w, { tensors: [w, s, m], metadata: { format: 'tfjs-weights' } })!;
    expect([enc.convention, enc.axis]).toEqual(['tfjs_affine', null]);
    const a = affineOf(w, enc)!;
    expect([a.n, a.inner, a.scale[0], a.offset[0]]).toEqual([1, 72, 0.125, -1.5]);
  });

  it('torch quantized tensors: (q - zero_point) * scale, per channel along the stated axis', () => {
    const w = t('fc.weight', 'I8', [3, 2], [1, 2, 3, 4, 5, 6], 'quantized');
    const s = t('fc.weight.scale', 'F64', [2], [0.1, 0.2], 'quant_scale');
    const z = t('fc.weight.zero_point', 'I64', [2], [3, -1], 'quant_zero_point');
    const enc = findQuantEncoding(w, { tensors: [w, s, z], metadata: { quantization: { 'fc.weight': { scheme: 'per_channel_affine', axis: 1 } } } })!;
    expect([enc.convention, enc.axis]).toEqual(['torch_affine', 1]);
    const a = affineOf(w, enc)!;
    expect([a.outer, a.n, a.inner]).toEqual([3, 2, 1]);
    expect(Array.from(a.offset)).toEqual([-3 * 0.1, 1 * 0.2]);
  });

  it('no convention: integer tensors without scales, float tensors, and scales of the wrong length', () => {
    const w = t('fc.weight', 'I8', [2, 3], [0, 0, 0, 0, 0, 0]);
    expect(findQuantEncoding(w, { tensors: [w], metadata: {} })).toBeNull();
    const f = t('x', 'F32', [2], [1, 2]);
    expect(findQuantEncoding(f, { tensors: [f], metadata: {} })).toBeNull();
    const bad = t('fc.weight_scale', 'F32', [5], [1, 1, 1, 1, 1]);
    expect(findQuantEncoding(w, { tensors: [w, bad], metadata: {} })).toBeNull();
  });

  it('a non-finite scale makes the encoding unusable', () => {
    const w = t('fc.weight', 'I8', [2, 1], [1, 2]);
    const s = t('fc.weight_scale', 'F32', [2], [NaN, 1]);
    expect(affineOf(w, findQuantEncoding(w, { tensors: [w, s], metadata: {} })!)).toBeNull();
  });

  it('readValues decodes every parameter dtype', () => {
    expect(Array.from(readValues(t('a', 'I64', [2], [-3, 5])))).toEqual([-3, 5]);
    expect(Array.from(readValues(t('b', 'U8', [2], [200, 1])))).toEqual([200, 1]);
    expect(Array.from(readValues(t('c', 'F64', [1], [0.1])))).toEqual([0.1]);
  });
});
