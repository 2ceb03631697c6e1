/**
 * FileHandle with node:fs/promises' methods, overloads, results and errors, its I/O on an
 * IoContext. Like Node's it counts operations in flight, so close() waits for them, and rejects
 * anything called after close() with EBADF "file closed".
 *
 * A position of null or -1 means "the current position", as in Node; but where Node lets the
 * kernel's fd offset move under concurrent calls (nodejs/node#55113: position-less writes issued
 * together land in any order), the handle keeps its own cursor and reserves each position-less
 * call's range when it is made, so such calls land one after another in call order.
 */
import { EventEmitter } from 'node:events';
import fs, { type BigIntStats, type Stats } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { devNull } from 'node:os';
import readline from 'node:readline';
import { ReadableStream as WebReadableStream, type ReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { closeFile, type IoContext, readNow } from '../context.js';
import { abortError, closedOnGarbageCollection, fileClosed, fileTooLarge, invalidArgType, invalidArgValue, invalidState, invalidThis, outOfRange } from '../errors.js';
import { forgetFd } from '../native.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { bytesOf, validateEncoding } from '../file/text.js';
import { readFully, readOnThen, writeFully } from '../file/transfer.js';
import { validateBoolean, validateBuffer, validateInteger, validateMode, validateObject, validateSignal } from '../validate.js';
import { byteLengthOf, bytesWithin, isTypedArray, ownByteLength } from '../views.js';

/** Reactions of this promise run in the next microtask, and it costs no allocation of its own. */
const settledAlready = Promise.resolve();

/** read()'s result, stored field by field: the cheapest way to result()'s prototype-less object. */
function readResult<T extends ArrayBufferView>(bytesRead: number, buffer: T): ReadResult<T> {
  const read = Object.create(null) as ReadResult<T>;
  read.bytesRead = bytesRead;
  read.buffer = buffer;
  return read;
}

const MAX_POSITION = Number.MAX_SAFE_INTEGER;
const READ_CHUNK = 1 << 16;
/** The largest file readFile reads (Node's kIoMaxLength): a Buffer cannot hold more. */
const MAX_READ_FILE = 2 ** 31 - 1;
/** With a signal, writeFile writes in chunks of this size and checks the signal between them, as Node. */
const WRITE_CHUNK = 1 << 19;
/** readFile asks the file's size (one fstat) only once it has read this much. */
const SIZE_CHECK_AFTER = 1 << 24;
const fchmod = promisify(fs.fchmod);
const fchown = promisify(fs.fchown);
const futimes = promisify(fs.futimes);

export interface ReadResult<T extends ArrayBufferView> {
  bytesRead: number;
  buffer: T;
}

export interface WriteResult<T> {
  bytesWritten: number;
  buffer: T;
}

export interface ReadOptions<T extends ArrayBufferView> {
  buffer?: T;
  offset?: number;
  length?: number;
  position?: number | bigint | null;
}

/** Options of readFile/writeFile/appendFile, as node:fs/promises takes them. */
export interface FileOptions {
  encoding?: BufferEncoding | null;
  flag?: string | number;
  mode?: number | string;
  signal?: AbortSignal;
  /** writeFile/appendFile of a path: fsync the file before closing it. */
  flush?: boolean;
}

/** Node's data argument of writeFile: text, bytes, or an (async) iterable or stream of them. */
export type WriteData = string | ArrayBufferView | Iterable<string | ArrayBufferView> | AsyncIterable<string | ArrayBufferView>;

/** Node's position argument: null/-1/undefined for "the current position", else a non-negative integer (or bigint). */
function positionOrCurrent(position: unknown): number | null {
  if (position === undefined || position === null || position === -1 || position === -1n) return null;
  if (typeof position === 'bigint') {
    if (position < 0n || position > BigInt(MAX_POSITION)) throw outOfRange('position', `>= 0 && <= ${MAX_POSITION}`, position);
    return Number(position);
  }
  return validateInteger(position, 'position', 0, MAX_POSITION);
}

/** writeFile's data: text, bytes, or an (async) iterable of them. Checked before any I/O, as Node does. */
export function validateWriteData(data: unknown): WriteData {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return data;
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) return data as WriteData;
  // Node's wording, which leaves out the iterables it also takes.
  throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
}

