/**
 * A sequential {@link PickleInput} over a mapped file, reading bounded chunks: the legacy PyTorch format
 * is a run of pickles followed by raw storages, with no index giving the pickles' lengths.
 *
 * @module
 */
import type { NativeMappedFile } from '../../native/AddonTypes.js';
import type { PickleInput } from './pickleMachine.js';

const CHUNK = 1 << 20;

/** Reads `file` from `start` on, one 1 MiB chunk at a time. */
export class FileInput implements PickleInput {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private pos: number;

  constructor(
    private readonly file: NativeMappedFile,
    start: number,
    private readonly errorFor: (message: string) => Error,
  ) {
    this.pos = start;
  }

  get position(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos >= this.chunkStart && this.pos + n <= this.chunkStart + this.chunk.length) return;
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.file.size) {
      throw this.errorFor(`a ${n}-byte field at byte ${this.pos} runs past the end of the file (${this.file.size} bytes)`);
    }
    this.chunkStart = this.pos;
    this.chunk = this.file.read(this.pos, Math.min(this.file.size - this.pos, Math.max(n, CHUNK)));
  }

  byte(): number {
    this.ensure(1);
    return this.chunk[this.pos++ - this.chunkStart];
  }

  bytes(n: number): Uint8Array {
    this.ensure(n);
    const s = this.pos - this.chunkStart;
    this.pos += n;
    return this.chunk.subarray(s, s + n);
  }

  line(): Uint8Array {
    const parts: number[] = [];
    for (;;) {
      const b = this.byte();
      if (b === 0x0a) return Uint8Array.from(parts);
      parts.push(b);
      if (parts.length > CHUNK) throw this.errorFor(`unterminated text field at byte ${this.pos}`);
    }
  }
}
