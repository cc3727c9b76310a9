/**
 * Validation of a safetensors JSON header, in the order of the format's reference implementation
 * (huggingface/safetensors, `safetensors/src/tensor.rs`: `read_metadata` and `Metadata::validate`):
 * UTF-8, JSON object, `__metadata__` a string-to-string map, each entry `{dtype, shape, data_offsets}`,
 * entries sorted by offsets must be contiguous from 0 without gaps or overlaps, shape products must not
 * overflow, byte lengths must equal element count x dtype size, and the last offset must be the end of
 * the file. Zero-sized and 0-d tensors are valid.
 *
 * The framing (8-byte length, size cap, header inside the file) is checked natively before this runs.
 *
 * @module
 */
import { DiffaiError } from '../../errors.js';
import { DTYPES, isDType, type DType } from '../dtype.js';

/** One tensor entry of a safetensors header, after validation. */
export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  count: number;
  /** Offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

/** A validated header. `entries` keep the header's own key order. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | null;
}

/** dtypes the safetensors format defines (a subset of diffai's DType: no block types). */
const SAFETENSORS_DTYPES = new Set<DType>([
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
]);

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses and validates a safetensors header.
 *
 * @param header - the N header bytes (without the 8-byte length prefix).
 * @param dataLength - bytes after the header (file size - 8 - N).
 * @param file - file name used in error messages.
 * @throws DiffaiError `ERR_SAFETENSORS_INVALID_HEADER` (not UTF-8, not a JSON object, malformed entry),
 *   `ERR_SAFETENSORS_METADATA`, `ERR_SAFETENSORS_INVALID_DTYPE`, `ERR_SAFETENSORS_INVALID_SHAPE`,
 *   `ERR_SAFETENSORS_INVALID_OFFSETS` (gap, overlap, reversed, or not ending at the end of the file),
 *   `ERR_SAFETENSORS_SHAPE_MISMATCH` (byte length != count x dtype size).
 */
export function parseSafetensorsHeader(header: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  const fail = (code: ConstructorParameters<typeof DiffaiError>[0], msg: string): never => {
    throw new DiffaiError(code, `${file}: ${msg}`, { file });
  };
  let text: string;
  try {
    text = decoder.decode(header);
  } catch (cause) {
    throw new DiffaiError('ERR_SAFETENSORS_INVALID_HEADER', `${file}: safetensors header is not valid UTF-8`, { file, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DiffaiError('ERR_SAFETENSORS_INVALID_HEADER', `${file}: safetensors header is not valid JSON (${(cause as Error).message})`, {
      file,
      cause,
    });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail('ERR_SAFETENSORS_INVALID_HEADER', 'safetensors header is not a JSON object');
  }
  const duplicate = countTopLevelKeys(text) === Object.keys(json as object).length ? null : firstDuplicateTopLevelKey(text);
  if (duplicate !== null) {
    // JSON.parse keeps the last of two equal keys; two entries for one name are ambiguous, so refuse.
    fail('ERR_SAFETENSORS_INVALID_HEADER', `safetensors header has two entries named '${duplicate}'`);
  }

  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        fail('ERR_SAFETENSORS_METADATA', '__metadata__ must be an object of strings');
      }
      metadata = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('ERR_SAFETENSORS_METADATA', `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(parseEntry(name, raw, fail));
  }

  // Validate offsets the way the reference does: sorted by (begin, end), contiguous from 0.
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let expected = 0;
  for (const e of sorted) {
    if (e.begin !== expected || e.end < e.begin) {
      const why =
        e.end < e.begin
          ? `ends before it begins ([${e.begin}, ${e.end}])`
          : e.begin < expected
            ? `overlaps the previous tensor (begins at ${e.begin}, previous ends at ${expected})`
            : `leaves a gap (begins at ${e.begin}, previous ends at ${expected})`;
      fail('ERR_SAFETENSORS_INVALID_OFFSETS', `tensor '${e.name}' ${why}`);
    }
    const bytes = e.count * DTYPES[e.dtype].size;
    if (e.end - e.begin !== bytes) {
      fail(
        'ERR_SAFETENSORS_SHAPE_MISMATCH',
        `tensor '${e.name}' has ${e.end - e.begin} bytes but shape [${e.shape.join(', ')}] of ${e.dtype} needs ${bytes}`,
      );
    }
    expected = e.end;
  }
  if (expected !== dataLength) {
    fail(
      'ERR_SAFETENSORS_INVALID_OFFSETS',
      expected < dataLength
        ? `tensors cover ${expected} bytes of a ${dataLength}-byte data section (${dataLength - expected} trailing bytes)`
        : `tensors need ${expected} bytes but the data section has ${dataLength}`,
    );
  }
  return { entries, metadata };
}

function parseEntry(name: string, raw: unknown, fail: (code: 'ERR_SAFETENSORS_INVALID_HEADER' | 'ERR_SAFETENSORS_INVALID_DTYPE' | 'ERR_SAFETENSORS_INVALID_SHAPE', msg: string) => never): SafetensorsEntry {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('ERR_SAFETENSORS_INVALID_HEADER', `tensor '${name}' is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !isDType(dtype) || !SAFETENSORS_DTYPES.has(dtype)) {
    fail('ERR_SAFETENSORS_INVALID_DTYPE', `tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape)) fail('ERR_SAFETENSORS_INVALID_SHAPE', `tensor '${name}' has no shape array`);
  let count = 1;
  for (const d of shape as unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail('ERR_SAFETENSORS_INVALID_SHAPE', `tensor '${name}' has an invalid dimension ${typeof d === 'number' && Math.abs(d) > Number.MAX_SAFE_INTEGER ? 'beyond 2^53' : JSON.stringify(d)}`);
    }
    count *= d as number;
    if (!Number.isSafeInteger(count)) fail('ERR_SAFETENSORS_INVALID_SHAPE', `tensor '${name}' shape [${(shape as number[]).join(', ')}] overflows`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(
      'ERR_SAFETENSORS_INVALID_HEADER',
      offsets === undefined ? `tensor '${name}' has no data_offsets` : `tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`,
    );
  }
  const [begin, end] = offsets as number[];
  return { name, dtype: dtype as DType, shape: shape as number[], count, begin, end };
}

/**
 * Number of keys at the top level of a JSON object text (already known to be valid JSON): a string
 * at depth 1 that follows `{` or `,` is a key. Cheaper than decoding every key.
 */
function countTopLevelKeys(text: string): number {
  let depth = 0;
  let count = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (depth === 1 && expectKey) count++;
      expectKey = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return count;
}

/**
 * The first key that occurs twice at the top level of a JSON object text (already known to be valid
 * JSON), or null. A single pass that tracks nesting depth and string literals.
 */
function firstDuplicateTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \\ */) i++;
        else if (d === 0x22) break;
      }
      if (depth === 1) {
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j])) j++;
        if (text[j] === ':') {
          const key = JSON.parse(text.slice(start, i + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}