/**
 * The `count` bytes of `buffer` from `start`, checked by the caller against the buffer's own
 * byteLength: the buffer itself when that is all of it, read through views.ts (never its own
 * getters again). Throws when they are not all there: a byteLength that claimed more.
 */
function part(buffer: ArrayBufferView, start: number, count: number): ArrayBufferView {
  return start === 0 && count === byteLengthOf(buffer) ? buffer : within(buffer, start, count);
}

/** A Uint8Array over the `count` bytes of `buffer` from `start` (see part()). */
function within(buffer: ArrayBufferView, start: number, count: number): Uint8Array {
  const bytes = bytesWithin(buffer, start, count);
  if (bytes === undefined) throw invalidArgValue('buffer', buffer, `has fewer than ${start + count} bytes`);
  return bytes;
}

/** Node's FileHandle results are objects without a prototype. */
function result<T extends object>(fields: T): T {
  return Object.assign(Object.create(null) as T, fields);
}


export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * node:fs/promises' own FileHandle class, learned once from a handle of the null device when this
 * module loads, so that ours is an instance of it and Node's APIs that take a FileHandle
 * (fs.createReadStream(null, { fd: handle }), http2's respondWithFD, handle.createReadStream())
 * take ours. Its internal symbols are found by name, so that Node's streams' reference counting
 * (kRef, kUnref) reaches our implementation. Where the runtime has no such class, the base is a
 * plain EventEmitter and the symbols are our own.
 */
async function learnNodeFileHandle() {
  const named = (symbols: symbol[], name: string) => symbols.find((symbol) => symbol.description === name) ?? Symbol(name);
  try {
    const probe = await fsPromises.open(devNull, 'r');
    await probe.close();
    const Base = probe.constructor as new (handle: NativeLikeHandle) => EventEmitter;
    const own = Object.getOwnPropertySymbols(probe);
    const inherited = Object.getOwnPropertySymbols(Base.prototype);
    const symbols = {
      handle: named(own, 'kHandle'),
      fd: named(own, 'kFd'),
      refs: named(own, 'kRefs'),
      closePromise: named(own, 'kClosePromise'),
      ref: named(inherited, 'kRef'),
      unref: named(inherited, 'kUnref'),
      transfer: named(inherited, 'messaging_transfer_symbol'),
      transferList: named(inherited, 'messaging_transfer_list_symbol'),
    };
    if ([symbols.handle, symbols.fd, symbols.refs, symbols.closePromise].every((symbol) => own.includes(symbol))) return { Base, ...symbols };
  } catch {
    // No null device, or no FileHandle class: the plain base below.
  }
  return {
    Base: EventEmitter as unknown as new (handle: NativeLikeHandle) => EventEmitter,
    handle: Symbol('kHandle'),
    fd: Symbol('kFd'),
    refs: Symbol('kRefs'),
    closePromise: Symbol('kClosePromise'),
    ref: Symbol('kRef'),
    unref: Symbol('kUnref'),
    transfer: Symbol('messaging_transfer_symbol'),
    transferList: Symbol('messaging_transfer_list_symbol'),
  };
}

/** Node's native FileHandle, made from an fd without opening anything: what a transfer moves. */
interface NodeNativeHandle extends NativeLikeHandle {
  releaseFD(): number;
}

function nativeHandleFor(fd: number): NodeNativeHandle | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): { FileHandle?: new (fd: number) => NodeNativeHandle } }).binding('fs');
    return binding.FileHandle ? new binding.FileHandle(fd) : undefined;
  } catch {
    return undefined;
  }
}

/** What Node's FileHandle keeps as its native handle. */
interface NativeLikeHandle {
  readonly fd: number;
  close(): Promise<void>;
  getAsyncId(): number;
}

/** Ours: closes the fd through the context. Also what the garbage collector's registry holds. */
class RingHandle implements NativeLikeHandle {
  constructor(
    readonly fd: number,
    readonly context: IoContext,
    readonly path: string | undefined,
  ) {}

  /** Closed or given away: the registry of dropped handles has nothing to do. */
  released = false;

