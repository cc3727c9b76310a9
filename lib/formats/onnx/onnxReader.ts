/**
 * The ONNX reader: the initializers of a model's main graph and the tensors of its Constant nodes,
 * from `raw_data` (mapped in place), typed fields (`float_data` and `double_data` mapped, varint
 * fields decoded into memory) or external data files (mapped).
 *
 * Message and field numbers follow onnx/onnx.proto (ModelProto.graph = 7, GraphProto.node = 1,
 * GraphProto.initializer = 5, TensorProto.dims = 1, data_type = 2, ... raw_data = 9,
 * external_data = 13, data_location = 14).
 *
 * @module
 */
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import type { DType } from '../dtype.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor, TensorSource } from '../TensorDescriptor.js';
import { shapeCount } from '../numpy/layout.js';
import { mapFile as defaultMapFile, type FileMapper } from '../numpy/mapFile.js';
import { MemoryBudget } from '../numpy/memoryBudget.js';
import { packedVarints, protoFields, type ProtoField } from './protoFields.js';

/** ONNX TensorProto.DataType -> dtype and the typed field that holds it when raw_data is absent. */
const ONNX_DTYPES: Readonly<Record<number, { dtype: DType; size: number; field: 'float' | 'int32' | 'int64' | 'double' | 'uint64' }>> = {
  1: { dtype: 'F32', size: 4, field: 'float' },
  2: { dtype: 'U8', size: 1, field: 'int32' },
  3: { dtype: 'I8', size: 1, field: 'int32' },
  4: { dtype: 'U16', size: 2, field: 'int32' },
  5: { dtype: 'I16', size: 2, field: 'int32' },
  6: { dtype: 'I32', size: 4, field: 'int32' },
  7: { dtype: 'I64', size: 8, field: 'int64' },
  9: { dtype: 'BOOL', size: 1, field: 'int32' },
  10: { dtype: 'F16', size: 2, field: 'int32' },
  11: { dtype: 'F64', size: 8, field: 'double' },
  12: { dtype: 'U32', size: 4, field: 'uint64' },
  13: { dtype: 'U64', size: 8, field: 'uint64' },
  16: { dtype: 'BF16', size: 2, field: 'int32' },
  17: { dtype: 'F8_E4M3', size: 1, field: 'int32' },
  19: { dtype: 'F8_E5M2', size: 1, field: 'int32' },
};
const ONNX_TYPE_NAMES: Readonly<Record<number, string>> = { 8: 'STRING', 14: 'COMPLEX64', 15: 'COMPLEX128', 18: 'FLOAT8E4M3FNUZ', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4' };

/** Copies of small fields are capped: names, dims and external-data keys are tiny in any real model. */
const MAX_SMALL_FIELD = 1 << 20;

interface Ctx {
  readonly file: NativeMappedFile;
  readonly path: string;
  readonly budget: MemoryBudget;
  readonly mapFile: FileMapper;
  readonly external: Map<string, NativeMappedFile>;
  readonly fail: (m: string) => DiffaiError;
}

function small(ctx: Ctx, f: ProtoField, what: string): Uint8Array {
  if (f.end - f.start > MAX_SMALL_FIELD) throw ctx.fail(`${what} of ${f.end - f.start} bytes is implausibly large`);
  return ctx.file.read(f.start, f.end - f.start);
}

function text(ctx: Ctx, f: ProtoField, what: string): string {
  return new TextDecoder().decode(small(ctx, f, what));
}

/** Parses one TensorProto in [start, end) into a descriptor (without a name override). */
async function tensorProto(ctx: Ctx, start: number, end: number, fallbackName: string): Promise<TensorDescriptor | { skipped: string; name: string }> {
  const dims: bigint[] = [];
  let dataType = 0;
  let name = fallbackName;
  let raw: ProtoField | null = null;
  const typed: Record<string, ProtoField[]> = {};
  const external: Record<string, string> = {};
  let location = 0;
  for (const f of protoFields(ctx.file, start, end, ctx.fail)) {
    switch (f.field) {
      case 1:
        if (f.wireType === 0) dims.push(f.varint!);
        else if (f.wireType === 2) dims.push(...packedVarints(small(ctx, f, 'dims'), ctx.fail));
        break;
      case 2:
        dataType = Number(f.varint ?? 0n);
        break;
      case 3:
        throw ctx.fail(`tensor ${name} is split into segments, which is not supported`);
      case 4: (typed.float ??= []).push(f); break;
      case 5: (typed.int32 ??= []).push(f); break;
      case 7: (typed.int64 ??= []).push(f); break;
      case 10: (typed.double ??= []).push(f); break;
      case 11: (typed.uint64 ??= []).push(f); break;
      case 8:
        name = text(ctx, f, 'tensor name');
        break;
      case 9:
        raw = f;
        break;
      case 13: {
        let key = '';
        let value = '';
        for (const g of protoFields(ctx.file, f.start, f.end, ctx.fail)) {
          if (g.field === 1 && g.wireType === 2) key = text(ctx, g, 'external_data key');
          if (g.field === 2 && g.wireType === 2) value = text(ctx, g, 'external_data value');
        }
        external[key] = value;
        break;
      }
      case 14:
        location = Number(f.varint ?? 0n);
        break;
      default:
        break;
    }
  }
  const info = ONNX_DTYPES[dataType];
  if (!info) return { name, skipped: `data type ${ONNX_TYPE_NAMES[dataType] ?? dataType} is not compared` };
  if (dims.some((d) => d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER))) throw ctx.fail(`tensor ${name} has invalid dims [${dims.join(', ')}]`);
  const shape = dims.map(Number);
  const count = shapeCount(shape);
  const byteLength = count * info.size;
  if (!Number.isSafeInteger(byteLength)) throw ctx.fail(`tensor ${name} shape [${shape.join(', ')}] overflows`);
  let source: TensorSource;
  if (location === 1) {
    source = await externalSource(ctx, name, external, byteLength);
  } else if (raw !== null) {
    if (raw.end - raw.start !== byteLength) throw ctx.fail(`tensor ${name}: raw_data holds ${raw.end - raw.start} bytes, shape [${shape.join(', ')}] of ${info.dtype} needs ${byteLength}`);
    source = { kind: 'mapped', file: ctx.file, offset: raw.start, byteLength };
  } else {
    source = typedSource(ctx, name, info, typed, count);
  }
  return { name, dtype: info.dtype, shape, count, source };
}

