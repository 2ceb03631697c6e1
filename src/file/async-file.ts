/**
 * asyncOpen(): a file object with a cursor, like Python's open() but asynchronous. It sits on an
 * AIOFile (positional I/O) and keeps what a cursor needs: the position, a read buffer filled in
 * chunks, and a write buffer of small writes gathered into one. Its operations run one after
 * another in the order they were called, whether or not the caller awaited each.
 *
 * Positions are byte offsets in every mode. Text reads count characters (code points) for UTF-8
 * and UTF-16LE, bytes for the one-byte encodings, and never return half a character.
 */
import { fileClosed, modeForbids, outOfRange } from '../errors.js';
import { validateInteger, validateKnownKeys, validateObject, validateBoolean } from '../validate.js';
import {
  AIOFile,
  type AIOFileOptions,
  type BinaryMode,
  type TextMode,
  validateData,
  validateSize,
} from './aiofile.js';
import { positionalIo } from '../positional.js';
import { ReadAhead, validateReadAhead } from '../buffering/read-ahead.js';
import { validateWriteBehind, WriteBehind } from '../buffering/write-behind.js';
import { validateChunkSize } from './reader.js';
import { bytesOf, prefixLength } from './text.js';

export interface AsyncOpenOptions extends AIOFileOptions {
  /** Bytes per read, and per block written (default 64 KiB). */
  chunkSize?: number;
  /** Chunks read ahead while reading sequentially (default 4). */
  readAhead?: number;
  /** Bytes of writes accepted and not yet written, at most (default 8 MiB; 0: write() waits for its block). */
  writeBehind?: number;
}

export interface FlushOptions {
  /** Also fsync the file once the buffered bytes are written (default false). */
  sync?: boolean;
}

const asyncOpenKeys: ReadonlySet<string> = new Set(['encoding', 'context', 'direct', 'chunkSize', 'readAhead', 'writeBehind']);
const flushKeys: ReadonlySet<string> = new Set(['sync']);
const EMPTY = Buffer.alloc(0);

/** How an AsyncFile reads and writes; clones share it. */
interface Tuning {
  chunkSize: number;
  readAhead: number;
  writeBehind: number;
}
const CR = 13;
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** Open `path` for cursor-based I/O; the modes are AIOFile.open()'s. 'a' modes start at the end. */
export function asyncOpen(path: string | URL, mode: BinaryMode, options?: AsyncOpenOptions): Promise<AsyncFile<Buffer>>;
export function asyncOpen(path: string | URL, mode?: TextMode, options?: AsyncOpenOptions): Promise<AsyncFile<string>>;
export function asyncOpen(path: string | URL, mode?: string, options?: AsyncOpenOptions): Promise<AsyncFile>;
export async function asyncOpen(path: string | URL, mode: string = 'r', options?: AsyncOpenOptions): Promise<AsyncFile> {
  const checked = validateObject(options, 'options') ?? {};
  validateKnownKeys(checked, asyncOpenKeys, 'options');
  const chunkSize = validateChunkSize(checked.chunkSize);
  const readAhead = validateReadAhead(checked.readAhead);
  const writeBehind = validateWriteBehind(checked.writeBehind);
  const { chunkSize: _, readAhead: __, writeBehind: ___, ...fileOptions } = checked;
  const file = await AIOFile.open(path, mode, fileOptions as AIOFileOptions);
  let position = 0;
  if (file.append) {
    try {
      position = (await file.stat()).size;
    } catch (error) {
      await file.close();
      throw error;
    }
  }
  return new AsyncFile(file, { refs: 1 }, position, { chunkSize, readAhead, writeBehind });
}

/** A cursor over an AIOFile. Clones share the file (and its fd) and count references to it. */
export class AsyncFile<T extends string | Buffer = string | Buffer> implements AsyncIterable<T> {
  /** The file underneath: positional I/O, streams, stat. */
  readonly file: AIOFile<T>;
  readonly #shared: { refs: number };
  readonly #chunkSize: number;
  readonly #tuning: Tuning;
  /** The '\n' the file's encoding writes, which is how readline() finds line ends. */
  readonly #newline: Buffer;
  readonly #unit: number;
  #position: number;
  /** Bytes of the file from #bufferStart on, as last read; never written into once filled. */
  #buffer: Buffer = EMPTY;
  #bufferStart = 0;
  /** Sequential reads ahead of the buffer, while reading goes on where the buffer ends. */
  #ahead: ReadAhead | undefined;
  /** Writes accepted at the cursor and written behind, while writing goes on where they end. */
  #behind: WriteBehind | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #running = 0;
  #closing: Promise<void> | undefined;

  /** @internal Use asyncOpen() or clone(). */
  constructor(file: AIOFile<T>, shared: { refs: number }, position: number, tuning: Tuning) {
    this.file = file;
    this.#shared = shared;
    this.#position = position;
    this.#tuning = tuning;
    this.#chunkSize = tuning.chunkSize;
    const utf16 = file.encoding === 'utf16le';
    this.#newline = Buffer.from('\n', utf16 ? 'utf16le' : 'utf8');
    this.#unit = utf16 ? 2 : 1;
  }

