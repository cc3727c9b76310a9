/**
 * The allow-list of globals a PyTorch checkpoint may name, and the inert models of what they build.
 *
 * These are the globals `torch.save` writes for tensors and containers (and that `torch.load(...,
 * weights_only=True)` accepts), plus a few inert value types common in checkpoints (argparse
 * Namespace, numpy scalars and arrays). Every other global is refused when it is named, before
 * anything is built. Nothing here runs Python: each allowed call is a small TypeScript function over
 * parsed values.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { DType } from '../dtype.js';
import { PyDict, PyGlobal, PySet, PyTuple, describe, type PicklePolicy, type PyValue } from './pickleMachine.js';

/** Storage class name (`torch.FloatStorage`) -> dtype. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  QInt8Storage: 'I8',
  QUInt8Storage: 'U8',
  QInt32Storage: 'I32',
  Float8_e4m3fnStorage: 'F8_E4M3',
  Float8_e5m2Storage: 'F8_E5M2',
  UInt16Storage: 'U16',
  UInt32Storage: 'U32',
  UInt64Storage: 'U64',
  UntypedStorage: 'U8',
};

/** Storage classes torch knows but diffai does not compare; named in the refusal. */
const UNSUPPORTED_STORAGES = new Set(['ComplexFloatStorage', 'ComplexDoubleStorage', 'ComplexHalfStorage', 'QUInt4x2Storage', 'QUInt2x4Storage']);

const TORCH_DTYPES = new Set([
  'float64', 'double', 'float32', 'float', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int', 'int16', 'short',
  'int8', 'uint8', 'bool', 'qint8', 'quint8', 'qint32', 'quint4x2', 'float8_e4m3fn', 'float8_e5m2', 'uint16', 'uint32', 'uint64',
  'complex64', 'complex128', 'cfloat', 'cdouble',
]);
const QSCHEMES = new Set(['per_tensor_affine', 'per_channel_affine', 'per_channel_affine_float_qparams', 'per_tensor_symmetric', 'per_channel_symmetric']);
const REBUILDS = new Set(['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state', '_rebuild_qtensor']);
/** torch rebuild functions for tensor kinds diffai does not read: refused as unsupported, not as unsafe. */
const UNSUPPORTED_REBUILDS = new Set([
  '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor', '_rebuild_nested_tensor', '_rebuild_meta_tensor_no_storage',
  '_rebuild_wrapper_subclass', '_rebuild_device_tensor_from_numpy', '_rebuild_xla_tensor', '_rebuild_mlc_tensor',
]);

/**
 * Whether `module.name` is on the allow-list. `unsupported` globals are torch's own but name tensor kinds
 * diffai cannot compare (sparse, nested, complex): they are refused with `ERR_PICKLE`, not as a threat.
 */
export function classifyGlobal(module: string, name: string): 'allowed' | 'unsupported' | 'refused' {
  switch (module) {
    case 'torch._utils':
      if (REBUILDS.has(name)) return 'allowed';
      if (UNSUPPORTED_REBUILDS.has(name)) return 'unsupported';
      return 'refused';
    case 'torch':
      if (name in STORAGE_DTYPES || TORCH_DTYPES.has(name) || QSCHEMES.has(name) || name === 'Size' || name === 'device' || name === 'Tensor') return 'allowed';
      if (UNSUPPORTED_STORAGES.has(name)) return 'unsupported';
      return 'refused';
    case 'torch._tensor':
      return name === '_rebuild_from_type_v2' ? 'allowed' : 'refused';
    case 'torch.nn.parameter':
      return name === 'Parameter' ? 'allowed' : 'refused';
    case 'torch.torch_version':
      return name === 'TorchVersion' ? 'allowed' : 'refused';
    case 'collections':
      return name === 'OrderedDict' ? 'allowed' : 'refused';
    case 'builtins':
    case '__builtin__':
      return name === 'set' || name === 'frozenset' ? 'allowed' : 'refused';
    case '_codecs':
      return name === 'encode' ? 'allowed' : 'refused';
    case 'argparse':
      return name === 'Namespace' ? 'allowed' : 'refused';
    case 'numpy':
      return name === 'dtype' || name === 'ndarray' ? 'allowed' : 'refused';
    case 'numpy.core.multiarray':
    case 'numpy._core.multiarray':
      return name === 'scalar' || name === '_reconstruct' ? 'allowed' : 'refused';
    default:
      return 'refused';
  }
}

