import { describe, expect, it } from 'vitest';
import { openOnnx } from '../../lib/formats/onnx/onnxReader.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture, meta } from './helpers.js';
import { memMapper } from './memFile.js';

const open = (name: string) => openOnnx(fixture(name), {}, fsMappedFile);

const varint = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
};
const field = (no: number, payload: number[] | Buffer): number[] => [...varint((no << 3) | 2), ...varint(payload.length), ...payload];
const vfield = (no: number, v: number): number[] => [...varint(no << 3), ...varint(v)];
/** ModelProto { ir_version: 8, graph { initializer { dims, data_type: FLOAT, name: 'w', raw_data } } }. */
function model(dims: number[], raw: Buffer, dataType = 1): Uint8Array {
  const tensor = [...dims.flatMap((d) => vfield(1, d)), ...vfield(2, dataType), ...field(8, Buffer.from('w')), ...field(9, raw)];
  return new Uint8Array([...vfield(1, 8), ...field(7, field(5, tensor))]);
}

describe('ONNX reader: known answers', () => {
  it('reads initializers from raw_data and every typed field, and Constant nodes', async () => {
    const m = await open('onnx_model.onnx');
    expectMatchesReference(m, 'onnx_model.onnx');
    const kind = (n: string) => m.tensors.find((t) => t.name === n)!.source.kind;
    expect([kind('fc.weight'), kind('fc.bias'), kind('dbl'), kind('shape'), kind('half')]).toEqual(['mapped', 'mapped', 'mapped', 'memory', 'memory']);
    const md = meta(m).onnx;
    expect(md).toMatchObject({ producer_name: 'diffai-fixtures', graph_name: 'tiny', opset_import: { 'ai.onnx': 13 } });
    m.close();
  });
  it('maps external data files', async () => {
    const m = await open('onnx_external/model.onnx');
    expectMatchesReference(m, 'onnx_external/model.onnx');
    expect(m.tensors.every((t) => t.source.kind === 'mapped' && t.source.file.path.endsWith('weights.bin'))).toBe(true);
    m.close();
  });
});

describe('ONNX reader: bad input, one literal case per error', () => {
  const openBytes = (b: Uint8Array) => openOnnx('/tmp/bad.onnx', {}, memMapper(b));
  it('reads the literal builder', async () => {
    const m = await openBytes(model([2], Buffer.from(new Float32Array([1, 2]).buffer)));
    expect(m.tensors[0]).toMatchObject({ name: 'w', dtype: 'F32', shape: [2] });
  });
  it.each([
    ['not a model', new Uint8Array(Buffer.from('hello, this is text')), 'malformed protobuf'],
    ['no graph', new Uint8Array(vfield(1, 8)), 'not an ONNX model'],
    ['truncated', model([2], Buffer.alloc(8)).subarray(0, 12), 'runs past the end'],
    ['raw_data shorter than the shape (lying dims)', model([100], Buffer.alloc(8)), 'needs 400'],
    ['group wire type', new Uint8Array([0x0b, 0x0c]), 'malformed protobuf'],
    // graph (field 7) with a length varint of 2^62 and no payload: a 32-bit read would see length 0
    ['a 64-bit length past the end', new Uint8Array([...vfield(1, 8), 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]), 'length 4611686018427387904 runs past the end'],
  ])('ERR_ONNX: %s', async (_label, bytes, message) => {
    const e = await diffaiError(() => openBytes(bytes as Uint8Array));
    expect(e.code).toBe('ERR_ONNX');
    expect(e.message).toContain(message);
  });
  it('ERR_ONNX: external data outside the model directory', async () => {
    const ext = [...field(1, Buffer.from('location')), ...field(2, Buffer.from('../../etc/passwd'))];
    const tensor = [...vfield(1, 2), ...vfield(2, 1), ...field(8, Buffer.from('w')), ...field(13, ext), ...vfield(14, 1)];
    const e = await diffaiError(() => openBytes(new Uint8Array([...vfield(1, 8), ...field(7, field(5, tensor))])));
    expect(e.code).toBe('ERR_ONNX');
    expect(e.message).toContain('outside the model');
  });
});