  close(): Promise<void> {
    return closeFile(this.context, this.fd);
  }

  getAsyncId(): number {
    return -1;
  }
}

const node = await learnNodeFileHandle();
const kHandle: unique symbol = node.handle as never;
const kFd: unique symbol = node.fd as never;
const kRefs: unique symbol = node.refs as never;
const kClosePromise: unique symbol = node.closePromise as never;
const kRef: unique symbol = node.ref as never;
const kUnref: unique symbol = node.unref as never;
const kTransfer: unique symbol = node.transfer as never;
const kTransferList: unique symbol = node.transferList as never;
const baseMethods = node.Base.prototype as unknown as Record<symbol, ((this: unknown) => unknown) | undefined>;

/**
 * Node 26 made closing a FileHandle on garbage collection an error (Node 24 still warns). Taken
 * from the running Node's version: asking Node itself would take an uncaught exception.
 */
const GC_CLOSE_IS_ERROR = Number(process.versions.node.split('.')[0]) >= 26;

/**
 * Handles dropped without close(): closed when collected, as Node closes its own, with its
 * warnings (DEP0137) or, on Node 26 and later, its uncaught ERR_INVALID_STATE. The held value
 * must not reference the handle.
 */
const dropped = new FinalizationRegistry<RingHandle>(({ fd, context, path, released }) => {
  if (released) return;
  closeFile(context, fd).catch(() => {});
  if (GC_CLOSE_IS_ERROR) {
    process.nextTick(() => {
      throw closedOnGarbageCollection(fd, path);
    });
    return;
  }
  process.emitWarning(`Closing file descriptor ${fd} on garbage collection`);
  if (!warnedDropped) {
    warnedDropped = true;
    process.emitWarning(
      'Closing a FileHandle object on garbage collection is deprecated. Please close FileHandle objects explicitly using FileHandle.prototype.close(). In the future, an error will be thrown if a file descriptor is closed during garbage collection.',
      'DeprecationWarning',
      'DEP0137',
    );
  }
});
let warnedDropped = false;

export class FileHandle extends node.Base {
  declare [kHandle]: NativeLikeHandle;
  declare [kFd]: number;
  declare [kRefs]: number;
  declare [kClosePromise]: Promise<void> | null | undefined;

  readonly #context: IoContext;
  readonly #fd: number;
  #ring!: RingHandle;
  #cursor = 0;
  #closeResolve: (() => void) | undefined;
  #closeReject: ((error: unknown) => void) | undefined;
  #webStreamLocked = false;

  /** @internal Use open(). */
  constructor(fd: number, context: IoContext, path?: string) {
    const handle = new RingHandle(fd, context, path);
    super(handle);
    // Node's base puts its own `close` on the instance, as Node's handles have one: ours replaces
    // it (an assignment, not a delete, which would slow every later property access).
    this.close = FileHandle.prototype.close;
    this[kHandle] = handle;
    this[kFd] = fd;
    this[kRefs] = 1;
    this[kClosePromise] = null;
    this.#fd = fd;
    this.#context = context;
    // No unregister token: registering with one costs twice as much; `released` says instead.
    dropped.register(this, handle);
    this.#ring = handle;
  }

  /** The file descriptor; -1 once closed. */
  get fd(): number {
    return this[kFd];
  }

  /** Node's reference count: operations in flight and streams hold the handle open. */
  [kRef](): void {
    this[kRefs]++;
  }

  [kUnref](): void {
    if (--this[kRefs] === 0) {
      this[kFd] = -1;
      this.#release().then(this.#closeResolve, this.#closeReject);
    }
  }