/** Globals that are not merely unknown but can run code, read or write files, or open connections. */
const DANGEROUS_MODULES = /^(os|posix|nt|subprocess|sys|runpy|pty|socket|shutil|importlib|pickle|_pickle|cPickle|marshal|ctypes|code|codeop|webbrowser|commands|popen2|platform|multiprocessing|asyncio|pdb|timeit|tempfile|http|urllib|requests|ftplib|smtplib|telnetlib|torch\.serialization|torch\.hub|torch\.storage|numpy\.testing|pip|setuptools|distutils)(\.|$)/;
const DANGEROUS_BUILTINS = new Set(['eval', 'exec', 'execfile', 'compile', '__import__', 'open', 'file', 'getattr', 'setattr', 'delattr', 'globals', 'locals', 'vars', 'input', 'breakpoint', 'apply', 'reload', 'memoryview', 'type', 'object']);

/** Severity of a refused global for a scan: `dangerous` (runs code, touches files or the network) or `unknown`. */
export function globalSeverity(module: string, name: string): 'dangerous' | 'unknown' {
  if ((module === 'builtins' || module === '__builtin__') && DANGEROUS_BUILTINS.has(name)) return 'dangerous';
  if (DANGEROUS_MODULES.test(module)) return 'dangerous';
  if (name === 'system' || name === 'popen' || name.startsWith('exec') || name.startsWith('spawn')) return 'dangerous';
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// Inert models of what the allowed globals build.

/** A storage referenced by a persistent id: `('storage', cls, key, location, numel[, view])`. */
export class StorageRef {
  constructor(
    /** Key of the storage: the zip entry `data/<key>`, or the legacy format's storage key. */
    readonly key: string,
    readonly dtype: DType,
    /** Element count the persistent id declares. */
    readonly numel: number,
    /** Legacy view storages: element offset into the root storage `key`. */
    readonly viewOffset = 0,
  ) {}
}

/** Quantization parameters of a torch quantized tensor. */
export type QuantParams =
  | { readonly scheme: 'per_tensor_affine' | 'per_tensor_symmetric'; readonly scale: number; readonly zeroPoint: number }
  | {
      readonly scheme: 'per_channel_affine' | 'per_channel_affine_float_qparams' | 'per_channel_symmetric';
      readonly scales: TensorRef;
      readonly zeroPoints: TensorRef;
      readonly axis: number;
    };

/** A tensor built by one of torch's `_rebuild_*` functions: a view of a storage. */
export class TensorRef {
  /** Set when the tensor is quantized (`_rebuild_qtensor`). */
  quant?: QuantParams;
  constructor(
    readonly storage: StorageRef,
    /** Element offset into the storage. */
    readonly offset: number,
    readonly shape: readonly number[],
    /** Element strides. */
    readonly stride: readonly number[],
  ) {}
}

/** A numpy dtype (`numpy.dtype('f8', False, True)` then BUILD with its byte order). */
export class NumpyDType {
  byteorder = '=';
  constructor(readonly descr: string) {}
}

/** A numpy array pickled inside a checkpoint (`_reconstruct` then BUILD). */
export class NumpyArray {
  shape: number[] = [];
  dtype: NumpyDType | null = null;
  fortran = false;
  data: Uint8Array | null = null;
}

/** A torch dtype, qscheme or device named as a value, e.g. `torch.qint8`; shown as its qualified name. */
export class TorchConstant {
  constructor(readonly qualified: string) {}
}

// ---------------------------------------------------------------------------------------------

function expectInt(v: PyValue, what: string, fail: (m: string) => Error): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw fail(`${what} must be an integer, got ${describe(v)}`);
}

function intTuple(v: PyValue, what: string, fail: (m: string) => Error): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : null;
  if (items === null) throw fail(`${what} must be a tuple, got ${describe(v)}`);
  return items.map((x, i) => expectInt(x, `${what}[${i}]`, fail));
}

function numberOf(v: PyValue): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

/** Element size of a numpy dtype string like `<f4`, `f8`, `i8`, `?`. */
function numpyScalar(dt: NumpyDType, bytes: Uint8Array): PyValue {
  const descr = dt.descr.replace(/^[<>=|]/, '');
  const little = dt.byteorder !== '>';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number): void => {
    if (bytes.length < n) throw new Error(`numpy scalar of type ${descr} needs ${n} bytes, got ${bytes.length}`);
  };
  switch (descr) {
    case 'f8': need(8); return dv.getFloat64(0, little);
    case 'f4': need(4); return dv.getFloat32(0, little);
    case 'i8': { need(8); const b = dv.getBigInt64(0, little); return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; }
    case 'u8': { need(8); const b = dv.getBigUint64(0, little); return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; }
    case 'i4': need(4); return dv.getInt32(0, little);
    case 'u4': need(4); return dv.getUint32(0, little);
    case 'i2': need(2); return dv.getInt16(0, little);
    case 'u2': need(2); return dv.getUint16(0, little);
    case 'i1': need(1); return dv.getInt8(0);
    case 'u1': need(1); return dv.getUint8(0);
    case 'b1': case '?': need(1); return dv.getUint8(0) !== 0;
    default: return `<numpy ${descr} scalar>`;
  }
}

