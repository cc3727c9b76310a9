/**
 * Turns the object a PyTorch pickle describes into tensor descriptors and metadata.
 *
 * Tensors are named by their path in the object (`fc1.weight`, `model.fc1.weight`,
 * `optimizer.state.0.exp_avg`); everything that is not a tensor becomes metadata (see docs/formats.md:
 * `checkpoint`, `optimizer`, `scheduler`, `quantization`). Tensors that are views of one storage with
 * the same offset, shape and strides are tied weights: the later names get `aliasOf` the first.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { DTYPES, type DType } from '../dtype.js';
import type { TensorDescriptor, TensorSource } from '../TensorDescriptor.js';
import { byteSwapInPlace, fortranToC, gatherStrided, shapeCount } from '../numpy/layout.js';
import type { MemoryBudget } from '../numpy/memoryBudget.js';
import { parseNumpyDType } from '../numpy/npyDType.js';
import { PyDict, PyGlobal, PySet, PyTuple, type PyValue } from './pickleMachine.js';
import { NumpyArray, TensorRef, TorchConstant, type StorageRef } from './torchGlobals.js';

/** Where a storage's bytes are. */
export type StorageData =
  | { readonly kind: 'mapped'; readonly file: NativeMappedFile; readonly offset: number; readonly byteLength: number; readonly bigEndian: boolean }
  | { readonly kind: 'memory'; readonly data: Uint8Array; readonly bigEndian: boolean };

/** Result of {@link describeCheckpoint}. */
export interface CheckpointContents {
  readonly tensors: TensorDescriptor[];
  readonly metadata: Record<string, unknown>;
}

/** Largest strided span copied to gather a non-contiguous view: 256 MiB (the addon's read cap). */
const MAX_GATHER_SPAN = 256 * 1024 * 1024;

type Leaf = { name: string; value: TensorRef | NumpyArray; role?: string };

function keyString(k: unknown): string {
  return k === null ? 'None' : String(k);
}

/** Deepest container nesting walked: real checkpoints nest a handful of levels; this bounds recursion. */
const MAX_NESTING = 256;

function isOptimizerState(v: PyValue): v is PyDict {
  return v instanceof PyDict && v.map.has('state') && v.map.has('param_groups');
}

/**
 * Describes every tensor of the unpickled object and extracts its metadata.
 *
 * @param root - the unpickled object (a state dict, a checkpoint dict, a list, or one tensor).
 * @param resolve - the bytes of a storage by key.
 * @throws DiffaiError `ERR_PICKLE` when a tensor view runs past its storage.
 */
