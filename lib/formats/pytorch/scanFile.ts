/**
 * `scanFile`: the security findings of a pickle-bearing file, without loading or diffing it.
 *
 * Scans every pickle the file holds: the `*.pkl` entries of a zip (PyTorch archives, `.npz` object
 * arrays are `.npy` entries whose data is a pickle), the run of pickles of a legacy PyTorch file, a
 * plain pickle, or the data of an object-dtype `.npy`. Each global outside the allow-list is a finding.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import { mapFile as defaultMapFile, type FileMapper } from '../numpy/mapFile.js';
import { MemoryBudget } from '../numpy/memoryBudget.js';
import { looksLikeNpy, npyHeaderLength } from '../numpy/npyHeader.js';
import { FileInput } from './fileInput.js';
import { BufferInput } from './pickleMachine.js';
import { looksLikeLegacyTorch } from './pytorchReader.js';
import { scanPickle, type ScanFinding } from './scanPickle.js';
import { looksLikeZip, openZipArchive, readEntry } from './zipArchive.js';

/** Result of {@link scanFile}. */
export interface ScanResult {
  readonly path: string;
  /** What was scanned. `none`: the file holds no pickle (e.g. safetensors, a numeric .npy). */
  readonly kind: 'zip' | 'pytorch-legacy' | 'pickle' | 'npy' | 'none';
  /** The pickles scanned: zip entry names, `legacy pickle N`, `pickle`, `npy data`. */
  readonly pickles: string[];
  /** Every global outside the allow-list, in file order. */
  readonly findings: ScanFinding[];
  /** Malformed pickles (the scan of each stops at its error; earlier findings are kept). */
  readonly errors: { readonly where: string; readonly message: string }[];
  /** True when there is no finding and no error. */
  readonly safe: boolean;
}

function isPickleStart(b: Uint8Array): boolean {
  // PROTO 2-5, or a protocol 0/1 pickle starting with MARK, GLOBAL, an empty container or a literal.
  return b.length > 0 && ((b[0] === 0x80 && b.length > 1 && b[1] >= 2 && b[1] <= 5) || [0x28, 0x63, 0x7d, 0x5d, 0x29, 0x4e].includes(b[0]));
}

/**
 * Lists the security findings of a file. Nothing in the file is executed or loaded.
 *
 * @param mapFile - maps the file (the native addon by default).
 * @throws DiffaiError only when the file cannot be opened or its zip directory is unreadable
 *   (`ERR_FILE_NOT_FOUND`, `ERR_ZIP`, `ERR_ZIP_BOMB`); malformed pickles are reported in `errors`.
 */
export async function scanFile(path: string, mapFile: FileMapper = defaultMapFile): Promise<ScanResult> {
  const file: NativeMappedFile = await mapFile(path);
  const findings: ScanFinding[] = [];
  const errors: { where: string; message: string }[] = [];
  const pickles: string[] = [];
  const record = (where: string, r: { findings: ScanFinding[]; error?: string }): void => {
    pickles.push(where);
    findings.push(...r.findings);
    if (r.error !== undefined) errors.push({ where, message: r.error });
  };
  const err = (m: string): Error => new DiffaiError('ERR_PICKLE', m, { file: path });
  try {
    const head = file.read(0, Math.min(file.size, 64));
    let kind: ScanResult['kind'] = 'none';
    if (looksLikeZip(head)) {
      kind = 'zip';
      const zip = await openZipArchive(file, path);
      const budget = new MemoryBudget(path, undefined);
      for (const e of zip.entries) {
        if (e.name.endsWith('/')) continue;
        const isPkl = e.name.endsWith('.pkl') || e.name.endsWith('.pickle');
        const isNpy = e.name.endsWith('.npy');
        if (!isPkl && !isNpy) continue;
        const bytes = readEntry(file, e, path, budget);
        if (isPkl) {
          record(e.name, scanPickle(new BufferInput(bytes, err), path, e.name));
        } else if (looksLikeNpy(bytes) && bytes.length >= 12) {
          const len = npyHeaderLength(bytes.subarray(0, 12), `${path} (${e.name})`, path);
          if (/'descr'\s*:\s*'[|<>=]?O/.test(new TextDecoder('latin1').decode(bytes.subarray(0, len)))) {
            record(`${e.name} (object array)`, scanPickle(new BufferInput(bytes, err, len), path, e.name));
          }
        }
      }
    } else if (looksLikeLegacyTorch(head)) {
      kind = 'pytorch-legacy';
      const input = new FileInput(file, 0, err);
      for (let i = 1; i <= 5; i++) {
        const r = scanPickle(input, path, `legacy pickle ${i}`);
        record(`legacy pickle ${i}`, r);
        if (r.error !== undefined) break;
      }
    } else if (looksLikeNpy(head)) {
      const len = npyHeaderLength(head.subarray(0, 12), path, path);
      const header = new TextDecoder('latin1').decode(file.read(0, Math.min(len, file.size)));
      if (/'descr'\s*:\s*'[|<>=]?O/.test(header)) {
        kind = 'npy';
        record('npy data', scanPickle(new FileInput(file, len, err), path, 'npy data'));
      }
    } else if (isPickleStart(head)) {
      kind = 'pickle';
      record('pickle', scanPickle(new FileInput(file, 0, err), path, 'pickle'));
    }
    return { path, kind, pickles, findings, errors, safe: findings.length === 0 && errors.length === 0 };
  } finally {
    file.close();
  }
}