  /** Close the fd once nothing holds it; exactly once. */
  #release(): Promise<void> {
    this.#ring.released = true;
    // A native handle made for a transfer that did not happen must not close the fd again.
    if (this.#native) this.#native.releaseFD();
    return closeFile(this.#context, this.#fd);
  }

  /**
   * Transfer to a worker (port.postMessage(handle, [handle])): Node moves a native FileHandle, so
   * one is made for the fd now (no open, no I/O), and Node's own transfer does the rest, with its
   * checks ("Cannot transfer FileHandle while in use"). The fd then belongs to the receiver.
   */
  [kTransferList](): unknown {
    this.#prepareTransfer();
    return baseMethods[kTransferList]!.call(this);
  }

  [kTransfer](): unknown {
    this.#prepareTransfer();
    const transferred = baseMethods[kTransfer]!.call(this);
    this.#ring.released = true;
    forgetFd(this.#fd);
    return transferred;
  }

  #native: NodeNativeHandle | undefined;

  #prepareTransfer(): void {
    if (this.#native || this[kFd] === -1 || this[kClosePromise] || this[kRefs] > 1) return; // Node's checks speak
    const native = nativeHandleFor(this.#fd);
    if (!native) throw new DOMException('This runtime cannot transfer an aiofs FileHandle', 'DataCloneError');
    this.#native = native;
    this[kHandle] = native;
  }

  read<T extends ArrayBufferView = Buffer>(
    buffer: T,
    offset?: number | null,
    length?: number | null,
    position?: number | bigint | null,
  ): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = Buffer>(buffer: T, options?: ReadOptions<T>): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView = Buffer>(options?: ReadOptions<T>): Promise<ReadResult<T>>;
  read<T extends ArrayBufferView>(first?: unknown, second?: unknown, third?: unknown, fourth?: unknown): Promise<ReadResult<T>> {
    // Not through #run: the reference is released in the same reaction that builds the result,
    // one over the context's read, as every positioned read comes this way.
    let buffer: ArrayBufferView;
    let view: ArrayBufferView;
    let at: number | null;
    if (
      // The common call, read(typedArray, offset, length, position) with integers in range on an
      // open handle: what the checks below accept as it is, tested inline. Worth 2-6% of a cached
      // 4 KiB read one at a time (alternating in one process, 8-10 rounds, 2026-12-03).
      typeof second === 'number' &&
      typeof third === 'number' &&
      typeof fourth === 'number' &&
      isTypedArray(first) && // of any realm; not a DataView, whose byteLength throws once detached
      FileHandle.#isHandle(this) &&
      this[kFd] !== -1 &&
      third > 0 &&
      second >= 0 &&
      fourth >= 0 &&
      fourth <= MAX_POSITION &&
      Number.isInteger(second) &&
      Number.isInteger(third) &&
      Number.isInteger(fourth) &&
      // Its own byteLength, as Node's check reads it (one that throws takes the general path,
      // which rejects with it), and its memory, which part() then takes without a check.
      second + third <= ownByteLength(first) &&
      second + third <= byteLengthOf(first)
    ) {
      buffer = first;
      view = part(first, second, third);
      at = fourth;
    } else {
      try {
        FileHandle.#check(this, 'read');
      } catch (error) {
        return Promise.reject(error);
      }
      try {
        let offset: unknown;
        let length: unknown;
        let position: unknown;
        if (ArrayBuffer.isView(first)) {
          buffer = first;
          if (second !== null && typeof second === 'object') {
            ({ offset, length, position } = second as ReadOptions<T>);
          } else {
            offset = second;
            length = third;
            position = fourth;
          }
        } else {
          const options = validateObject(first ?? {}, 'options')!;
          buffer = options.buffer === undefined ? Buffer.alloc(16384) : validateBuffer(options.buffer);
          ({ offset, length, position } = options as ReadOptions<T>);
        }
        validateBuffer(buffer);
        // Node's order: nothing to read succeeds at once; an empty buffer cannot take any bytes.
        const wanted = length ?? buffer.byteLength - (typeof offset === 'number' ? offset : 0);
        if (wanted === 0) return Promise.resolve(result({ bytesRead: 0, buffer: buffer as T }));
        if (buffer.byteLength === 0) throw invalidArgValue('buffer', buffer, 'is empty and cannot be written');
        const start = offset === undefined || offset === null ? 0 : validateInteger(offset, 'offset', 0, buffer.byteLength);
        const count =
          length === undefined || length === null
            ? buffer.byteLength - start
            : validateInteger(length, 'length', 0, buffer.byteLength - start);
        at = positionOrCurrent(position);
        view = part(buffer, start, count);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this[kRef]();
    if (at !== null) {
      const first = this.#context[readNow](this.#fd, view, at);
      if (typeof first === 'number' && (first === 0 || first >= byteLengthOf(view))) {
        // Read inside this call (a page-cache hit): the handle stays in use, as Node's would,
        // until the promise's reactions may run (postMessage refuses to transfer it until then).
        void settledAlready.then(this.#unref);
        return Promise.resolve(readResult(first, buffer as T));
      }
      return readOnThen(this.#context, this.#fd, view, at, first, (n) => this.#released(readResult(n, buffer as T)) as ReadResult<T>, this.#releasedAfterError);
    }
    return this.#transferAtCursor(view, false).then((n) => this.#released(readResult(n, buffer as T)) as ReadResult<T>, this.#releasedAfterError);
  }

  write<T extends ArrayBufferView>(
    buffer: T,
    offset?: number | null,
    length?: number | null,
    position?: number | null,
  ): Promise<WriteResult<T>>;
  write<T extends ArrayBufferView>(buffer: T, options?: { offset?: number; length?: number; position?: number | null }): Promise<WriteResult<T>>;
  write(data: string, position?: number | null, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
  write(data: unknown, ...rest: unknown[]): Promise<WriteResult<unknown>> {
    return FileHandle.#run(this, 'write', () => {
      let view: Uint8Array;
      let at: number | null;
      if (typeof data === 'string') {
        // As Node: an encoding it does not know (a number, say) means utf8, a position that is
        // not a non-negative number means the current position; hex needs an even length.
        const encoding = typeof rest[1] === 'string' && Buffer.isEncoding(rest[1]) ? (rest[1] as BufferEncoding) : 'utf8';
        if (encoding.toLowerCase() === 'hex' && data.length % 2 !== 0) {
          throw invalidArgValue('encoding', rest[1], `is invalid for data of length ${data.length}`);
        }
        view = Buffer.from(data, encoding);
        at = typeof rest[0] === 'number' && rest[0] >= 0 ? positionOrCurrent(Math.trunc(rest[0])) : null;
      } else if (ArrayBuffer.isView(data)) {
        validateBuffer(data);
        let offset: unknown;
        let length: unknown;
        let position: unknown;
        if (rest[0] !== null && typeof rest[0] === 'object') ({ offset, length, position } = rest[0] as Record<string, unknown>);
        else [offset, length, position] = rest;
        const start = offset === undefined || offset === null ? 0 : validateInteger(offset, 'offset', 0, data.byteLength);
        const count =
          length === undefined || length === null ? data.byteLength - start : validateInteger(length, 'length', 0, data.byteLength - start);
        view = within(data, start, count);
        at = positionOrCurrent(position);
      } else {
        throw invalidArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
      }
      return this.#transfer(view, at, true).then((bytesWritten) => result({ bytesWritten, buffer: data }));
    });
  }

  readv<T extends ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesRead: number; buffers: T }> {
    return FileHandle.#run(this, 'readv', () => this.#vector(buffers, position, false)).then((bytesRead) => result({ bytesRead, buffers }));
  }

  writev<T extends ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesWritten: number; buffers: T }> {
    return FileHandle.#run(this, 'writev', () => this.#vector(buffers, position, true)).then((bytesWritten) => result({ bytesWritten, buffers }));
  }

  /** The rest of the file from the current position (Node reads from there too). */
  readFile(options?: FileOptions | BufferEncoding | null): Promise<string | Buffer> {
    return FileHandle.#run(this, 'read', () => {
      const { encoding, signal } = fileOptions(options, 'r');
      return readAll(this.#sequential(), signal).then((bytes) => (encoding ? bytes.toString(encoding) : bytes));
    });
  }

  /** Writes at the current position; `flush` is validated and, as in Node, applies to paths only. */
  writeFile(data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
    return FileHandle.#run(this, 'write', () => {
      validateWriteData(data);
      const { encoding, signal } = fileOptions(options, 'w', true);
      return writeAll(this.#sequential(), data, encoding ?? 'utf8', signal);
    });
  }

  appendFile(data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
    return this.writeFile(data, options);
  }

  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    return FileHandle.#run(this, 'fstat', () => this.#context.stat(this.#fd, options));
  }

  truncate(len = 0): Promise<void> {
    return FileHandle.#run(this, 'ftruncate', () => {
      const length = Math.max(0, validateInteger(len, 'len', -MAX_POSITION, MAX_POSITION));
      return this.#context.ftruncate(this.#fd, length);
    });
  }

  sync(): Promise<void> {
    return FileHandle.#run(this, 'fsync', () => this.#context.fsync(this.#fd).then(() => undefined));
  }

  datasync(): Promise<void> {
    return FileHandle.#run(this, 'fdatasync', () => this.#context.fdatasync(this.#fd).then(() => undefined));
  }

  /** The permission bits (07777) of `mode`: node:fs's binding aborts the process on a mode of 2^31 or more. */
  chmod(mode: number | string): Promise<void> {
    return FileHandle.#run(this, 'fchmod', () => {
      const bits = validateMode(mode, 'mode', 0) & 0o7777;
      return fchmod(this.#fd, bits);
    });
  }

  chown(uid: number, gid: number): Promise<void> {
    return FileHandle.#run(this, 'fchown', () => fchown(this.#fd, uid, gid));
  }

  utimes(atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    return FileHandle.#run(this, 'futime', () => futimes(this.#fd, atime, mtime));
  }

  /**
   * Close once the operations in flight and the streams using the handle are done; idempotent.
   * Emits 'close' at once, as Node's does.
   */
  close(): Promise<void> {
    if (typeof this !== 'object' || this === null || !(#context in this)) return Promise.reject(invalidThis('FileHandle'));
    if (this[kFd] === -1) return Promise.resolve();
    if (this[kClosePromise]) return this[kClosePromise];
    const clear = () => {
      this[kClosePromise] = undefined;
    };
    if (--this[kRefs] === 0) {
      this[kFd] = -1;
      this[kClosePromise] = this.#release().finally(clear);
    } else {
      this[kClosePromise] = new Promise<void>((resolve, reject) => {
        this.#closeResolve = resolve;
        this.#closeReject = reject;
      }).finally(clear);
    }
    this.emit('close');
    return this[kClosePromise];
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** An fs.ReadStream over the handle's reads, from `start` (default: the current position). */
  createReadStream(options?: fsPromises.CreateReadStreamOptions): fs.ReadStream {
    return fs.createReadStream(undefined as unknown as string, { ...options, fd: this } as unknown as Parameters<typeof fs.createReadStream>[1]);
  }

  /** An fs.WriteStream over the handle's writes, from `start` (default: the current position). */
  createWriteStream(options?: fsPromises.CreateWriteStreamOptions): fs.WriteStream {
    return fs.createWriteStream(undefined as unknown as string, { ...options, fd: this } as unknown as Parameters<typeof fs.createWriteStream>[1]);
  }

  /**
   * A WHATWG byte stream of the file from the current position; once per handle, which it holds
   * open until the stream ends or is cancelled; closing the handle cancels the stream.
   */
  readableWebStream(options: { type?: string } = {}): ReadableStream<Uint8Array> {
    if (this[kFd] === -1) throw invalidState('The FileHandle is closed');
    if (this[kClosePromise]) throw invalidState('The FileHandle is closing');
    if (this.#webStreamLocked) throw invalidState('The FileHandle is locked');
    this.#webStreamLocked = true;
    if (options.type !== undefined && typeof options.type !== 'string') throw invalidArgType('options.type', ['string'], options.type);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this[kUnref]();
    };
    const stream = new WebReadableStream({
      type: 'bytes',
      autoAllocateChunkSize: 1 << 14,
      pull: async (controller) => {
        const request = controller.byobRequest!;
        const view = request.view!;
        const { bytesRead } = await this.read(view as Uint8Array, 0, view.byteLength, null);
        if (bytesRead === 0) {
          finish();
          controller.close();
        }
        request.respond(bytesRead);
      },
      cancel: finish,
    });
    this[kRef]();
    this.once('close', () => {
      if (!done) stream.cancel().catch(() => {});
    });
    return stream as ReadableStream<Uint8Array>;
  }

  /** Lines of the file from the current position, through node:readline as Node's readLines(). */
  readLines(options?: fsPromises.CreateReadStreamOptions): readline.Interface {
    return readline.createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  /** Whether close() was called (the fd closes once nothing holds it any more). */
  get closed(): boolean {
    return this[kFd] === -1 || Boolean(this[kClosePromise]);
  }

  /** readFile and writeFile of this handle: from its cursor, which they move. */
  #sequential(): Cursor {
    return { transfer: (view, writing) => this.#transfer(view, null, writing), size: () => this.#context.stat(this.#fd).then((stats) => stats.size) };
  }

  /**
   * Run an operation of `handle`, holding a reference to it as Node's fsCall does, so that a close
   * waits for it. `start` validates (a throw becomes the rejection) and starts the operation.
   * One promise reaction over the operation's, through handlers made once per handle: this is
   * every read's path.
   */
  static #run<R>(handle: FileHandle, syscall: string, start: () => Promise<R>): Promise<R> {
    try {
      FileHandle.#check(handle, syscall);
    } catch (error) {
      return Promise.reject(error);
    }
    handle[kRef]();
    let pending: Promise<R>;
    try {
      pending = start();
    } catch (error) {
      handle[kUnref]();
      return Promise.reject(error);
    }
    return pending.then(handle.#released as (value: R) => R, handle.#releasedAfterError);
  }

  /** Throws unless `handle` is an open FileHandle (called on something else: Node rejects too). */
  static #check(handle: FileHandle, syscall: string): void {
    if (!FileHandle.#isHandle(handle)) throw invalidThis('FileHandle');
    if (handle[kFd] === -1) throw fileClosed(syscall);
  }

  static #isHandle(handle: unknown): handle is FileHandle {
    return typeof handle === 'object' && handle !== null && #context in handle;
  }

  readonly #unref = (): void => {
    this[kUnref]();
  };

  readonly #released = (value: unknown): unknown => {
    this[kUnref]();
    return value;
  };

  readonly #releasedAfterError = (error: unknown): never => {
    this[kUnref]();
    throw error;
  };

  /** One read or write of `view` at `position`, or at the cursor (reserved now) when null. */
  #transfer(view: Uint8Array, position: number | null, writing: boolean): Promise<number> {
    if (position !== null) return writing ? writeFully(this.#context, this.#fd, view, position) : readFully(this.#context, this.#fd, view, position);
    return this.#transferAtCursor(view, writing);
  }

  /** `view` is a Uint8Array when writing. */
  async #transferAtCursor(view: ArrayBufferView, writing: boolean): Promise<number> {
    const at = this.#cursor;
    const length = byteLengthOf(view);
    this.#cursor += length;
    const n = writing ? await writeFully(this.#context, this.#fd, view as Uint8Array, at) : await readFully(this.#context, this.#fd, view, at);
    // A short read gives back what it reserved, unless a later call already moved on from there.
    if (n < length && this.#cursor === at + length) this.#cursor = at + n;
    return n;
  }

  /** readv/writev: validates (a throw), then starts the operation. */
  #vector(buffers: unknown, position: unknown, writing: boolean): Promise<number> {
    if (!Array.isArray(buffers)) throw invalidArgType('buffers', ['ArrayBufferView[]'], buffers);
    buffers.forEach((b, i) => validateBuffer(b, `buffers[${i}]`));
    const at = positionOrCurrent(position);
    const views = buffers as ArrayBufferView[];
    const total = views.reduce((sum, b) => sum + byteLengthOf(b), 0);
    return (async () => {
      const start = at ?? this.#cursor;
      if (at === null) this.#cursor += total;
      const n = writing ? await this.#context.writev(this.#fd, views, start) : await this.#context.readv(this.#fd, views, start);
      if (at === null && n < total && this.#cursor === start + total) this.#cursor = start + n;
      return n;
    })();
  }
}

