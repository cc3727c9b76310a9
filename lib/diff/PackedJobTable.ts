/**
 * Builder of {@link RawPackedJobs} tables: the diff engine's jobs for the addon's `stats` and `pair`
 * kernels, one Float64Array row per job and one entry per distinct file or buffer.
 *
 * @module
 */
import { DTYPES } from '../formats/dtype.js';
import type { TensorDescriptor } from '../formats/TensorDescriptor.js';
import { PACKED_PAIR_WIDTH, PACKED_REF_WIDTH, type NativeMappedFile, type RawPackedJobs } from '../native/AddonTypes.js';

type Source = NativeMappedFile | Uint8Array;

/** Rows of one kind of job: `stats` (one tensor per row) or `pair` (two tensors and epsilon per row). */
export class PackedJobTable {
  /** Jobs added so far. */
  length = 0;
  /** Input bytes of the jobs added so far (every side). */
  bytes = 0;
  /** Per job, the input bytes of the jobs up to and including it (for progress by tensor). */
  readonly ends: number[] = [];
  private readonly sources: Source[] = [];
  private readonly index = new Map<Source, number>();
  private values: Float64Array;
  private used = 0;

  constructor(private readonly kind: 'stats' | 'pair') {
    this.values = new Float64Array(64 * this.width);
  }

  private get width(): number {
    return this.kind === 'pair' ? PACKED_PAIR_WIDTH : PACKED_REF_WIDTH;
  }

  /** Appends a stats job; returns its index. */
  addStats(t: TensorDescriptor): number {
    if (this.kind !== 'stats') throw new TypeError('addStats on a pair table');
    this.reserve();
    this.side(t);
    this.ends.push(this.bytes);
    return this.length++;
  }

  /** Appends a pair job (A and B of equal element count); returns its index. */
  addPair(a: TensorDescriptor, b: TensorDescriptor, epsilon: number): number {
    if (this.kind !== 'pair') throw new TypeError('addPair on a stats table');
    this.reserve();
    this.side(a);
    this.side(b);
    this.values[this.used++] = epsilon;
    this.ends.push(this.bytes);
    return this.length++;
  }

  /** The jobs argument of `stats` / `pair`. */
  build(): RawPackedJobs {
    return { sources: this.sources.slice(), table: this.values.slice(0, this.used) };
  }

  private reserve(): void {
    if (this.used + this.width <= this.values.length) return;
    const grown = new Float64Array(this.values.length * 2);
    grown.set(this.values);
    this.values = grown;
  }

  private side(t: TensorDescriptor): void {
    const src: Source = t.source.kind === 'mapped' ? t.source.file : t.source.data;
    let i = this.index.get(src);
    if (i === undefined) {
      i = this.sources.length;
      this.sources.push(src);
      this.index.set(src, i);
    }
    const offset = t.source.kind === 'mapped' ? t.source.offset : 0;
    const byteLength = t.source.kind === 'mapped' ? t.source.byteLength : t.source.data.byteLength;
    const v = this.values;
    v[this.used++] = i;
    v[this.used++] = offset;
    v[this.used++] = byteLength;
    v[this.used++] = DTYPES[t.dtype].code;
    v[this.used++] = t.count;
    this.bytes += byteLength;
  }
}
