/**
 * The cap on bytes a reader may hold in the JS heap for one model (inflated zip entries, byte-swapped
 * or transposed copies, decoded varint arrays). Exceeding it is an error, never an out-of-memory crash.
 *
 * @module
 */
import { constants as bufferConstants } from 'node:buffer';
import { DiffaiError, type ErrorCode } from '../../errors.js';

/** Default of `ReadOptions.maxInflatedBytes`: 4 GiB. */
export const DEFAULT_MAX_INFLATED_BYTES = 4 * 1024 ** 3;

/**
 * Compressed data may inflate to at most this many bytes without a ratio check: zero-filled tensors
 * legitimately compress about 1000:1, and up to this size holding them is cheap.
 */
export const BOMB_FREE_BYTES = 64 * 1024 ** 2;

/**
 * Above {@link BOMB_FREE_BYTES}, an inflation ratio over this is refused as a zip bomb. Trained
 * weights compress about 1.1:1 with deflate, pruned ones a few to one; 100:1 over 64 MiB is an
 * archive built to exhaust memory, and inflating it would cost gigabytes before any size check.
 */
export const MAX_INFLATION_RATIO = 100;

/**
 * The most bytes `compressedBytes` of deflate data may inflate to: the larger of
 * {@link BOMB_FREE_BYTES} and {@link MAX_INFLATION_RATIO} x the compressed size.
 */
export function maxInflatedSize(compressedBytes: number): number {
  return Math.max(BOMB_FREE_BYTES, compressedBytes * MAX_INFLATION_RATIO);
}

/**
 * Tracks in-memory bytes taken by one open model against a limit.
 */
export class MemoryBudget {
  private used = 0;
  readonly limit: number;

  /**
   * @param path - the model's path, named in errors.
   * @param limit - bytes; defaults to {@link DEFAULT_MAX_INFLATED_BYTES}.
   */
  constructor(
    private readonly path: string,
    limit: number | undefined,
    private readonly code: ErrorCode = 'ERR_FILE_TOO_LARGE',
  ) {
    this.limit = limit ?? DEFAULT_MAX_INFLATED_BYTES;
  }

  /** Bytes taken so far. */
  get taken(): number {
    return this.used;
  }

  /**
   * Reserves `bytes` for `what` (a tensor or zip entry name).
   * @throws DiffaiError (the budget's code, `ERR_ZIP_BOMB` for inflation) when the total would exceed the
   *   limit, or one buffer would exceed Node's maximum buffer length.
   */
  take(bytes: number, what: string, code: ErrorCode = this.code): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new DiffaiError(code, `${this.path}: ${what}: invalid size ${bytes}`, { file: this.path });
    }
    if (bytes > bufferConstants.MAX_LENGTH) {
      throw new DiffaiError(code, `${this.path}: ${what}: ${bytes} bytes would be held in memory, over the ${bufferConstants.MAX_LENGTH}-byte buffer limit`, {
        file: this.path,
      });
    }
    if (this.used + bytes > this.limit) {
      throw new DiffaiError(
        code,
        `${this.path}: ${what}: ${bytes} bytes in memory would bring the total to ${this.used + bytes}, over the limit of ${this.limit} bytes (ReadOptions.maxInflatedBytes)`,
        { file: this.path },
      );
    }
    this.used += bytes;
  }
}