function typedSource(ctx: Ctx, name: string, info: (typeof ONNX_DTYPES)[number], typed: Record<string, ProtoField[]>, count: number): TensorSource {
  const fields = typed[info.field] ?? [];
  const byteLength = count * info.size;
  if (info.field === 'float' || info.field === 'double') {
    const width = info.field === 'float' ? 4 : 8;
    // One packed field holds the little-endian values as they are: map it.
    if (fields.length === 1 && fields[0].wireType === 2) {
      const f = fields[0];
      if (f.end - f.start !== byteLength) throw ctx.fail(`tensor ${name}: ${info.field}_data holds ${(f.end - f.start) / width} values, shape needs ${count}`);
      return { kind: 'mapped', file: ctx.file, offset: f.start, byteLength };
    }
    ctx.budget.take(byteLength, `tensor ${name}`);
    const out = new Uint8Array(byteLength);
    let o = 0;
    for (const f of fields) {
      const b = ctx.file.read(f.start, f.end - f.start);
      if (o + b.length > byteLength) throw ctx.fail(`tensor ${name}: ${info.field}_data holds more values than its shape`);
      out.set(b, o);
      o += b.length;
    }
    if (o !== byteLength) throw ctx.fail(`tensor ${name}: ${info.field}_data holds ${o / width} values, shape needs ${count}`);
    return { kind: 'memory', data: out };
  }
  const values: bigint[] = [];
  for (const f of fields) {
    if (f.wireType === 0) values.push(f.varint!);
    else {
      if (f.end - f.start > 16 * byteLength + 16) throw ctx.fail(`tensor ${name}: ${info.field}_data is larger than its shape allows`);
      values.push(...packedVarints(ctx.file.read(f.start, f.end - f.start), ctx.fail));
    }
  }
  if (values.length !== count) throw ctx.fail(`tensor ${name}: ${info.field}_data holds ${values.length} values, shape needs ${count}`);
  ctx.budget.take(byteLength, `tensor ${name}`);
  const out = new Uint8Array(byteLength);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    switch (info.size) {
      case 1: dv.setUint8(i, Number(BigInt.asUintN(8, v))); break;
      case 2: dv.setUint16(i * 2, Number(BigInt.asUintN(16, v)), true); break;
      case 4: dv.setUint32(i * 4, Number(BigInt.asUintN(32, v)), true); break;
      default: dv.setBigUint64(i * 8, BigInt.asUintN(64, v), true);
    }
  });
  return { kind: 'memory', data: out };
}

