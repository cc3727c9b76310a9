/**
 * Walking protobuf messages that live in a mapped file without copying them: each field's tag and
 * length are decoded (by protobufjs's Reader, from a copy of at most 20 bytes) and length-delimited
 * fields are reported as byte ranges. An ONNX model can be 2 GB of mostly tensor bytes; only the small
 * fields are ever copied.
 *
 * @module
 */
import protobuf from 'protobufjs/minimal.js';
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';

/** One field of a message. */
export interface ProtoField {
  readonly field: number;
  readonly wireType: number;
  /** For wire type 0 (varint): the value as a bigint. */
  readonly varint?: bigint;
  /** For wire types 1, 2, 5: the value's byte range in the file. */
  readonly start: number;
  readonly end: number;
}

/** Bytes a source can give: the mapped file. */
export type ProtoSource = Pick<NativeMappedFile, 'read' | 'size'>;

/**
 * The fields of the message in [start, end) of `file`, in order.
 * @throws DiffaiError `ERR_ONNX` for a truncated or malformed field.
 */
export function* protoFields(file: ProtoSource, start: number, end: number, fail: (m: string) => DiffaiError): Generator<ProtoField> {
  let pos = start;
  while (pos < end) {
    const win = file.read(pos, Math.min(20, end - pos));
    const r = protobuf.Reader.create(win);
    let tag: number;
    let consumed: number;
    let field: ProtoField;
    try {
      tag = r.uint32();
      const fieldNo = tag >>> 3;
      const wt = tag & 7;
      if (fieldNo === 0) throw new Error('field number 0');
      switch (wt) {
        case 0: {
          const v = r.uint64() as unknown as { toString(): string } | number;
          field = { field: fieldNo, wireType: 0, varint: BigInt.asIntN(64, BigInt(v.toString())), start: pos, end: pos + r.pos };
          consumed = r.pos;
          break;
        }
        case 1:
          field = { field: fieldNo, wireType: 1, start: pos + r.pos, end: pos + r.pos + 8 };
          consumed = r.pos + 8;
          break;
        case 5:
          field = { field: fieldNo, wireType: 5, start: pos + r.pos, end: pos + r.pos + 4 };
          consumed = r.pos + 4;
          break;
        case 2: {
          // Lengths are 64-bit varints: uint32() would silently truncate 2^62 to 0.
          const big = BigInt((r.uint64() as unknown as { toString(): string }).toString());
          if (big > BigInt(end - pos)) throw new Error(`length ${big} runs past the end of its message (${end})`);
          const len = Number(big);
          field = { field: fieldNo, wireType: 2, start: pos + r.pos, end: pos + r.pos + len };
          consumed = r.pos + len;
          break;
        }
        default:
          throw new Error(`wire type ${wt}`);
      }
    } catch (e) {
      throw fail(`malformed protobuf field at byte ${pos} (${(e as Error).message})`);
    }
    if (pos + consumed > end) throw fail(`protobuf field ${field.field} at byte ${pos} runs past the end of its message (${end})`);
    yield field;
    pos += consumed;
  }
}

/** Decodes a packed run of varints (copied: these are small metadata or typed data fields). */
export function packedVarints(bytes: Uint8Array, fail: (m: string) => DiffaiError): bigint[] {
  const r = protobuf.Reader.create(bytes);
  const out: bigint[] = [];
  try {
    while (r.pos < r.len) out.push(BigInt.asIntN(64, BigInt((r.uint64() as unknown as { toString(): string }).toString())));
  } catch (e) {
    throw fail(`malformed packed varints (${(e as Error).message})`);
  }
  return out;
}
