/**
 * Reader: sequential chunks of an AIOFile from an offset. Chunks are read one after another
 * (a readChunk() called before the previous one settled waits for it), each into a Buffer of
 * its own that the caller may keep.
 */
import { validateInteger, validateKnownKeys, validateObject } from '../validate.js';
import { validatePosition, type AIOFile } from './aiofile.js';

export interface ReaderOptions {
  /** Where the first chunk starts (default 0). */
  offset?: number;
  /** Bytes per chunk (default 64 KiB). */
  chunkSize?: number;
}

const readerKeys: ReadonlySet<string> = new Set(['offset', 'chunkSize']);
const EMPTY = Buffer.alloc(0);
export const DEFAULT_CHUNK_SIZE = 1 << 16;
export const MAX_CHUNK_SIZE = 1 << 30;

export function validateChunkSize(value: unknown, name = 'options.chunkSize'): number {
  return value === undefined ? DEFAULT_CHUNK_SIZE : validateInteger(value, name, 1, MAX_CHUNK_SIZE);
}

export class Reader implements AsyncIterable<Buffer> {
  readonly file: AIOFile;
  readonly chunkSize: number;
  #offset: number;
  #previous: Promise<unknown> = Promise.resolve();
  /** A chunk came back short: the kernel just reported end of file, no need to ask again. */
  #atEnd = false;

  constructor(file: AIOFile, options?: ReaderOptions) {
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, readerKeys, 'options');
    this.file = file;
    this.#offset = validatePosition(checked.offset, 'options.offset');
    this.chunkSize = validateChunkSize(checked.chunkSize);
  }

  /** Where the next chunk starts. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * The next chunk: `chunkSize` bytes, fewer at end of file, empty past it. Once a chunk came
   * back short, the reader is at its end and reads no more (a new Reader sees what the file grew by).
   */
  readChunk(): Promise<Buffer> {
    const chunk = this.#previous.then(async () => {
      if (this.#atEnd) return EMPTY;
      const bytes = Buffer.allocUnsafe(this.chunkSize);
      const n = await this.file.readInto(bytes, this.#offset);
      this.#offset += n;
      if (n < bytes.length) this.#atEnd = true;
      return n === bytes.length ? bytes : bytes.subarray(0, n);
    });
    this.#previous = chunk.catch(() => undefined);
    return chunk;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const chunk = await this.readChunk();
      if (chunk.length === 0) return;
      yield chunk;
    }
  }
}