/** readFile/writeFile options: a string is the encoding; `flag` defaults per call. */
export function fileOptions(
  options: unknown,
  defaultFlag: string,
  writing = false,
): { encoding: BufferEncoding | undefined; flag: unknown; mode: unknown; signal: AbortSignal | undefined; flush: boolean } {
  if (options === undefined || options === null) return { encoding: undefined, flag: defaultFlag, mode: undefined, signal: undefined, flush: false };
  if (typeof options === 'string') return { encoding: validateEncoding(options, 'encoding'), flag: defaultFlag, mode: undefined, signal: undefined, flush: false };
  const checked = validateObject(options, 'options')!;
  const encoding =
    checked.encoding === undefined || checked.encoding === null ? undefined : validateEncoding(checked.encoding, 'encoding');
  return {
    encoding,
    flag: checked.flag ?? defaultFlag,
    mode: checked.mode,
    signal: validateSignal(checked.signal, 'options.signal'),
    // Only writeFile and appendFile know the option (readFile ignores it, as Node's does).
    flush: writing ? validateBoolean(checked.flush ?? false, 'options.flush') : false,
  };
}

/** What readFile and writeFile need of a file: transfers at a cursor they move, and its size. */
export interface Cursor {
  /** Read into, or write, all of `view` at the cursor and move it; a read is short only at end of file. */
  transfer(view: Uint8Array, writing: boolean): Promise<number>;
  /** The file's size now (fstat). */
  size(): Promise<number>;
}