async function externalSource(ctx: Ctx, name: string, external: Record<string, string>, byteLength: number): Promise<TensorSource> {
  const location = external.location;
  if (!location) throw ctx.fail(`tensor ${name} has external data without a location`);
  // The ONNX checker allows only paths inside the model's directory; so does diffai.
  const base = dirname(ctx.path);
  const target = resolve(base, location);
  if (isAbsolute(location) || !(target === base || target.startsWith(base + sep))) {
    throw ctx.fail(`tensor ${name}: external data location ${JSON.stringify(location)} is outside the model's directory`);
  }
  let file = ctx.external.get(target);
  if (!file) {
    try {
      file = await ctx.mapFile(target);
    } catch (e) {
      throw ctx.fail(`tensor ${name}: cannot open external data file ${location} (${(e as Error).message})`);
    }
    ctx.external.set(target, file);
  }
  const offset = external.offset === undefined ? 0 : Number(external.offset);
  const length = external.length === undefined ? byteLength : Number(external.length);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length !== byteLength) {
    throw ctx.fail(`tensor ${name}: external data offset ${external.offset} / length ${external.length} do not match its ${byteLength} bytes`);
  }
  if (offset + length > file.size) throw ctx.fail(`tensor ${name}: external data [${offset}, ${offset + length}) runs past the end of ${location} (${file.size} bytes)`);
  return { kind: 'mapped', file, offset, byteLength };
}

/**
 * Opens an ONNX model.
 * @throws DiffaiError `ERR_ONNX` (malformed protobuf, a graph without tensors, data not matching the
 *   shape, external data outside the model's directory or missing).
 */
