import { describe, expect, it } from 'vitest';
import { openMatlab } from '../../lib/formats/matlab/matlabReader.js';
import { matlabVariableName, sameShapeIgnoringSingletons } from '../../lib/formats/matlab/matlabNames.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture, meta } from './helpers.js';
import { memMapper } from './memFile.js';

const open = (name: string) => openMatlab(fixture(name), {}, fsMappedFile);

/** A Level 5 header plus elements. */
function mat(...elements: Buffer[]): Uint8Array {
  const h = Buffer.alloc(128, 0x20);
  h.write('MATLAB 5.0 MAT-file, literal test', 0, 'latin1');
  h.writeUInt16LE(0x0100, 124);
  h.write('IM', 126, 'latin1');
  return new Uint8Array(Buffer.concat([h, ...elements]));
}
function el(type: number, data: Buffer): Buffer {
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(type, 0);
  tag.writeUInt32LE(data.length, 4);
  return Buffer.concat([tag, data, Buffer.alloc((8 - (data.length % 8)) % 8)]);
}
function matrix(name: string, dims: number[], cls: number, real: Buffer, realType: number): Buffer {
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(cls, 0);
  const d = Buffer.alloc(4 * dims.length);
  dims.forEach((x, i) => d.writeInt32LE(x, i * 4));
  return el(14, Buffer.concat([el(6, flags), el(5, d), el(1, Buffer.from(name)), el(realType, real)]));
}
const singles = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);

describe('MATLAB reader: known answers', () => {
  it.each(['mat_v5.mat', 'mat_v5_compressed.mat', 'mat_v73.mat'])('%s', async (name) => {
    const m = await open(name);
    expectMatchesReference(m, name);
    expect(m.format).toBe('matlab');
    const md = meta(m).matlab;
    expect(md.version).toBe(name === 'mat_v73.mat' ? '7.3' : '5');
    expect(md.tensor_names).toEqual({ fc_weight: 'fc.weight', fc_bias: 'fc.bias' });
    if (name !== 'mat_v73.mat') expect(md.strings).toEqual({ note: 'hello' });
    m.close();
  });

  it('transposes column-major matrices into memory and maps vectors in place', async () => {
    const m = await open('mat_v5.mat');
    const kind = (n: string) => m.tensors.find((t) => t.name === n)!.source.kind;
    expect([kind('fc.weight'), kind('cube'), kind('fc.bias')]).toEqual(['memory', 'memory', 'mapped']);
    expect(meta(m).matlab.dims['fc_weight']).toEqual([3, 4]);
    m.close();
  });

  it('the name and shape rules of MATLAB exports', () => {
    expect(matlabVariableName('/blocks.0/layer_norm/Constant_1_output_0')).toBe('blocks_0_layer_norm_Constant_1_output_0');
    expect(matlabVariableName('fc1.weight')).toBe('fc1_weight');
    expect(sameShapeIgnoringSingletons([1, 32], [32])).toBe(true);
    expect(sameShapeIgnoringSingletons([1], [])).toBe(true);
    expect(sameShapeIgnoringSingletons([2, 3], [3, 2])).toBe(false);
  });
});

describe('MATLAB reader: bad input, one literal case per error', () => {
  const openBytes = (b: Uint8Array, max?: number) => openMatlab('bad.mat', max ? { maxInflatedBytes: max } : {}, memMapper(b));

  it('reads the literal builder', async () => {
    const m = await openBytes(mat(matrix('w', [2, 2], 7, singles(1, 2, 3, 4), 7)));
    expect(m.tensors[0]).toMatchObject({ name: 'w', dtype: 'F32', shape: [2, 2] });
  });
  it.each([
    ['not a MAT-file', new TextEncoder().encode('hello'.padEnd(200, ' ')), 'ERR_MAT', 'not a MAT-file'],
    ['too short', new TextEncoder().encode('MATLAB 5.0'), 'ERR_MAT', 'too short'],
    ['bad endian indicator', mat().map((b, i) => (i === 126 ? 0x41 : b)), 'ERR_MAT', 'endian indicator'],
    ['element past the end (lying size)', mat(el(14, Buffer.alloc(16))).subarray(0, 140), 'ERR_MAT', 'past the end'],
    ['data size not matching the dimensions', mat(matrix('w', [3, 3], 7, singles(1, 2), 7)), 'ERR_MAT', 'need 36'],
    ['negative dimension', mat(matrix('w', [-1, 2], 7, singles(), 7)), 'ERR_MAT', 'invalid dimensions'],
    ['corrupt miCOMPRESSED', mat(el(15, Buffer.from('not zlib data at all'))), 'ERR_MAT', 'corrupt zlib'],
  ])('%s', async (_label, bytes, code, message) => {
    const e = await diffaiError(() => openBytes(bytes as Uint8Array));
    expect(e.code).toBe(code);
    expect(e.message).toContain(message);
  });
  it('ERR_ZIP_BOMB: miCOMPRESSED over 100:1 above 64 MiB is refused while inflating, not after', async () => {
    const { deflateSync } = await import('node:zlib');
    const inner = matrix('z', [1024, 20480], 7, Buffer.alloc(80 * 1024 * 1024), 7);
    const e = await diffaiError(() => openBytes(mat(el(15, deflateSync(inner)))));
    expect(e.code).toBe('ERR_ZIP_BOMB');
    expect(e.message).toMatch(/miCOMPRESSED element at byte 128 inflates past 67108864 bytes from \d+ compressed \(over 100:1 above 67108864 bytes\)/);
  });
  it('ERR_ZIP_BOMB: miCOMPRESSED inflating past the memory limit', async () => {
    const { deflateSync } = await import('node:zlib');
    const inner = matrix('z', [1024, 256], 7, Buffer.alloc(1024 * 1024), 7);
    const e = await diffaiError(() => openBytes(mat(el(15, deflateSync(inner))), 64 * 1024));
    expect(e.code).toBe('ERR_ZIP_BOMB');
  });
});
