/**
 * The one error class of diffai. Every failure the library reports is a {@link DiffaiError}
 * with a stable {@link DiffaiError.code}; the CLI prints `code: message` and exits 2.
 * The codes are listed in `docs/errors.md`.
 *
 * @module
 */

/**
 * Stable error codes. New codes may be added; existing ones never change meaning.
 *
 * Native codes (thrown from the addon, see `native/addon/errors.cc`) use the same strings.
 */
export type ErrorCode =
  // usage and configuration
  | 'ERR_USAGE'
  | 'ERR_CONFIG'
  | 'ERR_ANALYSIS_UNAVAILABLE'
  // files and I/O
  | 'ERR_FILE_NOT_FOUND'
  | 'ERR_FILE_IO'
  | 'ERR_FILE_TOO_LARGE'
  | 'ERR_FILE_CHANGED'
  | 'ERR_FILE_BUSY'
  | 'ERR_FILE_CLOSED'
  | 'ERR_RANGE'
  | 'ERR_UNKNOWN_FORMAT'
  // safetensors
  | 'ERR_SAFETENSORS_HEADER_TOO_SMALL'
  | 'ERR_SAFETENSORS_HEADER_TOO_LARGE'
  | 'ERR_SAFETENSORS_INVALID_HEADER_LENGTH'
  | 'ERR_SAFETENSORS_INVALID_HEADER'
  | 'ERR_SAFETENSORS_INVALID_DTYPE'
  | 'ERR_SAFETENSORS_INVALID_SHAPE'
  | 'ERR_SAFETENSORS_INVALID_OFFSETS'
  | 'ERR_SAFETENSORS_SHAPE_MISMATCH'
  | 'ERR_SAFETENSORS_METADATA'
  // other formats (issue: every model format)
  | 'ERR_ZIP'
  | 'ERR_ZIP_BOMB'
  | 'ERR_PICKLE'
  | 'ERR_PICKLE_UNSAFE_GLOBAL'
  | 'ERR_NPY'
  | 'ERR_MAT'
  | 'ERR_GGUF'
  | 'ERR_ONNX'
  | 'ERR_FORMAT'
  // native
  | 'ERR_NATIVE_LOAD'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_ABORTED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INTERNAL';

/** Options of a {@link DiffaiError}. */
export interface DiffaiErrorOptions {
  /** The file the error is about, when there is one. */
  file?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An error with a stable machine-readable `code` and a message that names the file and the problem.
 */
export class DiffaiError extends Error {
  /** Stable error code, e.g. `ERR_SAFETENSORS_HEADER_TOO_LARGE`. */
  readonly code: ErrorCode;
  /** The file the error is about, when there is one. */
  readonly file?: string;

  constructor(code: ErrorCode, message: string, options: DiffaiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DiffaiError';
    this.code = code;
    if (options.file !== undefined) this.file = options.file;
  }
}

/** True when `e` is a {@link DiffaiError} (also for errors built by the native addon). */
export function isDiffaiError(e: unknown): e is DiffaiError {
  if (e instanceof DiffaiError) return true;
  const code = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_');
}
