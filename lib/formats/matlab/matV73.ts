/**
 * MATLAB v7.3 MAT-files, which are HDF5 files with a 512-byte MATLAB header. Read through h5wasm,
 * which is imported only when such a file is opened (it is large: a WebAssembly build of libhdf5).
 *
 * HDF5 holds a MATLAB array of dimensions (d1, ..., dk) as a dataset of shape (dk, ..., d1) in C order,
 * i.e. MATLAB's column-major data; the reader reverses the shape and transposes into C order, then
 * applies the same rank rule as Level 5 files (1x1 -> 0-d, 1xN / Nx1 -> [N]). Data is copied into
 * `memory` sources (h5wasm reads through its own file layer, not the addon's mapping).
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { DType } from '../dtype.js';
import type { TensorDescriptor } from '../TensorDescriptor.js';
import { fortranToC, shapeCount } from '../numpy/layout.js';
import type { MemoryBudget } from '../numpy/memoryBudget.js';
import type { MatContents } from './matV5.js';

const CLASS_DTYPES: Readonly<Record<string, DType>> = {
  double: 'F64', single: 'F32', int8: 'I8', uint8: 'U8', int16: 'I16', uint16: 'U16', int32: 'I32', uint32: 'U32', int64: 'I64', uint64: 'U64', logical: 'BOOL',
};

type H5Module = typeof import('h5wasm/node');
type H5Group = InstanceType<H5Module['Group']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

function squeeze(dims: number[]): number[] {
  if (dims.length !== 2) return [...dims];
  if (dims[0] === 1 && dims[1] === 1) return [];
  if (dims[0] === 1) return [dims[1]];
  if (dims[1] === 1) return [dims[0]];
  return [...dims];
}

function attrString(obj: { attrs: Record<string, { value: unknown }> }, name: string): string | null {
  const a = obj.attrs[name];
  if (!a) return null;
  const v = a.value;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return v === null || v === undefined ? null : String(v);
}

/**
 * Parses a v7.3 MAT-file.
 * @throws DiffaiError `ERR_MAT` when the HDF5 file cannot be opened or a dataset does not match its class.
 */
export async function parseMatV73(path: string, budget: MemoryBudget): Promise<MatContents> {
  let h5: H5Module;
  try {
    h5 = await import('h5wasm/node');
    await h5.ready;
  } catch (e) {
    throw new DiffaiError('ERR_MAT', `${path}: MATLAB v7.3 files need the h5wasm package, which could not be loaded (${(e as Error).message})`, { file: path, cause: e });
  }
  let file: InstanceType<H5Module['File']>;
  try {
    file = new h5.File(path, 'r');
  } catch (e) {
    throw new DiffaiError('ERR_MAT', `${path}: not a readable HDF5 (MATLAB v7.3) file: ${(e as Error).message}`, { file: path, cause: e });
  }
  const out: MatContents = { tensors: [], strings: {}, dims: {}, skipped: {}, header: 'MATLAB 7.3 MAT-file', bigEndian: false };
  const fail = (m: string): DiffaiError => new DiffaiError('ERR_MAT', `${path}: ${m}`, { file: path });
  try {
    const walk = (group: H5Group, prefix: string, depth: number): void => {
      if (depth > 64) throw fail(`groups nested deeper than 64`);
      for (const key of group.keys()) {
        if (key.startsWith('#')) continue; // '#refs#', '#subsystem#': storage of cells and objects
        const name = prefix === '' ? key : `${prefix}.${key}`;
        const entity = group.get(key);
        if (entity instanceof h5.Group) {
          const cls = attrString(entity as never, 'MATLAB_class');
          if (cls === 'struct' || cls === null) walk(entity, name, depth + 1);
          else out.skipped[name] = `${cls} objects are not compared`;
          continue;
        }
        if (!(entity instanceof h5.Dataset)) continue;
        const ds = entity as H5Dataset;
        const cls = attrString(ds as never, 'MATLAB_class') ?? '';
        if (ds.attrs.MATLAB_empty) {
          out.skipped[name] = 'empty array';
          continue;
        }
        const h5shape = ds.shape ?? [];
        const dims = [...h5shape].reverse();
        if (cls === 'char') {
          const v = ds.value;
          if (v instanceof Uint16Array) out.strings[name] = String.fromCharCode(...v.subarray(0, 1 << 16));
          continue;
        }
        const dtype = CLASS_DTYPES[cls];
        if (!dtype) {
          out.skipped[name] = `${cls || 'unlabelled'} datasets are not compared`;
          continue;
        }
        const v = ds.value;
        if (!ArrayBuffer.isView(v)) {
          out.skipped[name] = `${cls} data of this layout (complex or compound) is not compared`;
          continue;
        }
        const raw = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        const count = shapeCount(dims);
        const es = dtype === 'BOOL' ? 1 : raw.length / Math.max(1, count);
        if (raw.length !== count * es || ![1, 2, 4, 8].includes(es)) throw fail(`${name}: ${raw.length} bytes do not match dimensions ${dims.join('x')} of ${cls}`);
        budget.take(raw.length, `variable ${name}`);
        const data = fortranToC(new Uint8Array(raw), dims.length < 2 ? [...dims, 1] : dims, es);
        out.dims[name] = dims;
        out.tensors.push({ name, dtype, shape: squeeze(dims), count, source: { kind: 'memory', data } } satisfies TensorDescriptor);
      }
    };
    walk(file, '', 0);
  } finally {
    file.close();
  }
  return out;
}
