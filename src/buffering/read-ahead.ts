/**
 * Read-ahead: sequential chunks with several reads in flight ahead of the consumer, so that a
 * scan waits on the device or the memory copy rather than on one round trip per chunk. The window
 * is bounded (a consumer that stops early costs at most `depth` reads it did not need), it stops
 * at end of file (a short chunk), and each chunk is a Buffer of its own that the caller may keep,
 * unless it hands the chunk back with recycle().
 */

import type { PositionalFile } from '../positional.js';
import { validateInteger } from '../validate.js';

/** Where chunks come from: reads that fill the view unless the file ends, into the file's memory. */
export type ChunkSource = Pick<PositionalFile, 'readInto' | 'allocate'>;

interface Pending {
  offset: number;
  size: number;
  chunk: Promise<Buffer>;
}

const EMPTY = Buffer.alloc(0);

/** Chunks in flight ahead of the consumer unless told otherwise. */
export const DEFAULT_READ_AHEAD = 4;

export function validateReadAhead(value: unknown, name = 'options.readAhead'): number {
  return value === undefined ? DEFAULT_READ_AHEAD : validateInteger(value, name, 0, 1024);
}
const ignore = () => {};

export class ReadAhead {
  readonly #source: ChunkSource;
  readonly #chunkSize: number;
  readonly #depth: number;
  readonly #end: number;
  readonly #window: Pending[] = [];
  /** Where the next read starts. */
  #next: number;
  /** Where the consumer stands: the end of the last chunk handed out. */
  #consumed: number;
  /** A chunk came back short, or a read failed: issue no more. */
  #stopped = false;
  /** Memory of chunks handed back, read into again before any is allocated. */
  readonly #spare: Buffer[] = [];

  /**
   * Read `source` from `offset` to `end` (exclusive, default: to end of file) in `chunkSize`
   * pieces, with up to `depth` reads in flight beyond the one the consumer waits for.
   */
  constructor(source: ChunkSource, offset: number, chunkSize: number, depth: number, end = Infinity) {
    this.#source = source;
    this.#next = offset;
    this.#consumed = offset;
    this.#chunkSize = chunkSize;
    this.#depth = depth;
    this.#end = end;
  }

  /** Where the next chunk handed out starts. */
  get offset(): number {
    return this.#consumed;
  }

  /** The next chunk; empty once the end is reached. Chunks come in file order, whoever asks. */
  next(): Promise<Buffer> {
    this.#fill(1);
    const head = this.#window.shift();
    if (!head) return Promise.resolve(EMPTY);
    this.#fill(0);
    return head.chunk.then(
      (chunk) => {
        this.#consumed = head.offset + chunk.length;
        if (chunk.length < head.size) this.#stop();
        return chunk;
      },
      (error: unknown) => {
        this.#stop();
        throw error;
      },
    );
  }

  /**
   * The consumer is done with `chunk`, a whole chunk this read-ahead handed out, and keeps no
   * reference to its memory: a later chunk is read into it. Memory just used is still in the CPU's
   * cache and mapped; a new chunk's memory is neither, which costs a scan that does little with
   * each byte (counting lines) a quarter of its speed. A short chunk is not taken.
   */
  recycle(chunk: Buffer): void {
    if (chunk.length === this.#chunkSize && this.#spare.length <= this.#depth) this.#spare.push(chunk);
  }

  /** Keep `depth` reads (plus `extra`) in flight, unless stopped or at `end`. */
  #fill(extra: number): void {
    while (!this.#stopped && this.#window.length < this.#depth + extra && this.#next < this.#end) {
      const offset = this.#next;
      const size = Math.min(this.#chunkSize, this.#end - offset);
      this.#next += size;
      const bytes = size === this.#chunkSize ? (this.#spare.pop() ?? this.#source.allocate(size)) : this.#source.allocate(size);
      const chunk = this.#source.readInto(bytes, offset).then((n) => (n === size ? bytes : bytes.subarray(0, n)));
      chunk.catch(ignore); // a read the consumer never takes must not count as unhandled
      this.#window.push({ offset, size, chunk });
    }
  }

  /** End of file (or an error): what is still in flight beyond it is dropped unread. */
  #stop(): void {
    this.#stopped = true;
    this.#window.length = 0;
  }
}