export async function openOnnx(path: string, options: ReadOptions = {}, mapFile: FileMapper = defaultMapFile): Promise<ModelFile> {
  const file = await mapFile(path);
  const external = new Map<string, NativeMappedFile>();
  const closeAll = (): void => {
    for (const f of external.values()) f.close();
    file.close();
  };
  try {
    const fail = (m: string): DiffaiError => new DiffaiError('ERR_ONNX', `${path}: ${m}`, { file: path });
    const ctx: Ctx = { file, path, budget: new MemoryBudget(path, options.maxInflatedBytes), mapFile, external, fail };
    const meta: Record<string, unknown> = {};
    const opsets: Record<string, number> = {};
    const props: Record<string, string> = {};
    let graph: ProtoField | null = null;
    for (const f of protoFields(file, 0, file.size, fail)) {
      if (f.field === 1 && f.wireType === 0) meta.ir_version = Number(f.varint);
      else if (f.field === 2 && f.wireType === 2) meta.producer_name = text(ctx, f, 'producer_name');
      else if (f.field === 3 && f.wireType === 2) meta.producer_version = text(ctx, f, 'producer_version');
      else if (f.field === 7 && f.wireType === 2) graph = f;
      else if (f.field === 8 && f.wireType === 2) {
        let domain = '';
        let version = 0;
        for (const g of protoFields(file, f.start, f.end, fail)) {
          if (g.field === 1 && g.wireType === 2) domain = text(ctx, g, 'opset domain');
          if (g.field === 2 && g.wireType === 0) version = Number(g.varint);
        }
        opsets[domain === '' ? 'ai.onnx' : domain] = version;
      } else if (f.field === 14 && f.wireType === 2) {
        let key = '';
        let value = '';
        for (const g of protoFields(file, f.start, f.end, fail)) {
          if (g.field === 1 && g.wireType === 2) key = text(ctx, g, 'metadata key');
          if (g.field === 2 && g.wireType === 2) value = text(ctx, g, 'metadata value');
        }
        props[key] = value;
      }
    }
    if (graph === null || meta.ir_version === undefined) throw fail(`not an ONNX model (no ir_version and graph fields)`);
    const tensors: TensorDescriptor[] = [];
    const skipped: Record<string, string> = {};
    const names = new Set<string>();
    const add = (t: TensorDescriptor | { skipped: string; name: string }): void => {
      if ('skipped' in t) {
        skipped[t.name] = t.skipped;
        return;
      }
      if (names.has(t.name)) throw fail(`two tensors are named ${t.name}`);
      names.add(t.name);
      tensors.push(t);
    };
    let graphName = '';
    let sparse = 0;
    for (const f of protoFields(file, graph.start, graph.end, fail)) {
      if (f.wireType !== 2) continue;
      if (f.field === 5) add(await tensorProto(ctx, f.start, f.end, `initializer_${tensors.length}`));
      else if (f.field === 15) sparse++;
      else if (f.field === 2) graphName = text(ctx, f, 'graph name');
      else if (f.field === 1) {
        // NodeProto: a Constant node's `value` attribute is a tensor named by the node's output.
        let output = '';
        let opType = '';
        const tensorsOfNode: ProtoField[] = [];
        for (const g of protoFields(file, f.start, f.end, fail)) {
          if (g.field === 2 && g.wireType === 2 && output === '') output = text(ctx, g, 'node output');
          else if (g.field === 4 && g.wireType === 2) opType = text(ctx, g, 'node op_type');
          else if (g.field === 5 && g.wireType === 2) {
            let attrName = '';
            let t: ProtoField | null = null;
            for (const a of protoFields(file, g.start, g.end, fail)) {
              if (a.field === 1 && a.wireType === 2) attrName = text(ctx, a, 'attribute name');
              if (a.field === 5 && a.wireType === 2) t = a;
            }
            if (attrName === 'value' && t) tensorsOfNode.push(t);
          }
        }
        if (opType === 'Constant' && tensorsOfNode.length === 1 && output !== '') {
          const t = await tensorProto(ctx, tensorsOfNode[0].start, tensorsOfNode[0].end, output);
          add({ ...t, name: output });
        }
      }
    }
    if (sparse > 0) skipped['(sparse initializers)'] = `${sparse} sparse initializers are not compared`;
    return {
      path,
      format: 'onnx',
      tensors,
      metadata: {
        onnx: { ...meta, graph_name: graphName, opset_import: opsets, ...(Object.keys(props).length > 0 ? { metadata_props: props } : {}), ...(Object.keys(skipped).length > 0 ? { skipped } : {}) },
      },
      // Exporters write initializers roughly in module order, but nothing in the format promises it.
      orderIsDepth: false,
      bytes: file.size + [...external.values()].reduce((s, f) => s + f.size, 0),
      close: closeAll,
    };
  } catch (e) {
    closeAll();
    throw e;
  }
}

/** The ONNX {@link ModelReader}. */
export const onnxReader: ModelReader = {
  format: 'onnx',
  detect: (path, _head, isDirectory) => !isDirectory && path.toLowerCase().endsWith('.onnx'),
  open: (path, options) => openOnnx(path, options),
};
