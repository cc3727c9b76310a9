/**
 * Per-tensor statistics of opened tensors, without a diff (SPEC section 5).
 *
 * @module
 */
import type { TensorDescriptor } from '../formats/TensorDescriptor.js';
import { STATS_WIDTH } from '../native/AddonTypes.js';
import { addon } from '../native/loadAddon.js';
import type { TensorStats } from './ModelDiff.js';
import { statsFromRecord } from './records.js';
import { toRawRef } from './toRawRef.js';

/** Options of {@link tensorStats}. */
export interface TensorStatsOptions {
  /** Called with (bytesDone, bytesTotal) while the native workers run (about every 50 ms). */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** Stops the workers; the promise then rejects with `ERR_ABORTED`. */
  signal?: AbortSignal;
}

/**
 * Statistics of each tensor (count, finite, mean, population std, min, max, abs max, L1, L2 over finite
 * elements; zeros, NaN and Inf counts), computed natively on all cores in one plan, float64 accumulation.
 *
 * @param tensors - descriptors from an opened model (`openModel(path).tensors`); the model must stay
 *   open until the promise settles.
 * @throws DiffaiError `ERR_ABORTED`, `ERR_FILE_CHANGED`, `ERR_RANGE`.
 */
export async function tensorStats(tensors: readonly TensorDescriptor[], options: TensorStatsOptions = {}): Promise<TensorStats[]> {
  const native = addon();
  const out = new Float64Array(tensors.length * STATS_WIDTH);
  if (tensors.length === 0) return [];
  const abort = options.signal ? native.createAbortHandle() : undefined;
  const onAbort = () => abort?.abort();
  if (options.signal?.aborted) abort?.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await native.stats(tensors.map(toRawRef), out, { abort, onProgress: options.onProgress });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return tensors.map((_, i) => statsFromRecord(out, i * STATS_WIDTH));
}

/** Synchronous twin of {@link tensorStats} (blocks the calling thread; for scripts and small models). */
export function tensorStatsSync(tensors: readonly TensorDescriptor[]): TensorStats[] {
  const out = new Float64Array(tensors.length * STATS_WIDTH);
  if (tensors.length > 0) addon().statsSync(tensors.map(toRawRef), out);
  return tensors.map((_, i) => statsFromRecord(out, i * STATS_WIDTH));
}
