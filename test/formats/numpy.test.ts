import { describe, expect, it } from 'vitest';
import { openNumpy } from '../../lib/formats/numpy/numpyReader.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture } from './helpers.js';
import { memMapper } from './memFile.js';
import { makeZip } from './zipWriter.js';

const open = (name: string) => openNumpy(fixture(name), {}, fsMappedFile);

function npy(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  let h = header;
  const pre = major === 1 ? 10 : 12;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const len = major === 1 ? [h.length & 0xff, h.length >> 8] : [h.length & 0xff, (h.length >> 8) & 0xff, 0, 0];
  return new Uint8Array(Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, ...len]), Buffer.from(h, 'latin1'), Buffer.from(data)]));
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('NumPy reader: known answers', () => {
  const single = ['f32', 'f16', 'f64be', 'i8', 'u8', 'i16', 'u16', 'i32be', 'u32', 'i64', 'u64', 'b', 'scalar', 'empty', 'fortran', 'fortran_be', 'v2', 'v3'];
  it.each(single)('npy_%s.npy', async (k) => {
    const m = await open(`npy_${k}.npy`);
    expectMatchesReference(m, `npy_${k}.npy`);
    expect(m.tensors).toHaveLength(1);
    m.close();
  });

  it('maps little-endian C-order data and converts big-endian and Fortran-order data in memory', async () => {
    const kinds: Record<string, string> = {};
    for (const k of ['f32', 'f64be', 'fortran', 'fortran_be', 'i32be']) {
      const m = await open(`npy_${k}.npy`);
      kinds[k] = m.tensors[0].source.kind;
      m.close();
    }
    expect(kinds).toEqual({ f32: 'mapped', f64be: 'memory', fortran: 'memory', fortran_be: 'memory', i32be: 'memory' });
  });

  it.each(['npz_stored.npz', 'npz_deflated.npz'])('%s', async (name) => {
    const m = await open(name);
    expectMatchesReference(m, name);
    expect(m.tensors.map((t) => t.name)).toEqual(['fc.weight', 'fc.bias', 'emb/weight', '/abs/name', 'be']);
    const kinds = m.tensors.map((t) => t.source.kind);
    expect(kinds).toEqual(name === 'npz_stored.npz' ? ['mapped', 'mapped', 'mapped', 'mapped', 'memory'] : new Array(5).fill('memory'));
    expect(m.orderIsDepth).toBe(false);
    m.close();
  });
});

describe('NumPy reader: bad input, one literal case per error', () => {
  const openBytes = (b: Uint8Array, name = 'bad.npy', max?: number) => openNumpy(name, max ? { maxInflatedBytes: max } : {}, memMapper(b));
  const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";

  it('reads the literal builder', async () => {
    const m = await openBytes(npy(good, f32(1, 2)));
    expect(m.tensors[0].shape).toEqual([2]);
  });
  it.each([
    ['wrong magic', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0, 0, 0, 0, 0]), 'wrong magic'],
    ['too short', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1]), 'too short'],
    ['unknown version', npy(good, f32(1, 2)).map((b, i) => (i === 6 ? 9 : b)), 'version 9'],
    ['header length past the end', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0x7f, 0x7b]), 'runs past the end'],
    ['not a dict', npy('[1, 2]', f32(1, 2)), 'not a dict literal'],
    ['object dtype', npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), 'object array'],
    ['structured dtype', npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), 'structured'],
    ['unknown dtype', npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), 'unsupported dtype <c8'],
    ['negative dimension', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), 'non-negative'],
    ['fortran_order not bool', npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", f32(1)), 'fortran_order'],
    ['data shorter than the shape (lying shape)', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }", f32(1, 2)), 'needs 4000 data bytes'],
    ['shape overflow', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), 'overflows'],
  ])('ERR_NPY: %s', async (_label, bytes, message) => {
    const e = await diffaiError(() => openBytes(bytes as Uint8Array));
    expect(e.code).toBe('ERR_NPY');
    expect(e.message).toContain(message);
    expect(e.message).toContain('bad.npy');
  });

  it('ERR_ZIP: truncated npz', async () => {
    const z = makeZip([{ name: 'a.npy', data: npy(good, f32(1, 2)) }]);
    expect((await diffaiError(() => openBytes(z.subarray(0, z.length - 10), 'bad.npz'))).code).toBe('ERR_ZIP');
  });
  it('ERR_NPY: an npz entry that is not an npy', async () => {
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'a.npy', data: 'hello world, not numpy' }]), 'bad.npz'));
    expect(e.code).toBe('ERR_NPY');
    expect(e.message).toContain('(a.npy)');
  });
  it('ERR_ZIP_BOMB: a deflated entry inflating past its declared size', async () => {
    const data = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (262144,), }", new Uint8Array(1 << 20));
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'a.npy', data, deflate: true, declaredSize: 200 }]), 'bomb.npz'));
    expect(e.code).toBe('ERR_ZIP_BOMB');
  });
  it('ERR_ZIP_BOMB: a declared size over the memory limit', async () => {
    const data = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (262144,), }", new Uint8Array(1 << 20));
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'a.npy', data, deflate: true }]), 'bomb.npz', 64 * 1024));
    expect(e.code).toBe('ERR_ZIP_BOMB');
    expect(e.message).toContain('over the limit');
  });
  it('ERR_ZIP_BOMB: an honest entry of 80 MiB of zeros (about 1000:1) is refused before inflating', async () => {
    const zeros = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (20971520,), }", new Uint8Array(80 * 1024 * 1024));
    const e = await diffaiError(() => openBytes(makeZip([{ name: 'a.npy', data: zeros, deflate: true }]), 'bomb.npz'));
    expect(e.code).toBe('ERR_ZIP_BOMB');
    expect(e.message).toMatch(/declares 83886208 bytes from \d+ compressed \(over 100:1 above 67108864 bytes\): refused as a zip bomb/);
  });
  it('a highly compressed entry under 64 MiB is read (zero-initialised tensors compress about 1000:1)', async () => {
    const zeros = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576,), }", new Uint8Array(4 * 1024 * 1024));
    const m = await openBytes(makeZip([{ name: 'a.npy', data: zeros, deflate: true }]), 'zeros.npz');
    expect(m.tensors[0]).toMatchObject({ name: 'a', count: 1048576 });
  });
  it('ERR_ZIP: CRC mismatch of a deflated entry', async () => {
    const z = makeZip([{ name: 'a.npy', data: npy(good, f32(1, 2)), deflate: true }]);
    // flip the CRC in the central directory and the local header
    const buf = Buffer.from(z);
    const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    buf.writeUInt32LE((buf.readUInt32LE(cd + 16) ^ 1) >>> 0, cd + 16);
    buf.writeUInt32LE((buf.readUInt32LE(14) ^ 1) >>> 0, 14);
    const e = await diffaiError(() => openBytes(new Uint8Array(buf), 'bad.npz'));
    expect(e.code).toBe('ERR_ZIP');
    expect(e.message).toContain('CRC');
  });
});
