import { describe, expect, it } from 'vitest';
import { byteLengthOf } from '../../lib/formats/dtype.js';
import { openGguf } from '../../lib/formats/gguf/ggufReader.js';
import { fsMappedFile } from './fsMappedFile.js';
import { diffaiError, expectMatchesReference, fixture, meta } from './helpers.js';
import { memMapper } from './memFile.js';

const open = (name: string) => openGguf(fixture(name), {}, fsMappedFile);

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

/** A GGUF v3 file with one F32 tensor `w` of `dims` (ggml order) and its data. */
function gguf(opts: { version?: number; type?: number; dims?: number[]; offset?: number; data?: Buffer; kvs?: Buffer[]; tensors?: number } = {}): Uint8Array {
  const dims = opts.dims ?? [2, 3];
  const kvs = opts.kvs ?? [Buffer.concat([str('general.architecture'), u32(8), str('t')])];
  const info = Buffer.concat([str('w'), u32(dims.length), ...dims.map((d) => u64(d)), u32(opts.type ?? 0), u64(opts.offset ?? 0)]);
  let head = Buffer.concat([Buffer.from('GGUF'), u32(opts.version ?? 3), u64(opts.tensors ?? 1), u64(kvs.length), ...kvs, info]);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  return new Uint8Array(Buffer.concat([head, opts.data ?? Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)]));
}

describe('GGUF reader: known answers', () => {
  it.each(['gguf_v3.gguf', 'gguf_v2.gguf'])('%s', async (name) => {
    const m = await open(name);
    expectMatchesReference(m, name);
    const q = m.tensors.find((t) => t.name === 'q.weight')!;
    expect(q).toMatchObject({ dtype: 'Q8_0', shape: [2, 32], count: 64 });
    expect(q.source).toMatchObject({ kind: 'mapped', byteLength: byteLengthOf('Q8_0', 64) });
    expect(m.tensors.every((t) => t.source.kind === 'mapped')).toBe(true);
    const md = meta(m);
    expect(md.gguf.version).toBe(name === 'gguf_v3.gguf' ? 3 : 2);
    expect(md.gguf.kv['tokenizer.tokens']).toEqual(['a', 'b', 'c']);
    expect(md.gguf.kv['tokenizer.scores']).toEqual({ type: 'float32', length: 2000 });
    expect(md.gguf.kv['general.flag']).toBe(true);
    expect(md.gguf.kv['general.big']).toBe(-5);
    expect(md.config).toEqual({ model_type: 'tiny', num_attention_heads: 2, hidden_size: 4, num_hidden_layers: 1 });
    m.close();
  });
});

describe('GGUF reader: bad input, one literal case per error', () => {
  const openBytes = (b: Uint8Array) => openGguf('bad.gguf', {}, memMapper(b));
  it('reads the literal builder', async () => {
    const m = await openBytes(gguf());
    expect(m.tensors[0]).toMatchObject({ name: 'w', dtype: 'F32', shape: [3, 2] });
  });
  it.each([
    ['wrong magic', Buffer.from('GGUX0000000000000000000000000000'), 'wrong magic'],
    ['version 1', gguf({ version: 1 }), 'unsupported GGUF version 1'],
    ['truncated header', gguf().subarray(0, 30), 'truncated header'],
    ['tensor count beyond the file', gguf({ tensors: 1 << 30 }), 'more than the file can hold'],
    ['unknown value type', gguf({ kvs: [Buffer.concat([str('k'), u32(99), u32(0)])] }), 'unknown value type 99'],
    ['string longer than the file', gguf({ kvs: [Buffer.concat([str('k'), u32(8), u64(1e9)])] }), 'runs past the end'],
    ['data past the end (lying dims)', gguf({ dims: [1000, 1000] }), 'runs past the end of the file'],
    ['misaligned offset', gguf({ offset: 4 }), 'not a multiple of the alignment'],
    ['unsupported quantization', gguf({ type: 2, dims: [32, 1], data: Buffer.alloc(18) }), 'Q4_0'],
    ['unknown ggml type', gguf({ type: 77 }), 'unknown ggml type 77'],
    ['Q8_0 rows not whole blocks', gguf({ type: 8, dims: [20, 1], data: Buffer.alloc(34) }), 'not whole Q8_0 blocks'],
  ])('ERR_GGUF: %s', async (_label, bytes, message) => {
    const e = await diffaiError(() => openBytes(new Uint8Array(bytes)));
    expect(e.code).toBe('ERR_GGUF');
    expect(e.message).toContain(message);
  });
});