export function describeCheckpoint(root: PyValue, resolve: (storage: StorageRef) => StorageData, path: string, budget: MemoryBudget): CheckpointContents {
  const leaves: Leaf[] = [];
  const optimizers: { path: string; value: PyDict }[] = [];
  const schedulers: { path: string; value: PyValue }[] = [];

  const visit = (v: PyValue, name: string, role: string | undefined, key: string, depth = 0): void => {
    if (depth > MAX_NESTING) {
      throw new DiffaiError('ERR_PICKLE', `${path}: containers nested deeper than ${MAX_NESTING} levels; not a checkpoint diffai reads`, { file: path });
    }
    if (v instanceof TensorRef || v instanceof NumpyArray) {
      leaves.push({ name: name === '' ? 'tensor' : name, value: v, role });
      return;
    }
    if (isOptimizerState(v)) {
      optimizers.push({ path: name, value: v });
      role = 'optimizer';
    } else if (/sched/i.test(key) && (v instanceof PyDict || Array.isArray(v))) {
      schedulers.push({ path: name, value: v });
    }
    const join = (k: string): string => (name === '' ? k : `${name}.${k}`);
    if (v instanceof PyDict) {
      // Dynamic-quantized Linear: `<prefix>._packed_params._packed_params` = (weight qtensor, bias).
      for (const [k, child] of v.map) {
        const ks = keyString(k);
        const full = join(ks);
        if (full.endsWith('._packed_params._packed_params') && child instanceof PyTuple && child.items[0] instanceof TensorRef && child.items[0].quant) {
          const prefix = full.slice(0, -'._packed_params._packed_params'.length);
          visit(child.items[0], `${prefix}.weight`, role, 'weight', depth + 1);
          if (child.items[1] instanceof TensorRef) visit(child.items[1], `${prefix}.bias`, role, 'bias', depth + 1);
          continue;
        }
        visit(child, full, role, ks, depth + 1);
      }
    } else if (Array.isArray(v) || v instanceof PyTuple || v instanceof PySet) {
      const items = Array.isArray(v) ? v : v.items;
      items.forEach((child, i) => visit(child, join(String(i)), role, String(i), depth + 1));
    }
  };
  visit(root, '', undefined, '');

  // ---- descriptors
  const tensors: TensorDescriptor[] = [];
  const seen = new Map<string, string>();
  const names = new Set<string>();
  const quantization: Record<string, unknown> = {};
  const push = (d: TensorDescriptor): void => {
    if (names.has(d.name)) throw new DiffaiError('ERR_PICKLE', `${path}: two tensors are both named ${d.name}`, { file: path });
    names.add(d.name);
    tensors.push(d);
  };
  for (const leaf of leaves) {
    if (leaf.value instanceof NumpyArray) {
      push(numpyDescriptor(leaf.name, leaf.value, leaf.role, path, budget));
      continue;
    }
    const t = leaf.value;
    const id = `${t.storage.key}:${t.storage.viewOffset + t.offset}:${t.shape.join(',')}:${t.stride.join(',')}:${t.storage.dtype}`;
    const first = seen.get(id);
    const source = first === undefined || shapeCount(t.shape) === 0 ? tensorSource(leaf.name, t, resolve(t.storage), path, budget) : tensors.find((x) => x.name === first)!.source;
    if (first === undefined) seen.set(id, leaf.name);
    const role = t.quant ? 'quantized' : leaf.role;
    push({
      name: leaf.name,
      dtype: t.storage.dtype,
      shape: [...t.shape],
      count: shapeCount(t.shape),
      source,
      ...(first !== undefined && shapeCount(t.shape) > 0 ? { aliasOf: first } : {}),
      ...(role ? { role } : {}),
    });
    if (t.quant) {
      const q = t.quant;
      if ('scale' in q) {
        const scale = new Uint8Array(8);
        new DataView(scale.buffer).setFloat64(0, q.scale, true);
        const zp = new Uint8Array(8);
        new DataView(zp.buffer).setBigInt64(0, BigInt(Math.trunc(q.zeroPoint)), true);
        push({ name: `${leaf.name}.scale`, dtype: 'F64', shape: [], count: 1, source: { kind: 'memory', data: scale }, role: 'quant_scale' });
        push({ name: `${leaf.name}.zero_point`, dtype: 'I64', shape: [], count: 1, source: { kind: 'memory', data: zp }, role: 'quant_zero_point' });
        quantization[leaf.name] = { scheme: q.scheme, dtype: t.storage.dtype, scale: q.scale, zero_point: q.zeroPoint };
      } else {
        for (const [suffix, ref, r] of [['scale', q.scales, 'quant_scale'], ['zero_point', q.zeroPoints, 'quant_zero_point']] as const) {
          push({
            name: `${leaf.name}.${suffix}`,
            dtype: ref.storage.dtype,
            shape: [...ref.shape],
            count: shapeCount(ref.shape),
            source: tensorSource(`${leaf.name}.${suffix}`, ref, resolve(ref.storage), path, budget),
            role: r,
          });
        }
        quantization[leaf.name] = { scheme: q.scheme, dtype: t.storage.dtype, axis: q.axis };
      }
    }
  }

  // ---- metadata
  const metadata: Record<string, unknown> = {};
  const optimizerPaths = new Set(optimizers.map((o) => o.path));
  const schedulerPaths = new Set(schedulers.map((s) => s.path));
  const rest = toJson(root, '', (p) => optimizerPaths.has(p) || schedulerPaths.has(p));
  if (rest !== undefined && !(typeof rest === 'object' && rest !== null && Object.keys(rest).length === 0)) metadata.checkpoint = rest;
  if (optimizers.length > 0) {
    const described = optimizers.map((o) => describeOptimizer(o.path, o.value, tensors));
    metadata.optimizer = described[0];
    if (described.length > 1) metadata.optimizers = described;
  }
  if (schedulers.length > 0) {
    const described = schedulers.map((s) => ({ path: s.path, state: toJson(s.value, s.path, () => false) ?? {} }));
    metadata.scheduler = described[0].state;
    if (described.length > 1) metadata.schedulers = described;
  }
  if (Object.keys(quantization).length > 0) metadata.quantization = quantization;
  return { tensors, metadata };
}

