/**
 * Read-ahead: sequential chunks with several reads in flight ahead of the consumer, so that a
 * scan waits on the device or the memory copy rather than on one round trip per chunk. The window
 * is bounded (a consumer that stops early costs at most `depth` reads it did not need), it stops
 * at end of file (a short chunk), and each chunk is a Buffer of its own that the caller may keep,
 * unless it hands the chunk back with recycle(). Where the source reads several chunks in one
 * request (readvInto), the window is topped up by half at a time, in one request.
 */

import type { PositionalFile } from '../positional.js';
import { IOV_MAX } from '../limits.js';
import { validateInteger } from '../validate.js';

/**
 * Where chunks come from: reads that fill the view unless the file ends, into the file's memory;
 * with readvInto, several chunks in one read.
 */
export type ChunkSource = Pick<PositionalFile, 'readInto' | 'readvInto' | 'allocate' | 'stream'>;

interface Pending {
  offset: number;
  size: number;
  chunk: Promise<Buffer>;
}

const EMPTY = Buffer.alloc(0);

/**
 * The most bytes one request for several chunks asks for. A system call per 256 KiB is already a
 * small part of copying them, and larger requests read into more fresh memory in one call, which
 * costs more than the calls saved (docs/benchmarks.md, "Measurements the code relies on"). Chunks over half of it go one to a
 * request.
 */
const MAX_REQUEST_BYTES = 256 * 1024;

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
  /** The window is topped up once no more than this many reads are left in it. */
  readonly #refillAt: number;
  /** How many chunks one request reads (1: readInto each). */
  readonly #perRequest: number;
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
    // A stream (a pipe, a FIFO) has one sequence of bytes: one read at a time, on demand.
    this.#depth = source.stream ? 0 : depth;
    // With one read for several chunks, the window is topped up once half of it is used, as the
    // kernel's own read-ahead does, so that each top-up is one read of half the window (a chunk
    // of a cached file costs a system call, and the code that runs after one, whatever its size).
    // Without, or for chunks too large to share a request, every chunk handed out is replaced at once.
    this.#perRequest = source.readvInto && !source.stream ? Math.max(1, Math.min(IOV_MAX, Math.floor(MAX_REQUEST_BYTES / chunkSize))) : 1;
    this.#refillAt = this.#perRequest > 1 ? this.#depth >> 1 : this.#depth - 1;
    this.#end = end;
  }

  /** Where the next chunk handed out starts. */
  get offset(): number {
    return this.#consumed;
  }

  /** The next chunk; empty once the end is reached. Chunks come in file order, whoever asks. */
  next(): Promise<Buffer> {
    if (this.#window.length === 0) this.#fill(1);
    const head = this.#window.shift();
    if (!head) return Promise.resolve(EMPTY);
    if (this.#window.length <= this.#refillAt) this.#fill(0);
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

  /**
   * Keep `depth` reads (plus `extra`) in flight, unless stopped or at `end`. The chunks added
   * together are contiguous: with readvInto they are read `#perRequest` to a request, and a short
   * count leaves the chunks after it in that request short or empty.
   */
  #fill(extra: number): void {
    while (!this.#stopped && this.#window.length < this.#depth + extra && this.#next < this.#end) {
      const start = this.#next;
      const memory: Buffer[] = [];
      while (memory.length < this.#perRequest && this.#window.length + memory.length < this.#depth + extra && this.#next < this.#end) {
        const size = Math.min(this.#chunkSize, this.#end - this.#next);
        this.#next += size;
        memory.push(size === this.#chunkSize ? (this.#spare.pop() ?? this.#source.allocate(size)) : this.#source.allocate(size));
      }
      const together = memory.length > 1 ? this.#source.readvInto!(memory, start) : undefined;
      let offset = start;
      for (const bytes of memory) {
        const size = bytes.length;
        const from = offset - start;
        const chunk = together
          ? together.then((n) => (n - from >= size ? bytes : bytes.subarray(0, Math.max(0, n - from))))
          : this.#source.readInto(bytes, offset).then((n) => (n === size ? bytes : bytes.subarray(0, n)));
        chunk.catch(ignore); // a read the consumer never takes must not count as unhandled
        this.#window.push({ offset, size, chunk });
        offset += size;
      }
    }
  }

  /** End of file (or an error): what is still in flight beyond it is dropped unread. */
  #stop(): void {
    this.#stopped = true;
    this.#window.length = 0;
  }
}