  get name(): string {
    return this.file.name;
  }

  get mode(): string {
    return this.file.mode;
  }

  /** True once close() was called on this object (clones have their own). */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The position in bytes, counting writes still buffered. */
  tell(): number {
    return this.#position;
  }

  /**
   * Read `n` characters (text) or bytes (binary) from the cursor; -1 (the default) reads to end
   * of file. Returns '' or an empty Buffer at end of file.
   */
  read(n?: number): Promise<T> {
    return this.#run('read', 'readable', () => {
      const count = validateSize(n, 'n');
      return async () => {
        await this.#flushPending();
        return this.#decode(count === -1 ? await this.#takeAll() : await this.#take(count));
      };
    });
  }

  /** The next line without its separator ('\n', and a '\r' before it), or null at end of file. */
  readline(): Promise<T | null> {
    if (this.#running === 0 && !this.#behind && !this.#closing && this.file.readable) {
      const end = this.#lineEnd(this.#position - this.#bufferStart);
      if (end !== -1) return Promise.resolve(this.#takeLine(end));
    }
    return this.#run('read', 'readable', () => async () => {
      await this.#flushPending();
      let searched = 0; // bytes after the cursor known to hold no newline
      for (;;) {
        const start = this.#position - this.#bufferStart;
        const end = this.#lineEnd(start + searched);
        if (end !== -1) return this.#takeLine(end);
        const buffered = start >= 0 ? this.#buffer.length - start : 0;
        searched = Math.max(0, buffered - this.#newline.length + 1);
        if ((await this.#fill(0)) === 0) {
          const rest = this.#advance(0, this.#buffer.length);
          return rest.length === 0 ? null : this.#decode(rest);
        }
      }
    });
  }

  /** Write `data` at the cursor ('a' modes: at the end); resolves with its byte count. */
  write(data: string | ArrayBufferView): Promise<number> {
    return this.#run('write', 'writable', () => {
      const bytes = bytesOf(validateData(data), this.file.encoding);
      return async () => {
        this.#dropBuffer();
        if (this.#behind && this.#behind.offset !== this.#position) await this.#flushPending();
        if (!this.#behind) {
          if (this.file.append) this.#position = (await this.file.stat()).size;
          const { writeBehind, chunkSize } = this.#tuning;
          this.#behind = new WriteBehind(this.file[positionalIo](), this.#position, {
            limit: writeBehind,
            blockSize: chunkSize,
            ordered: this.file.append,
          });
        }
        await this.#behind.write(bytes);
        this.#position += bytes.length;
        return bytes.length;
      };
    });
  }

  /**
   * Move the cursor: `whence` 0 from the start, 1 from the cursor, 2 from the end of the file.
   * Buffered writes are written first. Resolves with the new position.
   */
  seek(offset: number, whence = 0): Promise<number> {
    return this.#run('lseek', undefined, () => {
      validateInteger(whence, 'whence', 0, 2);
      validateInteger(offset, 'offset', whence === 0 ? 0 : -MAX_OFFSET, MAX_OFFSET);
      return async () => {
        await this.#flushPending();
        const origin = whence === 0 ? 0 : whence === 1 ? this.#position : (await this.file.stat()).size;
        if (origin + offset < 0) throw outOfRange('offset', `>= ${-origin} (no position before the start of the file)`, offset);
        this.#position = origin + offset;
        return this.#position;
      };
    });
  }

  /** Write buffered bytes; with `{ sync: true }` also fsync. Rejects with the error writing met. */
  flush(options?: FlushOptions): Promise<void> {
    return this.#run('write', undefined, () => {
      const checked = validateObject(options, 'options') ?? {};
      validateKnownKeys(checked, flushKeys, 'options');
      const sync = checked.sync === undefined ? false : validateBoolean(checked.sync, 'options.sync');
      return async () => {
        await this.#flushPending();
        if (sync) await this.file.fsync();
      };
    });
  }

  /**
   * Write what is buffered and let go of the file; the fd closes when the last clone closes.
   * Idempotent. If the buffered write fails, the file is still released and the error rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#enqueue(async () => {
      try {
        await this.#flushPending();
      } finally {
        this.#buffer = EMPTY;
        if (--this.#shared.refs === 0) await this.file.close();
      }
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Another cursor on the same file, starting at this one's position. Unflushed writes stay private. */
  clone(): AsyncFile<T> {
    if (this.#closing) throw fileClosed('dup');
    this.#shared.refs++;
    return new AsyncFile(this.file, this.#shared, this.#position, this.#tuning);
  }

  /** Lines from the current position, as readline() returns them; a `break` leaves the cursor after the last one. */
  [Symbol.asyncIterator](): AsyncIterator<T> & AsyncIterable<T> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: () => this.readline().then((line) => (line === null ? done : { done: false, value: line })),
      return: () => Promise.resolve(done),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Chunks of read(size) from the current position until end of file. */
  async *iterChunked(size?: number): AsyncGenerator<T, void, undefined> {
    const n = size === undefined ? this.#chunkSize : validateInteger(size, 'size', 1, 2 ** 30);
    for (;;) {
      const chunk = await this.read(n);
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  /**
   * Validate now (`prepare` throws synchronously on bad arguments), then run the operation it
   * returns after every operation called before it.
   */
  #run<R>(syscall: string, needs: 'readable' | 'writable' | undefined, prepare: () => () => Promise<R>): Promise<R> {
    try {
      if (this.#closing) throw fileClosed(syscall);
      if (needs && !this.file[needs]) throw modeForbids(syscall, this.file.name, this.file.mode, needs);
      return this.#enqueue(prepare());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueue<R>(operation: () => Promise<R>): Promise<R> {
    this.#running++;
    const result = this.#tail.then(operation).finally(() => this.#running--);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  #decode(bytes: Buffer): T {
    return (this.file.binary ? bytes : bytes.toString(this.file.encoding)) as T;
  }

  /** Index in #buffer of the next newline at or after `from`, aligned to the encoding's unit; -1 if none. */
  #lineEnd(from: number): number {
    const start = this.#position - this.#bufferStart;
    if (start < 0 || start >= this.#buffer.length) return -1;
    for (let at = this.#buffer.indexOf(this.#newline, Math.max(from, start)); at !== -1; at = this.#buffer.indexOf(this.#newline, at + 1)) {
      if ((at - start) % this.#unit === 0) return at;
    }
    return -1;
  }

  /** Take the line ending at buffer index `end` (the newline's index) and step over the newline. */
  #takeLine(end: number): T {
    const start = this.#position - this.#bufferStart;
    this.#position += end - start + this.#newline.length;
    let stop = end;
    if (end - start >= this.#unit && this.#buffer[end - this.#unit] === CR && (this.#unit === 1 || this.#buffer[end - 1] === 0)) {
      stop = end - this.#unit;
    }
    return this.#decode(this.#buffer.subarray(start, stop));
  }

  /** Take `count` characters (text) or bytes (binary) from the cursor, reading as needed; fewer only at end of file. */
  async #take(count: number): Promise<Buffer> {
    const encoding = this.file.binary ? 'latin1' : this.file.encoding;
    for (;;) {
      const start = this.#position - this.#bufferStart;
      if (start >= 0 && start <= this.#buffer.length) {
        const length = prefixLength(this.#buffer, start, this.#buffer.length, count, encoding);
        if (length !== -1) return this.#advance(start, length);
      }
      // A fill leaves the buffer starting at the cursor.
      if ((await this.#fill(count)) === 0) return this.#advance(0, this.#buffer.length);
    }
  }

  /** Everything from the cursor to end of file. */
  async #takeAll(): Promise<Buffer> {
    const start = this.#position - this.#bufferStart;
    const buffered = start >= 0 && start < this.#buffer.length ? this.#buffer.subarray(start) : EMPTY;
    const rest = await this.file.readBytes(-1, this.#position + buffered.length);
    this.#position += buffered.length + rest.length;
    this.#dropBuffer();
    return buffered.length === 0 ? rest : Buffer.concat([buffered, rest]);
  }

  /** The `length` buffered bytes at buffer index `start`, which is where the cursor is; moves the cursor past them. */
  #advance(start: number, length: number): Buffer {
    this.#position += length;
    return this.#buffer.subarray(start, start + length);
  }

  /**
   * Read more after what is buffered from the cursor on: at least a chunk, and at least as much
   * again as is buffered, so that a long line costs O(length) in all. Resolves with the bytes
   * read, 0 at end of file.
   */
  async #fill(hint: number): Promise<number> {
    const start = this.#position - this.#bufferStart;
    const kept = start >= 0 && start < this.#buffer.length ? this.#buffer.subarray(start) : EMPTY;
    const want = Math.max(this.#chunkSize, kept.length, hint);
    const at = this.#position + kept.length;
    if (!this.#ahead || this.#ahead.offset !== at) {
      this.#ahead = new ReadAhead(this.file[positionalIo](), at, this.#chunkSize, this.#tuning.readAhead);
    }
    const parts = [kept];
    let got = 0;
    while (got < want) {
      const chunk = await this.#ahead.next();
      if (chunk.length > 0) parts.push(chunk);
      got += chunk.length;
      if (chunk.length < this.#chunkSize) {
        this.#ahead = undefined; // end of file: a later read asks the file again
        break;
      }
    }
    this.#buffer = parts.length === 1 ? kept : Buffer.concat(parts);
    this.#bufferStart = this.#position;
    return got;
  }

  /** Forget what was read: a write may have changed it. */
  #dropBuffer(): void {
    this.#buffer = EMPTY;
    this.#bufferStart = this.#position;
    this.#ahead = undefined;
  }

  async #flushPending(): Promise<void> {
    const behind = this.#behind;
    if (!behind) return;
    this.#behind = undefined;
    await behind.flush();
  }
}