/** The mapped range (contiguous views) or a C-order copy (strided views, big-endian data) of a tensor. */
function tensorSource(name: string, t: TensorRef, data: StorageData, path: string, budget: MemoryBudget): TensorSource {
  const dtype: DType = t.storage.dtype;
  const es = DTYPES[dtype].size;
  const count = shapeCount(t.shape);
  const storageBytes = data.kind === 'mapped' ? data.byteLength : data.data.length;
  const storageElems = Math.floor(storageBytes / es);
  const first = t.storage.viewOffset + t.offset;
  let last = first;
  for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.stride[i];
  if (count > 0 && (last >= storageElems || !Number.isSafeInteger(last))) {
    throw new DiffaiError(
      'ERR_PICKLE',
      `${path}: tensor ${name} (shape [${t.shape.join(', ')}], offset ${t.offset}) needs element ${last} of storage ${t.storage.key}, which holds ${storageElems} ${dtype} elements`,
      { file: path },
    );
  }
  if (count === 0) return data.kind === 'mapped' ? { kind: 'mapped', file: data.file, offset: data.offset, byteLength: 0 } : { kind: 'memory', data: new Uint8Array(0) };
  // C-contiguous when each dimension's stride is the product of the later sizes (size-1 dims do not matter).
  let expected = 1;
  let contiguous = true;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) contiguous = false;
    expected *= t.shape[i];
  }
  if (contiguous && data.kind === 'mapped' && !data.bigEndian) {
    return { kind: 'mapped', file: data.file, offset: data.offset + first * es, byteLength: count * es };
  }
  let out: Uint8Array;
  if (contiguous) {
    budget.take(count * es, `tensor ${name}`);
    out = data.kind === 'memory' ? data.data.slice(first * es, (first + count) * es) : data.file.read(data.offset + first * es, count * es);
  } else {
    // A non-contiguous view (e.g. a transpose saved without .contiguous()): gather the logical elements.
    const spanBytes = (last - first + 1) * es;
    if (spanBytes > MAX_GATHER_SPAN) {
      throw new DiffaiError('ERR_PICKLE', `${path}: tensor ${name} is a non-contiguous view spanning ${spanBytes} bytes (limit ${MAX_GATHER_SPAN}); save it with .contiguous()`, { file: path });
    }
    budget.take(count * es, `tensor ${name} (non-contiguous view, copied)`);
    const span = data.kind === 'memory' ? data.data.subarray(first * es, (last + 1) * es) : data.file.read(data.offset + first * es, spanBytes);
    out = gatherStrided(span, 0, t.shape, t.stride, es);
  }
  if (data.bigEndian) byteSwapInPlace(out, es);
  return { kind: 'memory', data: out };
}

function numpyDescriptor(name: string, a: NumpyArray, role: string | undefined, path: string, budget: MemoryBudget): TensorDescriptor {
  const info = a.dtype ? parseNumpyDType(a.dtype.descr.replace(/^[<>=|]/, a.dtype.byteorder === '>' ? '>' : '<')) : null;
  if (info === null || a.data === null) throw new DiffaiError('ERR_PICKLE', `${path}: numpy array ${name} has dtype ${a.dtype?.descr ?? '?'}, which diffai does not read`, { file: path });
  const count = shapeCount(a.shape);
  if (a.data.length !== count * info.size) {
    throw new DiffaiError('ERR_PICKLE', `${path}: numpy array ${name} holds ${a.data.length} bytes, shape [${a.shape.join(', ')}] needs ${count * info.size}`, { file: path });
  }
  budget.take(a.data.length, `numpy array ${name}`);
  let data = a.data;
  if (info.bigEndian) {
    data = data.slice();
    byteSwapInPlace(data, info.size);
  }
  if (a.fortran) data = fortranToC(data, a.shape, info.size);
  return { name, dtype: info.dtype, shape: a.shape, count, source: { kind: 'memory', data }, ...(role ? { role } : {}) };
}

