import { describe, expect, it } from 'vitest';
import { parseSafetensorsHeader } from '../../lib/formats/safetensors/parseSafetensorsHeader.js';

const enc = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code + ': ' + (e as Error).message;
  }
  return 'no error';
}

describe('parseSafetensorsHeader (validation order of huggingface/safetensors tensor.rs)', () => {
  it('accepts a valid header with metadata, a 0-d tensor and a zero-sized tensor', () => {
    const h = parseSafetensorsHeader(
      enc({
        __metadata__: { format: 'pt' },
        w: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        s: { dtype: 'F64', shape: [], data_offsets: [24, 32] },
        e: { dtype: 'F16', shape: [0, 4], data_offsets: [32, 32] },
      }),
      32,
      'm.safetensors',
    );
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.entries.map((e) => [e.name, e.count])).toEqual([
      ['w', 6],
      ['s', 1],
      ['e', 0],
    ]);
  });

  it('does not mistake equal keys inside different entries or inside strings for duplicates', () => {
    const h = parseSafetensorsHeader(
      enc('{"__metadata__": {"dtype": "x", "a": "\\"a\\": 1"}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "b": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}'),
      2,
      'f',
    );
    expect(h.entries.map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('accepts entries listed out of offset order (the reference sorts by offsets)', () => {
    const h = parseSafetensorsHeader(
      enc({ b: { dtype: 'U8', shape: [2], data_offsets: [2, 4] }, a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }),
      4,
      'f',
    );
    expect(h.entries.map((e) => e.name)).toEqual(['b', 'a']);
  });

  it.each([
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 0, /ERR_SAFETENSORS_INVALID_HEADER: f: .*not valid UTF-8/],
    ['not JSON', enc('{"a": '), 0, /ERR_SAFETENSORS_INVALID_HEADER: f: .*not valid JSON/],
    ['not an object', enc('[1, 2]'), 0, /ERR_SAFETENSORS_INVALID_HEADER: .*not a JSON object/],
    [
      'two entries with one name',
      enc('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]}, "a" : {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}'),
      4,
      /ERR_SAFETENSORS_INVALID_HEADER: f: safetensors header has two entries named 'a'/,
    ],
    ['two escaped-equal names', enc('{"\\u0061": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, "a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}'), 0, /two entries named 'a'/],
    ['metadata not strings', enc({ __metadata__: { epoch: 3 } }), 0, /ERR_SAFETENSORS_METADATA: .*__metadata__\.epoch must be a string/],
    ['unknown dtype', enc({ w: { dtype: 'F12', shape: [1], data_offsets: [0, 2] } }), 2, /ERR_SAFETENSORS_INVALID_DTYPE: .*'w' has unknown dtype "F12"/],
    ['negative dimension', enc({ w: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }), 0, /ERR_SAFETENSORS_INVALID_SHAPE: .*'w' has an invalid dimension -1/],
    ['fractional dimension', enc({ w: { dtype: 'U8', shape: [1.5], data_offsets: [0, 0] } }), 0, /ERR_SAFETENSORS_INVALID_SHAPE/],
    ['shape overflow', enc({ w: { dtype: 'U8', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 0] } }), 0, /ERR_SAFETENSORS_INVALID_SHAPE: .*overflows/],
    ['missing offsets', enc({ w: { dtype: 'U8', shape: [1] } }), 1, /ERR_SAFETENSORS_INVALID_HEADER: f: tensor 'w' has no data_offsets$/],
    ['a dimension beyond 2^53', enc('{"w": {"dtype": "U8", "shape": [4611686018427387904], "data_offsets": [0, 0]}}'), 0, /'w' has an invalid dimension beyond 2\^53/],
    [
      'gap between tensors',
      enc({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } }),
      5,
      /ERR_SAFETENSORS_INVALID_OFFSETS: .*'b' leaves a gap/,
    ],
    [
      'overlapping tensors',
      enc({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }),
      3,
      /ERR_SAFETENSORS_INVALID_OFFSETS: .*'b' overlaps the previous tensor/,
    ],
    ['reversed offsets', enc({ a: { dtype: 'U8', shape: [0], data_offsets: [0, 0] }, b: { dtype: 'U8', shape: [2], data_offsets: [0, -1] } }), 0, /invalid data_offsets/],
    ['byte length != shape x dtype', enc({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), 8, /ERR_SAFETENSORS_SHAPE_MISMATCH: .*'w' has 8 bytes but shape \[3\] of F32 needs 12/],
    ['trailing bytes', enc({ w: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }), 5, /ERR_SAFETENSORS_INVALID_OFFSETS: .*3 trailing bytes/],
    ['data section too short', enc({ w: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } }), 2, /ERR_SAFETENSORS_INVALID_OFFSETS: .*need 4 bytes but the data section has 2/],
  ])('rejects %s', (_name, bytes, dataLength, expected) => {
    expect(codeOf(() => parseSafetensorsHeader(bytes, dataLength, 'f'))).toMatch(expected);
  });
});