/** Options of {@link createLoadPolicy}. */
export interface LoadPolicyOptions {
  path: string;
  where: string;
  /** Builds (or returns the shared) storage for a persistent id. */
  persistentLoad(pid: PyValue, fail: (m: string) => Error): PyValue;
}

/**
 * The policy used to load a checkpoint: refuses every global outside the allow-list with
 * `ERR_PICKLE_UNSAFE_GLOBAL` the moment it is named, and models the allowed calls.
 */
export function createLoadPolicy(options: LoadPolicyOptions): PicklePolicy {
  const { path, where } = options;
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_PICKLE', `${path} (${where}): ${m}`, { file: path });
  const namespaces = new WeakSet<PyDict>();

  const call = (callee: PyValue, args: PyValue[], opcode: string, offset: number): PyValue => {
    if (!(callee instanceof PyGlobal)) throw fail(`${opcode} at byte ${offset} calls a ${describe(callee)}, which is not an allowed callable`);
    const q = callee.qualified;
    const arg = (i: number): PyValue => (i < args.length ? args[i] : null);
    switch (q) {
      case 'collections.OrderedDict': {
        const d = new PyDict();
        if (args.length > 0 && args[0] !== null) {
          const items = args[0] instanceof PyTuple ? args[0].items : Array.isArray(args[0]) ? args[0] : null;
          if (items === null) throw fail(`OrderedDict argument must be a list of pairs`);
          for (const it of items) {
            const pair = it instanceof PyTuple ? it.items : Array.isArray(it) ? it : null;
            if (pair === null || pair.length !== 2) throw fail(`OrderedDict item must be a pair`);
            d.map.set(pair[0] as string, pair[1]);
          }
        }
        return d;
      }
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_qtensor': {
        const storage = arg(0);
        if (!(storage instanceof StorageRef)) throw fail(`${callee.name} at byte ${offset}: first argument is a ${describe(storage)}, not a storage`);
        const off = expectInt(arg(1), 'storage_offset', fail);
        const shape = intTuple(arg(2), 'size', fail);
        const stride = intTuple(arg(3), 'stride', fail);
        if (shape.length !== stride.length) throw fail(`${callee.name} at byte ${offset}: size has ${shape.length} dims but stride ${stride.length}`);
        if (off < 0 || shape.some((d) => d < 0) || stride.some((s) => s < 0)) throw fail(`${callee.name} at byte ${offset}: negative offset, size or stride`);
        const t = new TensorRef(storage, off, shape, stride);
        if (callee.name === '_rebuild_qtensor') t.quant = quantParams(arg(4), fail);
        return t;
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const data = arg(0);
        if (!(data instanceof TensorRef)) throw fail(`${callee.name} at byte ${offset}: data is a ${describe(data)}, not a tensor`);
        return data;
      }
      case 'torch._tensor._rebuild_from_type_v2': {
        const inner = arg(2);
        if (!(inner instanceof PyTuple)) throw fail(`_rebuild_from_type_v2 arguments must be a tuple`);
        return call(arg(0), inner.items, opcode, offset);
      }
      case 'torch.nn.parameter.Parameter': {
        const data = arg(0);
        if (!(data instanceof TensorRef)) throw fail(`Parameter at byte ${offset}: data is a ${describe(data)}, not a tensor`);
        return data;
      }
      case 'torch.Size':
        return new PyTuple(intTuple(arg(0), 'torch.Size', fail));
      case 'torch.device':
        return new TorchConstant(`device(${args.map((a) => String(a)).join(', ')})`);
      case 'torch.torch_version.TorchVersion':
        return typeof arg(0) === 'string' ? arg(0) : String(arg(0));
      case 'builtins.set':
      case 'builtins.frozenset':
      case '__builtin__.set':
      case '__builtin__.frozenset': {
        const src = arg(0);
        const items = src === null ? [] : src instanceof PyTuple ? src.items : Array.isArray(src) ? src : src instanceof PySet ? src.items : null;
        if (items === null) throw fail(`set() of a ${describe(src)}`);
        return new PySet([...items]);
      }
      case '_codecs.encode': {
        const s = arg(0);
        if (typeof s !== 'string') throw fail(`_codecs.encode of a ${describe(s)}`);
        const enc = String(arg(1) ?? 'utf-8').toLowerCase();
        if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
        return new TextEncoder().encode(s);
      }
      case 'argparse.Namespace': {
        const d = new PyDict();
        namespaces.add(d);
        return d;
      }
      case 'numpy.dtype': {
        const d = arg(0);
        if (typeof d !== 'string') throw fail(`numpy.dtype of a ${describe(d)}`);
        return new NumpyDType(d);
      }
      case 'numpy.core.multiarray.scalar':
      case 'numpy._core.multiarray.scalar': {
        const dt = arg(0);
        const bytes = arg(1);
        if (!(dt instanceof NumpyDType) || !(bytes instanceof Uint8Array)) throw fail(`numpy scalar needs a dtype and bytes`);
        try {
          return numpyScalar(dt, bytes);
        } catch (e) {
          throw fail((e as Error).message);
        }
      }
      case 'numpy.core.multiarray._reconstruct':
      case 'numpy._core.multiarray._reconstruct':
        return new NumpyArray();
      default:
        throw fail(`${opcode} at byte ${offset}: ${q} is not callable`);
    }
  };

  return {
    global(module, name, opcode, offset) {
      const verdict = classifyGlobal(module, name);
      if (verdict === 'refused') {
        throw new DiffaiError(
          'ERR_PICKLE_UNSAFE_GLOBAL',
          `${path} (${where}): refused to load: the pickle names the global ${module}.${name} (${opcode} at byte ${offset}), which is not on the allow-list of tensor and container types; nothing was executed. Run \`diffai --scan\` to list every finding.`,
          { file: path },
        );
      }
      if (verdict === 'unsupported') {
        throw fail(`${module}.${name} (${opcode} at byte ${offset}) builds a tensor kind diffai does not compare (sparse, nested, complex or packed sub-byte data)`);
      }
      if (module === 'torch' && !(name in STORAGE_DTYPES) && name !== 'Size' && name !== 'device' && name !== 'Tensor') {
        return new TorchConstant(`torch.${name}`);
      }
      return new PyGlobal(module, name);
    },
    persistentLoad: (pid) => options.persistentLoad(pid, fail),
    call,
    build(obj, state, offset) {
      if (obj instanceof PyDict) {
        if (namespaces.has(obj) && state instanceof PyDict) {
          for (const [k, v] of state.map) obj.map.set(k, v);
        } else {
          obj.state = state;
        }
        return obj;
      }
      if (obj instanceof TensorRef) return obj; // Parameter / tensor python state: not tensor data
      if (obj instanceof NumpyDType) {
        if (state instanceof PyTuple && typeof state.items[1] === 'string') obj.byteorder = state.items[1];
        return obj;
      }
      if (obj instanceof NumpyArray) {
        // state = (version, shape, dtype, is_fortran, rawdata)
        const s = state instanceof PyTuple ? state.items : null;
        if (s === null || s.length < 5) throw fail(`numpy array state at byte ${offset} is not (version, shape, dtype, fortran, data)`);
        obj.shape = intTuple(s[1], 'numpy shape', fail);
        obj.dtype = s[2] instanceof NumpyDType ? s[2] : null;
        obj.fortran = s[3] === true;
        obj.data = s[4] instanceof Uint8Array ? s[4] : typeof s[4] === 'string' ? Uint8Array.from(s[4], (c) => c.charCodeAt(0) & 0xff) : null;
        if (obj.dtype === null || obj.data === null) throw fail(`numpy array at byte ${offset} holds objects, not numbers`);
        return obj;
      }
      throw fail(`BUILD at byte ${offset} on a ${describe(obj)}`);
    },
    extension(code, offset) {
      throw new DiffaiError(
        'ERR_PICKLE_UNSAFE_GLOBAL',
        `${path} (${where}): refused to load: the pickle names extension code ${code} (EXT at byte ${offset}), which resolves to a global outside the allow-list; nothing was executed`,
        { file: path },
      );
    },
  };
}

function quantParams(v: PyValue, fail: (m: string) => Error): QuantParams {
  const items = v instanceof PyTuple ? v.items : null;
  const scheme = items && items[0] instanceof TorchConstant ? items[0].qualified.replace(/^torch\./, '') : null;
  if (items === null || scheme === null) throw fail(`quantizer parameters are not (qscheme, ...)`);
  if (scheme === 'per_tensor_affine' || scheme === 'per_tensor_symmetric') {
    const scale = numberOf(items[1]);
    const zeroPoint = numberOf(items[2]);
    if (scale === null || zeroPoint === null) throw fail(`per-tensor quantizer needs a scale and a zero point`);
    return { scheme, scale, zeroPoint };
  }
  if (scheme === 'per_channel_affine' || scheme === 'per_channel_affine_float_qparams' || scheme === 'per_channel_symmetric') {
    const [, scales, zeroPoints, axis] = items;
    if (!(scales instanceof TensorRef) || !(zeroPoints instanceof TensorRef)) throw fail(`per-channel quantizer needs scale and zero-point tensors`);
    return { scheme, scales, zeroPoints, axis: expectInt(axis, 'axis', fail) };
  }
  throw fail(`unsupported qscheme ${scheme}`);
}