/**
 * JSON-like projection of non-tensor values: tensors are left out of dicts (and are null in lists),
 * containers left empty by that are dropped; `skip(path)` drops whole subtrees.
 */
function toJson(v: PyValue, path: string, skip: (path: string) => boolean): unknown {
  if (skip(path) && path !== '') return undefined;
  if (v instanceof TensorRef || v instanceof NumpyArray) return undefined;
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof TorchConstant) return v.qualified;
  if (v instanceof PyGlobal) return v.qualified;
  const join = (k: string): string => (path === '' ? k : `${path}.${k}`);
  if (v instanceof PyDict) {
    const out: Record<string, unknown> = {};
    let any = v.map.size === 0;
    for (const [k, child] of v.map) {
      const j = toJson(child, join(keyString(k)), skip);
      if (j !== undefined) {
        out[keyString(k)] = j;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  if (Array.isArray(v) || v instanceof PyTuple || v instanceof PySet) {
    const items = Array.isArray(v) ? v : v.items;
    const out = items.map((child, i) => toJson(child, join(String(i)), skip));
    if (items.length > 0 && out.every((x) => x === undefined)) return undefined;
    return out.map((x) => (x === undefined ? null : x));
  }
  return `<${(v as object).constructor?.name ?? 'object'}>`;
}

/** Metadata of an optimizer state dict (`{state, param_groups}`), see docs/formats.md. */
function describeOptimizer(prefix: string, opt: PyDict, tensors: readonly TensorDescriptor[]): Record<string, unknown> {
  const state = opt.map.get('state');
  const stateKeys = new Set<string>();
  if (state instanceof PyDict) {
    for (const s of state.map.values()) if (s instanceof PyDict) for (const k of s.map.keys()) stateKeys.add(keyString(k));
  }
  const type = stateKeys.has('exp_avg') && stateKeys.has('exp_avg_sq')
    ? 'adam'
    : stateKeys.has('momentum_buffer')
      ? 'sgd'
      : stateKeys.has('square_avg')
        ? stateKeys.has('acc_delta') ? 'adadelta' : 'rmsprop'
        : stateKeys.has('sum')
          ? 'adagrad'
          : null;
  // Per-parameter `step` is a 0-d tensor since torch 1.12 and a Python number before.
  let step: number | null = null;
  const base = prefix === '' ? 'state.' : `${prefix}.state.`;
  for (const t of tensors) {
    if (t.name.startsWith(base) && t.name.endsWith('.step') && t.count === 1) {
      const v = readScalar(t);
      if (v !== null && (step === null || v > step)) step = v;
    }
  }
  if (step === null && state instanceof PyDict) {
    for (const s of state.map.values()) {
      const v = s instanceof PyDict ? s.map.get('step') : undefined;
      if (typeof v === 'number' && (step === null || v > step)) step = v;
    }
  }
  const groups = toJson(opt.map.get('param_groups') ?? null, '', () => false);
  return { path: prefix, type, param_groups: Array.isArray(groups) ? groups : [], state_keys: [...stateKeys], step };
}

/** Reads a one-element float or integer tensor (a few bytes) as a number. */
function readScalar(t: TensorDescriptor): number | null {
  const size = DTYPES[t.dtype].size;
  const bytes = t.source.kind === 'memory' ? t.source.data : t.source.file.read(t.source.offset, size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t.dtype) {
    case 'F32': return dv.getFloat32(0, true);
    case 'F64': return dv.getFloat64(0, true);
    case 'I64': return Number(dv.getBigInt64(0, true));
    case 'I32': return dv.getInt32(0, true);
    default: return null;
  }
}
