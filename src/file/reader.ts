/**
 * Reader: sequential chunks of an AIOFile from an offset, with read-ahead (src/buffering/read-ahead.ts):
 * up to `readAhead` chunks are read while the consumer works on the current one. Each chunk is a
 * Buffer of its own that the caller may keep, unless `reuseChunks` says otherwise; chunks come in
 * file order, however many readChunk() calls are waiting.
 */
import { ReadAhead, validateReadAhead } from '../buffering/read-ahead.js';
import { validateBoolean, validateInteger, validateKnownKeys, validateObject } from '../validate.js';
import { validatePosition, type AIOFile } from './aiofile.js';
import { positionalIo } from '../positional.js';

export interface ReaderOptions {
  /** Where the first chunk starts (default 0). */
  offset?: number;
  /** Bytes per chunk (default 64 KiB). */
  chunkSize?: number;
  /** Chunks read ahead of the consumer (default 4; 0 reads one chunk at a time, on demand). */
  readAhead?: number;
  /**
   * Read into the memory of the chunk handed out last once the next one is asked for (default
   * false): no new memory per chunk, for a consumer that is done with each chunk before it asks
   * for the next (a checksum, a copy it awaits). What it keeps, it copies.
   */
  reuseChunks?: boolean;
}

const readerKeys: ReadonlySet<string> = new Set(['offset', 'chunkSize', 'readAhead', 'reuseChunks']);
const DEFAULT_CHUNK_SIZE = 1 << 16;
const MAX_CHUNK_SIZE = 1 << 30;

export function validateChunkSize(value: unknown, name = 'options.chunkSize'): number {
  return value === undefined ? DEFAULT_CHUNK_SIZE : validateInteger(value, name, 1, MAX_CHUNK_SIZE);
}

export class Reader implements AsyncIterable<Buffer> {
  readonly file: AIOFile;
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly reuseChunks: boolean;
  readonly #chunks: ReadAhead;
  /** With reuseChunks: the chunk handed out last, whose memory the next readChunk() reads into again. */
  #handedOut: Buffer | undefined;

  constructor(file: AIOFile, options?: ReaderOptions) {
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, readerKeys, 'options');
    this.file = file;
    const offset = validatePosition(checked.offset, 'options.offset');
    this.chunkSize = validateChunkSize(checked.chunkSize);
    this.readAhead = validateReadAhead(checked.readAhead);
    this.reuseChunks = checked.reuseChunks === undefined ? false : validateBoolean(checked.reuseChunks, 'options.reuseChunks');
    this.#chunks = new ReadAhead(file[positionalIo](), offset, this.chunkSize, this.readAhead);
  }

  /** Where the next chunk handed out starts. */
  get offset(): number {
    return this.#chunks.offset;
  }

  /**
   * The next chunk: `chunkSize` bytes, fewer at end of file, empty past it. Once a chunk came
   * back short the reader is at its end and reads no more (a new Reader sees what the file grew by).
   * With `reuseChunks`, the chunk this reader handed out last (if it was whole) is read into again
   * from this call on.
   */
  readChunk(): Promise<Buffer> {
    if (!this.reuseChunks) return this.#chunks.next();
    if (this.#handedOut !== undefined) this.#chunks.recycle(this.#handedOut);
    this.#handedOut = undefined;
    return this.#chunks.next().then((chunk) => (this.#handedOut = chunk));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const chunk = await this.readChunk();
      if (chunk.length === 0) return;
      yield chunk;
    }
  }
}
