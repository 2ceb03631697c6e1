/**
 * Node interop: node:stream and WHATWG streams over a file (an AIOFile, or the FileHandle of
 * aiofs/promises), with the option names and defaults of FileHandle.createReadStream /
 * createWriteStream / readableWebStream.
 */
import { Readable, Writable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { outOfRange } from '../errors.js';
import type { PositionalFile } from '../positional.js';
import { ReadAhead, validateReadAhead } from '../buffering/read-ahead.js';
import { DEFAULT_BLOCK_SIZE, validateWriteBehind, WriteBehind } from '../buffering/write-behind.js';
import { validateBoolean, validateInteger, validateKnownKeys, validateObject, validateSignal } from '../validate.js';
import { validateEncoding } from './text.js';

/** What a stream needs of its file: positional I/O, and closing. */
export interface StreamFile extends PositionalFile {
  close(): Promise<void>;
  /** Opened to append: the kernel puts each write at the end, so writes must go one at a time. */
  readonly append?: boolean;
}

export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive (default: to end of file). */
  end?: number;
  /** Bytes per read, and the stream's buffering (default 64 KiB). */
  highWaterMark?: number;
  /** Reads in flight ahead of the consumer (default 4). */
  readAhead?: number;
  /** Emit strings in this encoding instead of Buffers. */
  encoding?: string;
  /** Close the file when the stream ends or is destroyed (default true, as in Node). */
  autoClose?: boolean;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

export interface WriteStreamOptions {
  /** Offset of the first byte written (default 0; ignored in 'a' modes, which append). */
  start?: number;
  /** The stream's buffering in bytes (default 16 KiB, as Node's Writable). */
  highWaterMark?: number;
  /** Bytes accepted and not yet written, at most (default 8 MiB; 0: each write waits until written). */
  writeBehind?: number;
  /** Encoding of strings written without one (default 'utf8'). */
  encoding?: string;
  /** Close the file when the stream finishes or is destroyed (default true, as in Node). */
  autoClose?: boolean;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

const readKeys: ReadonlySet<string> = new Set(['start', 'end', 'highWaterMark', 'readAhead', 'encoding', 'autoClose', 'signal']);
const writeKeys: ReadonlySet<string> = new Set(['start', 'highWaterMark', 'writeBehind', 'encoding', 'autoClose', 'signal']);
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
const DEFAULT_CHUNK = 1 << 16;

function checkedOptions(options: unknown, keys: ReadonlySet<string>): Record<string, unknown> {
  const checked = validateObject(options, 'options') ?? {};
  validateKnownKeys(checked, keys, 'options');
  return checked;
}

function closer(file: StreamFile, autoClose: boolean) {
  return (error: Error | null, callback: (error?: Error | null) => void): void => {
    if (!autoClose) return callback(error);
    file.close().then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  };
}

export function createReadStream(file: StreamFile, options?: ReadStreamOptions): Readable {
  const checked = checkedOptions(options, readKeys);
  const position = checked.start === undefined ? 0 : validateInteger(checked.start, 'options.start', 0, MAX_OFFSET);
  let end = Infinity;
  if (checked.end !== undefined && checked.end !== Infinity) {
    end = validateInteger(checked.end, 'options.end', 0, MAX_OFFSET);
    if (end < position) throw outOfRange('options.start', `<= "end" (here: ${end})`, position);
  }
  const highWaterMark =
    checked.highWaterMark === undefined ? DEFAULT_CHUNK : validateInteger(checked.highWaterMark, 'options.highWaterMark', 1, 2 ** 30);
  const encoding = checked.encoding === undefined ? undefined : validateEncoding(checked.encoding, 'options.encoding');
  const autoClose = checked.autoClose === undefined ? true : validateBoolean(checked.autoClose, 'options.autoClose');
  const signal = validateSignal(checked.signal, 'options.signal');
  const readAhead = validateReadAhead(checked.readAhead);
  const chunks = new ReadAhead(file, position, highWaterMark, readAhead, end + 1);
  return new Readable({
    highWaterMark,
    encoding,
    signal,
    read() {
      chunks.next().then(
        (chunk) => this.push(chunk.length > 0 ? chunk : null),
        (error: Error) => this.destroy(error),
      );
    },
    destroy: closer(file, autoClose),
  });
}

export function createWriteStream(file: StreamFile, options?: WriteStreamOptions): Writable {
  const checked = checkedOptions(options, writeKeys);
  const position = checked.start === undefined ? 0 : validateInteger(checked.start, 'options.start', 0, MAX_OFFSET);
  const highWaterMark =
    checked.highWaterMark === undefined ? undefined : validateInteger(checked.highWaterMark, 'options.highWaterMark', 1, 2 ** 30);
  const defaultEncoding = checked.encoding === undefined ? 'utf8' : validateEncoding(checked.encoding, 'options.encoding');
  const autoClose = checked.autoClose === undefined ? true : validateBoolean(checked.autoClose, 'options.autoClose');
  const signal = validateSignal(checked.signal, 'options.signal');
  const limit = validateWriteBehind(checked.writeBehind);
  const behind = new WriteBehind(file, position, { limit, blockSize: Math.min(DEFAULT_BLOCK_SIZE, Math.max(limit, 1)), ordered: file.append ?? false });
  const accept = (bytes: Buffer, callback: (error?: Error | null) => void) => {
    behind.write(bytes).then(() => callback(), callback);
  };
  return new Writable({
    highWaterMark,
    defaultEncoding,
    decodeStrings: true,
    signal,
    // decodeStrings: Writable hands every chunk over as a Buffer, having refused anything else.
    write(chunk: Buffer, _encoding, callback) {
      accept(chunk, callback);
    },
    writev(chunks, callback) {
      accept(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)), callback);
    },
    // 'finish' only once every accepted byte is written; the first write error fails the stream.
    final(callback) {
      behind.flush().then(() => callback(), callback);
    },
    destroy: closer(file, autoClose),
  });
}

export function readableWebStream(file: StreamFile): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: DEFAULT_CHUNK,
    async pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      const n = await file.readInto(view, position);
      position += n;
      if (n === 0) {
        controller.close();
        request.respond(0);
      } else {
        request.respond(n);
      }
    },
  }) as ReadableStream<Uint8Array>;
}