/** A cursor from the start of an fd: readFile and writeFile of a path need no FileHandle. */
export class FdCursor implements Cursor {
  #position = 0;

  constructor(
    private readonly context: IoContext,
    private readonly fd: number,
  ) {}

  async transfer(view: Uint8Array, writing: boolean): Promise<number> {
    const at = this.#position;
    const n = writing ? await writeFully(this.context, this.fd, view, at) : await readFully(this.context, this.fd, view, at);
    this.#position = at + n;
    return n;
  }

  async size(): Promise<number> {
    return (await this.context.stat(this.fd)).size;
  }
}

/** Everything from the cursor to end of file, in growing reads (the size asked only past 16 MiB). */
export async function readAll(file: Cursor, signal?: AbortSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  let size = READ_CHUNK;
  let sizeChecked = false;
  for (;;) {
    // Node reads on the thread pool, so an abort from the next tick or a timer comes between
    // its chunks; ours may complete without a turn of the loop: give it that turn.
    if (signal) await nextTurn();
    checkAborted(signal);
    if (!sizeChecked && total >= SIZE_CHECK_AFTER) {
      sizeChecked = true;
      const fileSize = await file.size();
      if (fileSize > MAX_READ_FILE) throw fileTooLarge(fileSize);
    }
    const chunk = Buffer.allocUnsafe(size);
    const n = await file.transfer(chunk, false);
    if (n > 0) parts.push(n === size ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > MAX_READ_FILE) throw fileTooLarge(total); // a file that reports no size
    // A short transfer means the kernel already answered 0: the end of the file.
    if (n < size) break;
    if (size < 1 << 24) size *= 2;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
}

/** Write `data` at the cursor, chunk after chunk for iterables. */
export async function writeAll(file: Cursor, data: WriteData, encoding: BufferEncoding, signal?: AbortSignal): Promise<void> {
  checkAborted(signal);
  if (typeof data === 'string' || ArrayBuffer.isView(data)) return writeChecked(file, bytesOf(data, encoding), signal);
  validateWriteData(data);
  for await (const chunk of data as AsyncIterable<string | ArrayBufferView>) {
    checkAborted(signal);
    if (typeof chunk !== 'string' && !ArrayBuffer.isView(chunk)) {
      throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], chunk);
    }
    await writeChecked(file, bytesOf(chunk, encoding), signal);
  }
}

/**
 * Write `bytes` at the cursor. With a signal, as Node does: in chunks, an abort checked after
 * each, and a turn of the event loop before each check (Node's writes take one on the pool;
 * ours may complete without, and an abort from the next tick or a timer must still win).
 */
async function writeChecked(file: Cursor, bytes: Buffer, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) {
    await file.transfer(bytes, true);
    return;
  }
  let at = 0;
  do {
    await file.transfer(bytes.subarray(at, at + WRITE_CHUNK), true);
    at += WRITE_CHUNK;
    await nextTurn();
    checkAborted(signal);
  } while (at < bytes.byteLength);
}
