/**
 * Node interop: node:stream and WHATWG streams over a file (an AIOFile, or the FileHandle of
 * aiofs/promises), with the option names and defaults of FileHandle.createReadStream /
 * createWriteStream / readableWebStream.
 */
import { Readable, Writable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { outOfRange } from '../errors.js';
import { validateBoolean, validateInteger, validateKnownKeys, validateObject, validateSignal } from '../validate.js';
import { validateEncoding } from './text.js';

/** What a stream needs of its file: positional reads and writes, and closing. */
export interface StreamFile {
  /** Fill `view` from `position`; fewer bytes only at end of file. */
  readInto(view: ArrayBufferView, position: number): Promise<number>;
  /** Write all of `bytes` at `position`. */
  writeAt(bytes: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive (default: to end of file). */
  end?: number;
  /** Bytes per read, and the stream's buffering (default 64 KiB). */
  highWaterMark?: number;
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
  /** Encoding of strings written without one (default 'utf8'). */
  encoding?: string;
  /** Close the file when the stream finishes or is destroyed (default true, as in Node). */
  autoClose?: boolean;
  /** Aborting destroys the stream with an AbortError. */
  signal?: AbortSignal;
}

const readKeys: ReadonlySet<string> = new Set(['start', 'end', 'highWaterMark', 'encoding', 'autoClose', 'signal']);
const writeKeys: ReadonlySet<string> = new Set(['start', 'highWaterMark', 'encoding', 'autoClose', 'signal']);
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
  let position = checked.start === undefined ? 0 : validateInteger(checked.start, 'options.start', 0, MAX_OFFSET);
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
  return new Readable({
    highWaterMark,
    encoding,
    signal,
    read() {
      const want = Math.min(highWaterMark, end - position + 1);
      if (want <= 0) {
        this.push(null);
        return;
      }
      const bytes = Buffer.allocUnsafe(want);
      file.readInto(bytes, position).then(
        (n) => {
          position += n;
          if (n > 0) this.push(bytes.subarray(0, n));
          // readInto returns short only after the kernel reported end of file.
          if (n < want) this.push(null);
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy: closer(file, autoClose),
  });
}

export function createWriteStream(file: StreamFile, options?: WriteStreamOptions): Writable {
  const checked = checkedOptions(options, writeKeys);
  let position = checked.start === undefined ? 0 : validateInteger(checked.start, 'options.start', 0, MAX_OFFSET);
  const highWaterMark =
    checked.highWaterMark === undefined ? undefined : validateInteger(checked.highWaterMark, 'options.highWaterMark', 1, 2 ** 30);
  const defaultEncoding = checked.encoding === undefined ? 'utf8' : validateEncoding(checked.encoding, 'options.encoding');
  const autoClose = checked.autoClose === undefined ? true : validateBoolean(checked.autoClose, 'options.autoClose');
  const signal = validateSignal(checked.signal, 'options.signal');
  const writeAt = (bytes: Buffer, callback: (error?: Error | null) => void) => {
    const at = position;
    position += bytes.length;
    file.writeAt(bytes, at).then(() => callback(), callback);
  };
  return new Writable({
    highWaterMark,
    defaultEncoding,
    decodeStrings: true,
    signal,
    // decodeStrings: Writable hands every chunk over as a Buffer, having refused anything else.
    write(chunk: Buffer, _encoding, callback) {
      writeAt(chunk, callback);
    },
    writev(chunks, callback) {
      writeAt(Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer)), callback);
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
