/**
 * A minimal zip writer for literal-bytes tests: stored or deflated entries, optionally with a lying
 * uncompressed size.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipInput {
  name: string;
  data: Uint8Array | string;
  deflate?: boolean;
  /** Declared uncompressed size, when it should lie. */
  declaredSize?: number;
}

export function makeZip(entries: ZipInput[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : Buffer.from(e.data);
    const stored = e.deflate ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name);
    const size = e.declaredSize ?? data.length;
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, stored);
    centrals.push(central, name);
    offset += 30 + name.length + stored.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, eocd]));
}

/** Bytes of a pickle assembled from strings (latin1) and byte arrays. */
export function pickleBytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))));
}

/** A protocol-2 torch state dict pickle with one F32 tensor `w` of `shape` on storage key `key` holding `numel` elements. */
export function torchPickle(shape: number[], key = '0', numel = shape.reduce((a, b) => a * b, 1), offset = 0): Uint8Array {
  const int = (n: number): string => 'J' + Buffer.from(new Int32Array([n]).buffer).toString('latin1');
  const tuple = (items: number[]): string => '(' + items.map(int).join('') + 't';
  const stride: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride.unshift(s);
    s *= shape[i];
  }
  const str = (t: string): string => 'X' + Buffer.from(new Uint32Array([t.length]).buffer).toString('latin1') + t;
  return pickleBytes(
    '\x80\x02}(',
    str('w'),
    'ctorch._utils\n_rebuild_tensor_v2\n(',
    '(' + str('storage') + 'ctorch\nFloatStorage\n' + str(key) + str('cpu') + int(numel) + 'tQ',
    int(offset),
    tuple(shape),
    tuple(stride),
    '\x89',
    'ccollections\nOrderedDict\n)R',
    'tR',
    'u.',
  );
}
