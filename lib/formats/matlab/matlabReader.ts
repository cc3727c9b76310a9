/**
 * The MATLAB reader: Level 5 MAT-files (v5 to v7, including miCOMPRESSED) and v7.3 (HDF5).
 *
 * When the file has a char variable `tensor_names_json` holding a JSON object from MATLAB variable
 * names to original tensor names (MATLAB names cannot contain `.` or `/`), tensors are renamed back,
 * so a `.mat` export compares by name with the `.safetensors` or `.pt` it came from.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { ModelReader, ReadOptions } from '../ModelReader.js';
import type { ModelFile, TensorDescriptor } from '../TensorDescriptor.js';
import { mapFile as defaultMapFile, type FileMapper } from '../numpy/mapFile.js';
import { MemoryBudget } from '../numpy/memoryBudget.js';
import { parseMatV5, type MatContents } from './matV5.js';
import { parseMatV73 } from './matV73.js';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** The variable holding the name mapping written by diffai's fixtures and the shared model exports. */
export const TENSOR_NAMES_VARIABLE = 'tensor_names_json';

function headerText(head: Uint8Array): string {
  return new TextDecoder('latin1').decode(head.subarray(0, Math.min(head.length, 20)));
}

/** Applies a `tensor_names_json` mapping to the tensor names (prefix match for `.real`, struct fields ...). */
function rename(contents: MatContents, path: string): { tensors: TensorDescriptor[]; mapping: Record<string, string> | null } {
  const json = contents.strings[TENSOR_NAMES_VARIABLE];
  if (json === undefined) return { tensors: contents.tensors, mapping: null };
  let mapping: Record<string, string>;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) throw new Error('not an object of strings');
    mapping = parsed as Record<string, string>;
  } catch (e) {
    throw new DiffaiError('ERR_MAT', `${path}: variable ${TENSOR_NAMES_VARIABLE} is not a JSON object of names (${(e as Error).message})`, { file: path });
  }
  const tensors = contents.tensors.map((t) => {
    const dot = t.name.indexOf('.');
    const head = dot < 0 ? t.name : t.name.slice(0, dot);
    const mapped = mapping[head];
    return mapped === undefined ? t : { ...t, name: mapped + (dot < 0 ? '' : t.name.slice(dot)) };
  });
  return { tensors, mapping };
}

/**
 * Opens a MAT-file.
 * @throws DiffaiError `ERR_MAT`, `ERR_ZIP_BOMB` (miCOMPRESSED past the memory limit).
 */
export async function openMatlab(path: string, options: ReadOptions = {}, mapFile: FileMapper = defaultMapFile): Promise<ModelFile> {
  const file = await mapFile(path);
  try {
    const budget = new MemoryBudget(path, options.maxInflatedBytes);
    const head = file.read(0, Math.min(file.size, 128));
    const isV73 = file.size >= 520 && HDF5_SIGNATURE.every((b, i) => file.read(512, 8)[i] === b);
    let contents: MatContents;
    if (isV73) {
      contents = await parseMatV73(path, budget);
    } else {
      if (head.length >= 8 && HDF5_SIGNATURE.every((b, i) => head[i] === b)) {
        contents = await parseMatV73(path, budget);
      } else {
        if (!headerText(head).startsWith('MATLAB')) {
          throw new DiffaiError('ERR_MAT', `${path}: not a MAT-file (the header does not start with "MATLAB"; starts with ${Buffer.from(head.subarray(0, 8)).toString('hex')})`, { file: path });
        }
        contents = parseMatV5(file, path, budget);
      }
    }
    const { tensors, mapping } = rename(contents, path);
    const seen = new Set<string>();
    for (const t of tensors) {
      if (seen.has(t.name)) throw new DiffaiError('ERR_MAT', `${path}: two variables map to the tensor name ${t.name}`, { file: path });
      seen.add(t.name);
    }
    const strings = { ...contents.strings };
    delete strings[TENSOR_NAMES_VARIABLE];
    const closeFile = (): void => file.close();
    return {
      path,
      format: 'matlab',
      tensors,
      metadata: {
        matlab: {
          version: isV73 ? '7.3' : '5',
          header: contents.header,
          byteorder: contents.bigEndian ? 'big' : 'little',
          dims: contents.dims,
          ...(Object.keys(strings).length > 0 ? { strings } : {}),
          ...(Object.keys(contents.skipped).length > 0 ? { skipped: contents.skipped } : {}),
          ...(mapping ? { tensor_names: mapping } : {}),
        },
      },
      // MATLAB variables come back in the writer's order, which savemat does not tie to depth.
      orderIsDepth: false,
      bytes: file.size,
      close: closeFile,
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** The MATLAB {@link ModelReader}. */
export const matlabReader: ModelReader = {
  format: 'matlab',
  detect: (path, head, isDirectory) => !isDirectory && (path.toLowerCase().endsWith('.mat') || headerText(head).startsWith('MATLAB 5.0 MAT-file') || headerText(head).startsWith('MATLAB 7.3 MAT-file')),
  open: (path, options) => openMatlab(path, options),
};
