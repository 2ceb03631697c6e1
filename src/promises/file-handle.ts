/**
 * FileHandle with node:fs/promises' methods, overloads, results and errors, its I/O on an
 * IoContext. Like Node's it counts operations in flight, so close() waits for them, and rejects
 * anything called after close() with EBADF "file closed".
 *
 * Each method takes the everyday shapes of its arguments itself (a typed array, offsets and
 * lengths inside it, a position null, -1 or a safe integer); any other call is answered by Node's
 * own FileHandle method on the same handle (see #otherwise), so that validation, errors and the
 * odd values each release reads its own way are Node's. A position of null or -1 is the file's
 * own position, as in Node (read(2) and write(2), which move it; an 'a' or 'a+' handle's writes
 * land at the end); the handle starts its position-less calls one after another, in call order,
 * where node:fs lets them race (nodejs/node#55113).
 */
import { EventEmitter } from 'node:events';
import fs, { type BigIntStats, type Stats } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { devNull } from 'node:os';
import readline from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { ReadableStream as WebReadableStream, type ReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { constants } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { closeFile, type IoContext, readNow } from '../context.js';
import {
  abortError,
  closedOnGarbageCollection,
  fileClosed,
  fileTooLarge,
  invalidArgType,
  invalidArgValue,
  invalidState,
  invalidThis,
  outOfRange,
  systemError,
} from '../errors.js';
import { bytesOf, validateEncoding } from '../file/text.js';
import { isStream, readFully, readOnThen, writeFully, writevFully } from '../file/transfer.js';
import { CURRENT_POSITION } from '../limits.js';
import { forgetFd, runtime } from '../native.js';
import { nodeFs, nodeFsp } from '../node-fs.js';
import {
  isStringFlag,
  nodeSafeMode,
  validateBoolean,
  validateBuffer,
  validateBufferArray,
  validateInteger,
  validateMode,
  validateObject,
  validateSignal,
} from '../validate.js';
import { byteLengthOf, bytesWithin, hasMemory, isTypedArray, ownByteLength } from '../views.js';

/** Reactions of this promise run in the next microtask, and it costs no allocation of its own. */
const settledAlready = Promise.resolve();

/** read()'s result, stored field by field: the cheapest way to result()'s prototype-less object. */
function readResult<T extends ArrayBufferView>(bytesRead: number, buffer: T): ReadResult<T> {
  const read = Object.create(null) as ReadResult<T>;
  read.bytesRead = bytesRead;
  read.buffer = buffer;
  return read;
}

const { EINVAL, ESPIPE } = constants.errno;
const MAX_POSITION = Number.MAX_SAFE_INTEGER;
const toVoid = (): void => undefined;
const READ_CHUNK = 1 << 16;
/** The largest file readFile reads (Node's kIoMaxLength): a Buffer cannot hold more. */
const MAX_READ_FILE = 2 ** 31 - 1;
/** With a signal, writeFile writes in chunks of this size and checks the signal between them, as Node. */
const WRITE_CHUNK = 1 << 19;
/** readFile asks the file's size (one fstat) only once it has read this much. */
const SIZE_CHECK_AFTER = 1 << 24;
const fchmod = promisify(nodeFs.fchmod);
const fchown = promisify(nodeFs.fchown);
const futimes = promisify(nodeFs.futimes);

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

/** The fields and methods Node's FileHandle keeps under symbols of its own (internal/fs/promises). */
interface NodeFileHandleClass {
  Base: new (handle: NativeLikeHandle) => EventEmitter;
  handle: symbol;
  fd: symbol;
  refs: symbol;
  closePromise: symbol;
  ref: symbol;
  unref: symbol;
  transfer: symbol;
  transferList: symbol;
}

/**
 * node:fs/promises' own FileHandle class and its internal symbols, found by name on a handle of
 * the null device (open and close, once); undefined where the runtime has no such class.
 */
async function probeNodeFileHandle(): Promise<NodeFileHandleClass | undefined> {
  const named = (symbols: symbol[], name: string) => symbols.find((symbol) => symbol.description === name);
  try {
    const probe = await nodeFsp.open(devNull, 'r');
    await probe.close();
    const Base = probe.constructor as NodeFileHandleClass['Base'];
    const own = Object.getOwnPropertySymbols(probe);
    const inherited = Object.getOwnPropertySymbols(Base.prototype);
    const found = {
      handle: named(own, 'kHandle'),
      fd: named(own, 'kFd'),
      refs: named(own, 'kRefs'),
      closePromise: named(own, 'kClosePromise'),
      ref: named(inherited, 'kRef'),
      unref: named(inherited, 'kUnref'),
      transfer: named(inherited, 'messaging_transfer_symbol'),
      transferList: named(inherited, 'messaging_transfer_list_symbol'),
    };
    if (Object.values(found).every((symbol) => symbol !== undefined)) return { Base, ...(found as Omit<NodeFileHandleClass, 'Base'>) };
  } catch {
    // No null device, or no FileHandle class: our own base stays.
  }
  return undefined;
}

let learning: Promise<void> | undefined;
/** learnNodeFileHandle() has settled: a handle made now is made as it ever will be. */
export let learned = false;

/**
 * Make our FileHandle an instance of node:fs/promises' own class, so that Node's APIs that take a
 * FileHandle (fs.createReadStream(null, { fd: handle }), http2's respondWithFD,
 * handle.createReadStream()) take ours: learned once, by the first open() (not at import: require()
 * of an ES module cannot wait, and a process that opens no handle opens nothing for this). Our
 * class's parent then becomes Node's, and Node's internal symbols reach our fields and our
 * reference counting. Where the runtime has no such class (Bun, Deno), the base stays a plain
 * EventEmitter. The probe is an open of Node's own: a worker terminated while it is on the thread
 * pool loses that fd, as Node loses the fd of any open in flight when a worker is terminated.
 */
export function learnNodeFileHandle(): Promise<void> {
  learning ??= probeNodeFileHandle().then((found) => {
    learned = true;
    if (!found) return;
    const { Base } = found;
    Object.setPrototypeOf(FileHandle, Base);
    Object.setPrototypeOf(FileHandle.prototype, Base.prototype);
    const prototype = FileHandle.prototype as unknown as Record<symbol, unknown>;
    // Node's fields, as Node's code reads and writes them, are ours.
    for (const [theirs, ours] of [
      [found.handle, kHandle],
      [found.fd, kFd],
      [found.refs, kRefs],
      [found.closePromise, kClosePromise],
    ] as const) {
      Object.defineProperty(prototype, theirs, {
        get(this: Record<symbol, unknown>) {
          return this[ours];
        },
        set(this: Record<symbol, unknown>, value: unknown) {
          this[ours] = value;
        },
      });
    }
    // Node's methods under its symbols are ours (its streams' reference counting, transfers).
    for (const [theirs, ours] of [
      [found.ref, kRef],
      [found.unref, kUnref],
      [found.transfer, kTransfer],
      [found.transferList, kTransferList],
    ] as const) {
      Object.defineProperty(prototype, theirs, { value: prototype[ours], writable: true, configurable: true });
    }
    nodeClass = found;
    nodeMethods = Base.prototype as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
  });
  return learning;
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

// Our own symbols for the fields and methods Node keeps under its own: learnNodeFileHandle()
// makes Node's reach these.
const kHandle: unique symbol = Symbol('kHandle');
const kFd: unique symbol = Symbol('kFd');
const kRefs: unique symbol = Symbol('kRefs');
const kClosePromise: unique symbol = Symbol('kClosePromise');
const kRef: unique symbol = Symbol('kRef');
const kUnref: unique symbol = Symbol('kUnref');
const kTransfer: unique symbol = Symbol('messaging_transfer_symbol');
const kTransferList: unique symbol = Symbol('messaging_transfer_list_symbol');
/** Node's FileHandle class and symbols, once learned (learnNodeFileHandle). */
let nodeClass: NodeFileHandleClass | undefined;
/** Node's own FileHandle methods, where the runtime has Node's class (FileHandle.#otherwise). */
let nodeMethods: Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined> | undefined;

/**
 * Node 26 made closing a FileHandle on garbage collection an error (Node 24 still warns). Taken
 * from the running Node's version (asking Node itself would take an uncaught exception); Bun and
 * Deno report a Node version they imitate, and are not Node.
 */
const NODE_MAJOR = runtime().name === 'Node.js' ? Number(process.versions.node.split('.')[0]) : 0;
const GC_CLOSE_IS_ERROR = NODE_MAJOR >= 26;

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

export class FileHandle extends (EventEmitter as unknown as new (handle: NativeLikeHandle) => EventEmitter) {
  declare [kHandle]: NativeLikeHandle;
  declare [kFd]: number;
  declare [kRefs]: number;
  declare [kClosePromise]: Promise<void> | null | undefined;

  readonly #context: IoContext;
  readonly #fd: number;
  #ring!: RingHandle;
  #closeResolve: (() => void) | undefined;
  #closeReject: ((error: unknown) => void) | undefined;
  #webStreamLocked = false;

  /** @internal Use open(). */
  constructor(fd: number, context: IoContext, path?: string) {
    const handle = new RingHandle(fd, context, path);
    super(handle);
    // Node's base puts its own `close` on the instance, bound to it (`handle.close` passed
    // around, or called on anything, closes this handle): ours replaces it, bound the same way
    // (an assignment, not a delete, which would slow every later property access).
    this.close = () => this.#close();
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
    return FileHandle.#base(nodeClass?.transferList).call(this);
  }

  [kTransfer](): unknown {
    this.#prepareTransfer();
    const transferred = FileHandle.#base(nodeClass?.transfer).call(this);
    this.#ring.released = true;
    forgetFd(this.#fd);
    return transferred;
  }

  #native: NodeNativeHandle | undefined;

  /** Node's method under `symbol` (a transfer's); where there is none, one that refuses as a structured clone would. */
  static #base(symbol: symbol | undefined): (this: unknown) => unknown {
    const method = symbol && (nodeClass!.Base.prototype as unknown as Record<symbol, ((this: unknown) => unknown) | undefined>)[symbol];
    return (
      method ??
      (() => {
        throw new DOMException('This runtime cannot transfer an aiofs FileHandle', 'DataCloneError');
      })
    );
  }

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
    let at: number;
    if (
      // The common call, read(typedArray, offset, length, position) with integers in range on an
      // open handle: what transferOf() below accepts as it is, tested inline, which a cached
      // read one at a time measurably gains (docs/benchmarks.md, "Measurements the code relies on").
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
      // Its own byteLength, as Node's check reads it (one that throws is the runtime's to answer),
      // and its memory, which part() then takes without a check.
      second + third <= ownByteLength(first) &&
      second + third <= byteLengthOf(first)
    ) {
      buffer = first;
      view = part(first, second, third);
      at = fourth;
    } else {
      const call = FileHandle.#isOpen(this)
        ? isTypedArray(first)
          ? transferOf(first, second, third, fourth)
          : first !== null && typeof first === 'object' && !ArrayBuffer.isView(first)
            ? readOptionsOf(first)
            : undefined
        : undefined;
      if (call === undefined) {
        let args: unknown[];
        try {
          args = readArgsNodeSurvives(FileHandle.#isOpen(this), first, second, third, fourth);
        } catch (error) {
          return Promise.reject(error);
        }
        return FileHandle.#otherwise(this, 'read', args) as Promise<ReadResult<T>>;
      }
      ({ buffer, view, position: at } = call);
    }
    if (at !== CURRENT_POSITION && this.#noPosition()) return Promise.reject(systemError(-ESPIPE, 'read'));
    this[kRef]();
    if (at === CURRENT_POSITION) {
      return this.#atCursor(() => this.#context[readNow](this.#fd, view, CURRENT_POSITION)).then(
        (n) => this.#released(readResult(n, buffer as T)) as ReadResult<T>,
        this.#releasedAfterError,
      );
    }
    const first_ = this.#context[readNow](this.#fd, view, at);
    if (typeof first_ === 'number' && (first_ === 0 || first_ >= byteLengthOf(view))) {
      // Read inside this call (a page-cache hit): the handle stays in use, as Node's would,
      // until the promise's reactions may run (postMessage refuses to transfer it until then).
      void settledAlready.then(this.#unref);
      return Promise.resolve(readResult(first_, buffer as T));
    }
    return readOnThen(this.#context, this.#fd, view, at, first_, (n) => this.#released(readResult(n, buffer as T)) as ReadResult<T>, this.#releasedAfterError);
  }

  write<T extends ArrayBufferView>(
    buffer: T,
    offset?: number | null,
    length?: number | null,
    position?: number | null,
  ): Promise<WriteResult<T>>;
  write<T extends ArrayBufferView>(buffer: T, options?: { offset?: number; length?: number; position?: number | null }): Promise<WriteResult<T>>;
  write(data: string, position?: number | null, encoding?: BufferEncoding | null): Promise<WriteResult<string>>;
  write(data: unknown, second?: unknown, third?: unknown, fourth?: unknown): Promise<WriteResult<unknown>> {
    let call: Transfer | undefined;
    if (FileHandle.#isOpen(this)) {
      if (isTypedArray(data)) call = transferOf(data, second, third, fourth, true);
      else if (typeof data === 'string' && data !== '' && isUtf8(third)) {
        const at = second === undefined || second === null ? CURRENT_POSITION : second;
        if (isPosition(at)) call = { buffer: data as never, view: Buffer.from(data, 'utf8'), position: at };
      }
    }
    if (call === undefined) return FileHandle.#otherwise(this, 'write', [data, second, third, fourth]) as Promise<WriteResult<unknown>>;
    const { view, position } = call;
    if (position !== CURRENT_POSITION && this.#noPosition()) return Promise.reject(systemError(-ESPIPE, 'write'));
    // One write, as Node's: a short count (a full disk, a file size limit reached) is the answer.
    return FileHandle.#run(this, 'write', () =>
      (position === CURRENT_POSITION ? this.#atCursor(() => this.#context.write(this.#fd, view, null)) : this.#context.write(this.#fd, view, position)).then(
        (bytesWritten) => result({ bytesWritten, buffer: data }),
      ),
    );
  }

  readv<T extends ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesRead: number; buffers: T }> {
    const at = FileHandle.#isOpen(this) ? vectorOf(buffers, position) : undefined;
    if (at === undefined) return FileHandle.#otherwise(this, 'readv', [buffers, position]) as Promise<{ bytesRead: number; buffers: T }>;
    if (at !== CURRENT_POSITION && this.#noPosition()) return Promise.reject(systemError(-ESPIPE, 'read'));
    // One vectored read, as Node's (of the first IOV_MAX buffers, as the kernel takes them).
    return FileHandle.#run(this, 'readv', () =>
      (at === CURRENT_POSITION ? this.#atCursor(() => this.#context.readv(this.#fd, buffers, null)) : this.#context.readv(this.#fd, buffers, at)).then((bytesRead) =>
        result({ bytesRead, buffers }),
      ),
    );
  }

  writev<T extends ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesWritten: number; buffers: T }> {
    const at = FileHandle.#isOpen(this) ? vectorOf(buffers, position) : undefined;
    if (at === undefined) return FileHandle.#otherwise(this, 'writev', [buffers, position]) as Promise<{ bytesWritten: number; buffers: T }>;
    if (at !== CURRENT_POSITION && this.#noPosition()) return Promise.reject(systemError(-ESPIPE, 'write'));
    // Every buffer, however many (the kernel takes IOV_MAX at a time), as libuv writes them for Node.
    return FileHandle.#run(this, 'writev', () =>
      (at === CURRENT_POSITION ? this.#atCursor(() => writevFully(this.#context, this.#fd, buffers, null)) : writevFully(this.#context, this.#fd, buffers, at)).then(
        (bytesWritten) => result({ bytesWritten, buffers }),
      ),
    );
  }

  /** The rest of the file from the current position (Node reads from there too). */
  readFile(options?: FileOptions | BufferEncoding | null): Promise<string | Buffer> {
    const checked = FileHandle.#isOpen(this) ? everydayFileOptions(options, 'readFile') : undefined;
    if (checked === undefined) return FileHandle.#otherwise(this, 'readFile', [options]) as Promise<string | Buffer>;
    const { encoding, signal } = checked;
    return FileHandle.#run(this, 'readFile', () =>
      this.#atCursor(() => readAll(new FdCursor(this.#context, this.#fd, null), signal, true)).then((bytes) => (encoding ? bytes.toString(encoding) : bytes)),
    );
  }

  /** Writes at the current position; `flush` is validated and, as in Node, applies to paths only. */
  writeFile(data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
    const checked = FileHandle.#isOpen(this) && isWriteData(data) ? everydayFileOptions(options, 'writeFile') : undefined;
    if (checked === undefined) return FileHandle.#otherwise(this, 'writeFile', [data, options]) as Promise<void>;
    const { encoding, signal } = checked;
    return FileHandle.#run(this, 'writeFile', () =>
      this.#atCursor(() => writeAll(new FdCursor(this.#context, this.#fd, null), data, encoding ?? 'utf8', signal)),
    );
  }

  appendFile(data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
    const checked = FileHandle.#isOpen(this) && isWriteData(data) ? everydayFileOptions(options, 'writeFile') : undefined;
    if (checked === undefined) return FileHandle.#otherwise(this, 'appendFile', [data, options]) as Promise<void>;
    return this.writeFile(data, options);
  }

  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    const bigint = FileHandle.#isOpen(this) ? bigintOption(options) : undefined;
    if (bigint === undefined) return FileHandle.#otherwise(this, 'stat', [options]) as Promise<Stats>;
    return FileHandle.#run(this, 'fstat', () => this.#context.stat(this.#fd, bigint ? BIGINT : undefined));
  }

  truncate(len = 0): Promise<void> {
    if (!FileHandle.#isOpen(this) || !Number.isSafeInteger(len)) return FileHandle.#otherwise(this, 'truncate', [len]) as Promise<void>;
    return FileHandle.#run(this, 'ftruncate', () => this.#context.ftruncate(this.#fd, Math.max(0, len)));
  }

  sync(): Promise<void> {
    if (!FileHandle.#isOpen(this)) return FileHandle.#otherwise(this, 'sync', []) as Promise<void>;
    return FileHandle.#run(this, 'fsync', () => this.#context.fsync(this.#fd).then(toVoid));
  }

  datasync(): Promise<void> {
    if (!FileHandle.#isOpen(this)) return FileHandle.#otherwise(this, 'datasync', []) as Promise<void>;
    return FileHandle.#run(this, 'fdatasync', () => this.#context.fdatasync(this.#fd).then(toVoid));
  }

  /** A mode node:fs's binding would abort the process on is refused (2^31 and up) or made safe (-0): nodeSafeMode. */
  chmod(mode: number | string): Promise<void> {
    let safe: unknown;
    try {
      safe = nodeSafeMode(mode);
    } catch (error) {
      return Promise.reject(error);
    }
    return FileHandle.#otherwise(this, 'chmod', [safe]) as Promise<void>;
  }

  chown(uid: number, gid: number): Promise<void> {
    return FileHandle.#otherwise(this, 'chown', [uid, gid]) as Promise<void>;
  }

  utimes(atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    return FileHandle.#otherwise(this, 'utimes', [atime, mtime]) as Promise<void>;
  }

  /**
   * Close once the operations in flight and the streams using the handle are done; idempotent.
   * Emits 'close' at once, as Node's does.
   */
  close(): Promise<void> {
    // Each handle has its own, bound to it (the constructor's); Node has no prototype method for
    // a wrong receiver to reach.
    if (!FileHandle.#isHandle(this)) return Promise.reject(invalidThis('FileHandle'));
    return this.#close();
  }

  #close(): Promise<void> {
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

  /**
   * An fs.ReadStream over the handle's reads, from `start` (default: the current position). Where
   * the runtime's fs takes no handle of ours (no Node FileHandle class: Bun, Deno), the runtime's
   * fs.ReadStream over the handle's fd, its operations the handle's own (streamFsOf).
   */
  createReadStream(options?: fsPromises.CreateReadStreamOptions): fs.ReadStream {
    if (!nodeClass) return endsWithHandle(this, fs.createReadStream(undefined as unknown as string, { ...options, fd: this.fd, fs: streamFsOf(this) } as never));
    return fs.createReadStream(undefined as unknown as string, { ...options, fd: this } as unknown as Parameters<typeof fs.createReadStream>[1]);
  }

  /** An fs.WriteStream over the handle's writes, from `start` (default: the current position); on Bun and Deno, as createReadStream, the runtime's own fs.WriteStream over the handle's operations. */
  createWriteStream(options?: fsPromises.CreateWriteStreamOptions): fs.WriteStream {
    if (!nodeClass) return endsWithHandle(this, fs.createWriteStream(undefined as unknown as string, { ...options, fd: this.fd, fs: streamFsOf(this) } as never));
    return fs.createWriteStream(undefined as unknown as string, { ...options, fd: this } as unknown as Parameters<typeof fs.createWriteStream>[1]);
  }

  /**
   * A WHATWG byte stream of the file from the current position; once per handle, which it holds
   * open until the stream ends or is cancelled; closing the handle ends the stream. On Node, its
   * own method over this handle's reads (its options, checks and cancelling, release by release),
   * but on Node 20 without type 'bytes', where Node's reads a native stream handle, which ours is
   * not: there, and on Bun and Deno, ours.
   */
  readableWebStream(options?: { type?: string; autoClose?: boolean }): ReadableStream<Uint8Array> {
    const node = nodeMethods?.readableWebStream as unknown as ((this: unknown, options: unknown) => ReadableStream<Uint8Array>) | undefined;
    if (!FileHandle.#isHandle(this)) {
      if (node) return node.call(this, options); // Node's own error for a wrong receiver
      throw invalidThis('FileHandle');
    }
    const open = this[kFd] !== -1 && !this[kClosePromise];
    if (node && (NODE_MAJOR >= 22 || (options as { type?: unknown } | undefined)?.type === 'bytes')) {
      // Node checks closed, closing and its own lock, in that order; ours is the other path's (Node 20).
      if (open && this.#webStreamLocked) throw invalidState('The FileHandle is locked');
      const stream = node.call(this, options);
      this.#webStreamLocked = true;
      return stream;
    }
    options ??= {};
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
    let control: ReadableByteStreamController | undefined;
    const stream = new WebReadableStream({
      type: 'bytes',
      autoAllocateChunkSize: 1 << 14,
      start: (controller) => {
        control = controller;
      },
      pull: async (controller) => {
        const request = controller.byobRequest!;
        const view = request.view!;
        const { bytesRead } = await this.read(view as Uint8Array, 0, view.byteLength, null);
        if (done) return; // the handle was closed meanwhile: the stream is closed
        if (bytesRead === 0) {
          finish();
          controller.close();
        }
        request.respond(bytesRead);
      },
      cancel: finish,
    });
    this[kRef]();
    // Closing the handle closes the stream, even one a reader holds (cancel() would refuse a
    // locked stream): a read waiting gets done, and the reader's `closed` resolves, as Node's.
    this.once('close', () => {
      if (done) return;
      finish();
      try {
        control!.close();
        control!.byobRequest?.respond(0);
      } catch {
        // Already closed or errored: nothing waits on it.
      }
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

  /**
   * Position-less transfers of this handle (read and write at null, readFile, writeFile...), each
   * started once the one before it settled: the file's own position, which each moves, is then
   * where the caller's previous call left it, and calls land in call order (node:fs lets them
   * race: nodejs/node#55113). Undefined while none is in flight.
   */
  #cursorTail: Promise<void> | undefined;

  /** `start` now, or once the handle's position-less transfers before it settled. */
  #atCursor<R>(start: () => R | Promise<R>): Promise<R> {
    const tail = this.#cursorTail;
    let run: Promise<R>;
    if (tail === undefined) {
      try {
        run = Promise.resolve(start());
      } catch (error) {
        run = Promise.reject(error);
      }
    } else {
      run = tail.then(start);
    }
    const settled = run.then(toVoid, toVoid);
    this.#cursorTail = settled;
    void settled.then(() => {
      if (this.#cursorTail === settled) this.#cursorTail = undefined;
    });
    return run;
  }

  /**
   * What answers a call our own paths do not take (odd argument values, a closed handle, a wrong
   * receiver): Node's own FileHandle method, on this handle, whose fd and reference count are
   * Node's own fields (kFd, kRefs): its validation, its errors and its reading of odd values,
   * release by release, on its thread pool. Where the runtime has no such class (Bun, Deno), or
   * where Node would abort the process (a view whose own byteLength claims more than its memory
   * holds: its binding checks the memory against what its JavaScript read), ours, validated as
   * Node 22 and later validate, against the view's real memory.
   */
  static #otherwise(handle: unknown, name: string, args: unknown[]): Promise<unknown> {
    const method = nodeMethods?.[name];
    if (method && !misleadingView(name, args)) {
      return method.apply(handle, name === 'read' || name === 'write' || name === 'readv' || name === 'writev' ? numbersNodeSurvives(args) : args);
    }
    return FileHandle.#run(handle as FileHandle, ownSyscalls[name], () => (handle as FileHandle).#own(name, args));
  }

  /** #otherwise on a runtime without Node's FileHandle class: validates (a throw), then starts the call. */
  #own(name: string, args: unknown[]): Promise<unknown> {
    const context = this.#context;
    const fd = this.#fd;
    switch (name) {
      case 'read':
      case 'write': {
        const writing = name === 'write';
        const call = writing ? ownWriteArgs(args) : ownReadArgs(args);
        if (call.view === undefined) return Promise.resolve(writing ? result({ bytesWritten: 0, buffer: call.buffer }) : result({ bytesRead: 0, buffer: call.buffer }));
        const { view, position } = call;
        const moved = position === CURRENT_POSITION ? this.#atCursor(() => (writing ? context.write(fd, view, null) : context.read(fd, view, null))) : writing ? context.write(fd, view, position) : readFully(context, fd, view, position);
        return moved.then((n) => (writing ? result({ bytesWritten: n, buffer: call.buffer }) : result({ bytesRead: n, buffer: call.buffer })));
      }
      case 'readv':
      case 'writev': {
        const buffers = validateBufferArray(args[0]);
        const position = ownPosition(args[1]);
        const writing = name === 'writev';
        if (buffers.length === 0) {
          if (!writing) throw systemError(-EINVAL, 'read');
          return Promise.resolve(result({ bytesWritten: 0, buffers }));
        }
        const at = position === CURRENT_POSITION ? null : position;
        const moved = () => (writing ? writevFully(context, fd, buffers, at) : context.readv(fd, buffers, at));
        return (at === null ? this.#atCursor(moved) : moved()).then((n) => (writing ? result({ bytesWritten: n, buffers }) : result({ bytesRead: n, buffers })));
      }
      case 'readFile': {
        const { encoding, signal } = fileOptions(args[0], 'r');
        return this.#atCursor(() => readAll(new FdCursor(context, fd, null), signal, true)).then((bytes) => (encoding ? bytes.toString(encoding) : bytes));
      }
      case 'writeFile':
      case 'appendFile': {
        const data = validateWriteData(args[0]);
        const { encoding, signal } = fileOptions(args[1], 'w', true);
        return this.#atCursor(() => writeAll(new FdCursor(context, fd, null), data, encoding ?? 'utf8', signal));
      }
      case 'stat': {
        const options = validateObject(args[0] ?? {}, 'options')!;
        return context.stat(fd, options.bigint ? BIGINT : undefined);
      }
      case 'truncate':
        return context.ftruncate(fd, Math.max(0, validateInteger(args[0] ?? 0, 'len', -MAX_POSITION, MAX_POSITION)));
      case 'sync':
        return context.fsync(fd).then(toVoid);
      case 'datasync':
        return context.fdatasync(fd).then(toVoid);
      case 'chmod':
        return fchmod(fd, validateMode(args[0], 'mode', 0) & 0o7777);
      case 'chown':
        return fchown(fd, args[0] as number, args[1] as number);
      default:
        return futimes(fd, args[0] as number, args[1] as number);
    }
  }

  /**
   * Run an operation of `handle`, holding a reference to it as Node's fsCall does, so that a close
   * waits for it. `start` validates (a throw becomes the rejection) and starts the operation.
   * One promise reaction over the operation's, through handlers made once per handle.
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

  static #isOpen(handle: unknown): handle is FileHandle {
    return FileHandle.#isHandle(handle) && handle[kFd] !== -1;
  }

  /** Whether the file has no position (a pipe, a FIFO, a socket), asked once: a transfer at a position is then ESPIPE, as pread(2)'s. */
  #noPosition(): boolean {
    return (this.#isStreamFile ??= isStream(this.#fd));
  }

  #isStreamFile: boolean | undefined;

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
}

/**
 * The file operations an fs.ReadStream or fs.WriteStream calls (its `fs` option) over `handle`:
 * how the runtime's own stream classes run on our handle where its fs takes no handle of ours
 * (Bun, Deno), with all of their options and fields (bytesRead, bytesWritten, pending, close()).
 * The stream holds a reference from its creation, as Node's over a FileHandle hold theirs (close()
 * waits for it); the stream's close (at its end unless autoClose is false, or when destroyed)
 * releases it and closes the handle. A position the stream leaves undefined is the file's own.
 */
function streamFsOf(handle: FileHandle) {
  handle[kRef]();
  type Done = (error: Error | null, ...results: unknown[]) => void;
  const failed = (callback: Done) => (error: Error) => callback(error);
  return {
    open(_path: unknown, _flags: unknown, _mode: unknown, callback: Done) {
      callback(fileClosed('open')); // never called: the stream is given the handle's fd
    },
    read(_fd: number, buffer: Buffer, offset: number, length: number, position: number | null | undefined, callback: Done) {
      handle.read(buffer, offset, length, position ?? null).then(({ bytesRead }) => callback(null, bytesRead, buffer), failed(callback));
    },
    write(_fd: number, buffer: Buffer, offset: number, length: number, position: number | null | undefined, callback: Done) {
      handle.write(buffer, offset, length, position ?? null).then(({ bytesWritten }) => callback(null, bytesWritten, buffer), failed(callback));
    },
    writev(_fd: number, buffers: Buffer[], position: number | null | undefined, callback: Done) {
      handle.writev(buffers, position ?? null).then(({ bytesWritten }) => callback(null, bytesWritten, buffers), failed(callback));
    },
    fsync(_fd: number, callback: Done) {
      handle.sync().then(() => callback(null), failed(callback));
    },
    close(_fd: number, callback: Done) {
      handle[kUnref]();
      handle.close().then(() => callback(null), failed(callback));
    },
  };
}

/**
 * The stream ends when its handle is closed, as Node's stream over a FileHandle listens for the
 * handle's 'close': with the stream's close(), which ends a write stream (what was written to it
 * is written first, the handle's close waiting for it) and destroys a read stream.
 */
function endsWithHandle<S extends Readable | Writable>(handle: FileHandle, stream: S): S {
  handle.once('close', () => {
    const closable = stream as S & { close?: () => void };
    if (typeof closable.close === 'function') closable.close();
    else stream.destroy();
  });
  return stream;
}

/** The system call a closed handle's error names per method, as Node 22's fsCall names it. */
const ownSyscalls: Record<string, string> = {
  read: 'read',
  write: 'write',
  readv: 'readv',
  writev: 'writev',
  readFile: 'readFile',
  writeFile: 'writeFile',
  appendFile: 'writeFile',
  stat: 'fstat',
  truncate: 'ftruncate',
  sync: 'fsync',
  datasync: 'fdatasync',
  chmod: 'fchmod',
  chown: 'fchown',
  utimes: 'futimes',
};

/**
 * Whether read() or write() is given a view whose own byteLength (which Node's JavaScript reads)
 * claims more than its memory holds: Node's binding then finds the range outside the memory and
 * aborts the process.
 */
function misleadingView(name: string, [first]: unknown[]): boolean {
  if (name !== 'read' && name !== 'write') return false;
  let view = first;
  if (!ArrayBuffer.isView(view) && name === 'read' && view !== null && typeof view === 'object') {
    try {
      view = (view as { buffer?: unknown }).buffer;
    } catch {
      return false; // Node's own destructuring throws the same, before its binding
    }
  }
  // One whose getter throws is refused by Node's JavaScript first (NaN compares false here).
  return ArrayBuffer.isView(view) && ownByteLength(view) > byteLengthOf(view);
}

/**
 * The offset, length and position of read, write, readv and writev (positional, or fields of an
 * options object) as Node may be given them: -0 as 0. Node's validation takes -0 as the 0 it
 * equals, and its binding's int32 checks (a write's length) then abort the process on it.
 */
function numbersNodeSurvives(args: unknown[]): unknown[] {
  const zeroed = (value: unknown) => (Object.is(value, -0) ? 0 : value);
  return args.map((arg, i) => {
    if (i === 0 || i > 3) return arg;
    if (arg === null || typeof arg !== 'object' || ArrayBuffer.isView(arg) || Array.isArray(arg)) return zeroed(arg);
    const { offset, length, position } = arg as { offset?: unknown; length?: unknown; position?: unknown };
    if (![offset, length, position].some((v) => Object.is(v, -0))) return arg;
    return { ...arg, offset: zeroed(offset), length: zeroed(length), position: zeroed(position) };
  });
}

/**
 * read()'s arguments as Node may be given them: a length that is not an integer (1.5, NaN, a
 * string) can pass the checks of Node before 24 and then abort the process in its binding (an
 * int32 assertion). Node 24 and later make it `length | 0` first; where an earlier release would
 * abort, so do we (nodeAbortsOnRead). Everywhere else the arguments go as they are, and the
 * answer is the running release's, in its order (its closed check, its offset check, its range
 * check, its position check).
 */
function readArgsNodeSurvives(open: boolean, first: unknown, second: unknown, third: unknown, fourth: unknown): unknown[] {
  const coerced = (length: unknown) => (length as number) | 0;
  if (!open || NODE_MAJOR >= 24) return [first, second, third, fourth];
  if (ArrayBuffer.isView(first)) {
    if (second !== null && typeof second === 'object') {
      const { offset, length, position } = second as ReadOptions<ArrayBufferView>;
      return nodeAbortsOnRead(first, offset, length, position) ? [first, { ...second, length: coerced(length) }, third, fourth] : [first, second, third, fourth];
    }
    return [first, second, nodeAbortsOnRead(first, second, third, fourth) ? coerced(third) : third, fourth];
  }
  if (first !== null && typeof first === 'object') {
    const { buffer, offset, length, position } = first as ReadOptions<ArrayBufferView>;
    const view = buffer === undefined ? { byteLength: 16384 } : buffer; // Node's default buffer
    if (ArrayBuffer.isView(view) || buffer === undefined) {
      if (nodeAbortsOnRead(view, offset, length, position)) return [{ ...first, length: coerced(length) }, second, third, fourth];
    }
  }
  return [first, second, third, fourth];
}

/**
 * Whether Node 20 or 22's FileHandle.read, on an open handle, would take this length to its
 * binding and abort there: a length given, not an integer, that passes the offset check, the
 * range check (`length < 0`, `offset + length > byteLength`) and, on 22, the position check.
 * Exported for the parity test, which gives node:fs such a length as Node 24 reads it.
 */
export function nodeAbortsOnRead(buffer: { readonly byteLength: number }, offset: unknown, length: unknown, position: unknown): boolean {
  if (length === undefined || length === null || typeof length === 'bigint' || typeof length === 'symbol' || Number.isInteger(length)) return false;
  const start = offset ?? 0;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start > MAX_POSITION) return false;
  try {
    const size = buffer.byteLength;
    if (size === 0 || (length as number) < 0 || start + (length as number) > size) return false;
    if (NODE_MAJOR < 22 || position === undefined || position === null) return true;
    if (typeof position === 'number') return Number.isInteger(position) && position >= -1 && position <= MAX_POSITION;
    return typeof position === 'bigint' && position >= -1n && position <= 2n ** 63n - 1n - BigInt(length as number);
  } catch {
    return false; // Node's checks throw on it too (a getter, a valueOf, BigInt of a fraction)
  }
}

/** A read or write of part of one typed array: its bytes, and the position (CURRENT_POSITION: the file's own). */
interface Transfer {
  buffer: ArrayBufferView;
  view: ArrayBufferView;
  position: number;
}

/** A position node:fs takes as it is in every release: -1 (the file's own) or a safe integer >= 0. */
function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= CURRENT_POSITION && value <= MAX_POSITION;
}

/**
 * read() or write() of `buffer` with (offset, length, position) or (options), when every value is
 * one node:fs takes as it is in every release: a typed array whose bytes its own byteLength
 * tells, an offset and a length of at least one byte inside it (null or undefined: the defaults),
 * a position from isPosition (null or undefined: the file's own). Anything else is undefined, and
 * the runtime's own FileHandle answers (FileHandle.#otherwise): what releases do with 1.5, -2 or
 * a bigint differs, and the answer is theirs to give.
 */
function transferOf(buffer: Exclude<ArrayBufferView, DataView>, offset: unknown, length: unknown, position: unknown, writing = false): Transfer | undefined {
  // write() reads an offset of null as an empty options object (all of the buffer, at the file's
  // own position, whatever `length` and `position` say); read() as the offset 0.
  if (writing && offset === null) [offset, length, position] = [undefined, undefined, undefined];
  if (offset !== null && typeof offset === 'object') {
    try {
      ({ offset, length, position } = offset as { offset?: unknown; length?: unknown; position?: unknown });
    } catch {
      return undefined;
    }
    if (offset !== null && typeof offset === 'object') return undefined;
  }
  const size = byteLengthOf(buffer);
  if (size !== ownByteLength(buffer)) return undefined;
  const start = offset ?? 0;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) return undefined;
  const count = length ?? size - start;
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 0 || start + count > size) return undefined;
  const at = position ?? CURRENT_POSITION;
  if (!isPosition(at)) return undefined;
  return { buffer, view: part(buffer, start, count), position: at };
}

/** read({ buffer, offset, length, position }) with a typed array as transferOf takes it; else undefined. */
function readOptionsOf(options: object): Transfer | undefined {
  let fields: ReadOptions<ArrayBufferView>;
  try {
    const { buffer, offset, length, position } = options as ReadOptions<ArrayBufferView>;
    fields = { buffer, offset, length, position };
  } catch {
    return undefined;
  }
  if (!isTypedArray(fields.buffer) || (fields.offset !== null && typeof fields.offset === 'object')) return undefined;
  return transferOf(fields.buffer, fields.offset, fields.length, fields.position);
}

/** readv/writev's position when the buffers are a non-empty array of typed arrays with bytes and the position one isPosition takes (null, undefined: the file's own); else undefined. */
function vectorOf(buffers: unknown, position: unknown): number | undefined {
  if (!Array.isArray(buffers) || buffers.length === 0) return undefined;
  for (let i = 0; i < buffers.length; i++) if (!isTypedArray(buffers[i]) || byteLengthOf(buffers[i]) === 0) return undefined;
  const at = position ?? CURRENT_POSITION;
  return isPosition(at) ? at : undefined;
}

/** write(string, position, encoding)'s encoding when it is UTF-8, as Node reads it: absent, null or named so. */
function isUtf8(encoding: unknown): boolean {
  return encoding === undefined || encoding === null || encoding === 'utf8' || encoding === 'utf-8';
}

/** Whether writeFile's data is what node:fs takes as it is: text, bytes, or an (async) iterable. */
export function isWriteData(data: unknown): data is WriteData {
  if (typeof data === 'string') return true;
  if (ArrayBuffer.isView(data)) return hasMemory(data);
  if (data === null || typeof data !== 'object') return false;
  const candidate = data as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof candidate[Symbol.iterator] === 'function' || typeof candidate[Symbol.asyncIterator] === 'function';
}

/** The options of readFile, and of writeFile and appendFile, this module reads itself. */
const fileOptionKeys: Readonly<Record<'readFile' | 'writeFile', ReadonlySet<string>>> = {
  readFile: new Set(['encoding', 'flag', 'signal']),
  writeFile: new Set(['encoding', 'flag', 'mode', 'signal', 'flush']),
};
const noFileOptions = Object.freeze({ encoding: undefined, flag: undefined, mode: undefined, signal: undefined, flush: false });

/**
 * readFile/writeFile options in a shape node:fs takes as it is in every release: none, an encoding
 * Buffer knows, or an object of the call's keys only, each absent or of its everyday type. Else
 * undefined, and the runtime's own function answers.
 */
export function everydayFileOptions(
  options: unknown,
  call: 'readFile' | 'writeFile',
): { encoding: BufferEncoding | undefined; flag: string | number | undefined; mode: unknown; signal: AbortSignal | undefined; flush: boolean } | undefined {
  if (options === undefined || options === null) return noFileOptions;
  if (typeof options === 'string') return Buffer.isEncoding(options) ? { ...noFileOptions, encoding: options } : undefined;
  if (typeof options !== 'object' || !ownKeysWithin(options, fileOptionKeys[call])) return undefined;
  const { encoding, flag, mode, signal, flush } = options as Record<string, unknown>;
  if (encoding !== undefined && encoding !== null && !(typeof encoding === 'string' && Buffer.isEncoding(encoding))) return undefined;
  if (flag !== undefined && flag !== null && !isEverydayFlag(flag)) return undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) return undefined;
  if (flush !== undefined && flush !== null && typeof flush !== 'boolean') return undefined;
  // Releases check a mode at different points (Node 26 first of all): a mode that is not one
  // is theirs to refuse; a valid one, or one that would abort Node, is validateMode's to answer.
  if (mode !== undefined && mode !== null && !isMode(mode)) return undefined;
  return { encoding: (encoding ?? undefined) as BufferEncoding | undefined, flag: (flag ?? undefined) as string | number | undefined, mode, signal, flush: flush ?? false };
}

/** stat()'s `bigint` when the options are absent or { bigint: boolean } (or undefined); else undefined. */
export function bigintOption(options: unknown): boolean | undefined {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || !ownKeysWithin(options, bigintKeys)) return undefined;
  const { bigint } = options as { bigint?: unknown };
  if (bigint === undefined) return false;
  return typeof bigint === 'boolean' ? bigint : undefined;
}

export const BIGINT = Object.freeze({ bigint: true });
const bigintKeys: ReadonlySet<string> = new Set(['bigint']);

/** Whether every own key of `options` is in `keys`. */
export function ownKeysWithin(options: object, keys: ReadonlySet<string>): boolean {
  for (const key of Object.keys(options)) if (!keys.has(key)) return false;
  return true;
}

/** A position as Node 22 validates it for read, readv and writev: null, undefined or -1 the file's own. */
function ownPosition(position: unknown): number {
  if (position === undefined || position === null) return CURRENT_POSITION;
  if (typeof position === 'bigint') {
    if (position < -1n || position > BigInt(MAX_POSITION)) throw outOfRange('position', `>= -1 && <= ${MAX_POSITION}`, position);
    return Number(position);
  }
  return validateInteger(position, 'position', -1, MAX_POSITION);
}

/** read()'s arguments as Node 22 validates them; `view` undefined: nothing to read (0 at once). */
function ownReadArgs([first, second, third, fourth]: unknown[]): { buffer: ArrayBufferView; view?: ArrayBufferView; position: number } {
  let buffer: ArrayBufferView;
  let offset: unknown;
  let length: unknown;
  let position: unknown;
  if (ArrayBuffer.isView(first)) {
    buffer = first;
    if (second !== null && typeof second === 'object') ({ offset, length, position } = second as ReadOptions<ArrayBufferView>);
    else [offset, length, position] = [second, third, fourth];
  } else {
    const options = validateObject(first ?? {}, 'options')!;
    buffer = options.buffer === undefined ? Buffer.alloc(16384) : validateBuffer(options.buffer);
    ({ offset, length, position } = options as ReadOptions<ArrayBufferView>);
  }
  validateBuffer(buffer);
  // Its own byteLength, as Node's checks read it; within() then finds whether the memory is there.
  const size = buffer.byteLength;
  const wanted = length ?? size - (typeof offset === 'number' ? offset : 0);
  if (wanted === 0) return { buffer, position: CURRENT_POSITION };
  if (size === 0) throw invalidArgValue('buffer', buffer, 'is empty and cannot be written');
  const start = offset === undefined || offset === null ? 0 : validateInteger(offset, 'offset', 0, size);
  const count = length === undefined || length === null ? size - start : validateInteger(length, 'length', 0, size - start);
  return { buffer, view: within(buffer, start, count), position: ownPosition(position) };
}

/** write()'s arguments as Node 22 validates them; `view` undefined: nothing to write (0 at once). */
function ownWriteArgs([data, second, third, fourth]: unknown[]): { buffer: ArrayBufferView; view?: ArrayBufferView; position: number } {
  if (typeof data === 'string') {
    // As Node: an encoding it does not know means utf8, a position that is not a number the file's own.
    const encoding = typeof third === 'string' && Buffer.isEncoding(third) ? third : 'utf8';
    if (encoding.toLowerCase() === 'hex' && data.length % 2 !== 0) throw invalidArgValue('encoding', third, `is invalid for data of length ${data.length}`);
    const view = Buffer.from(data, encoding);
    return { buffer: data as never, view: view.length === 0 ? undefined : view, position: typeof second === 'number' && second >= 0 ? Math.trunc(second) : CURRENT_POSITION };
  }
  if (!ArrayBuffer.isView(data)) throw invalidArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
  validateBuffer(data);
  let offset: unknown;
  let length: unknown;
  let position: unknown;
  if (second !== null && typeof second === 'object') ({ offset, length, position } = second as Record<string, unknown>);
  else [offset, length, position] = [second, third, fourth];
  const size = data.byteLength; // its own, as Node's checks read it
  const start = offset === undefined || offset === null ? 0 : validateInteger(offset, 'offset', 0, size);
  const count = typeof length === 'number' ? validateInteger(length, 'length', 0, size - start) : size - start;
  return { buffer: data, view: count === 0 ? undefined : within(data, start, count), position: typeof position === 'number' ? ownPosition(position) : CURRENT_POSITION };
}

/** A mode node:fs takes (an integer from 0 to 2^32 - 1, or an octal string), or one it would take and then abort on, which validateMode refuses. */
function isMode(mode: unknown): boolean {
  const value = typeof mode === 'string' && /^[0-7]+$/.test(mode) ? Number.parseInt(mode, 8) : mode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 32 - 1;
}

/** node:fs's string flags and int32 numbers: what open() takes as it is. */
function isEverydayFlag(flag: unknown): boolean {
  return typeof flag === 'number' ? Number.isInteger(flag) && flag >= -(2 ** 31) && flag < 2 ** 31 : typeof flag === 'string' && isStringFlag(flag);
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
  /** The file's size now (fstat) if it is a regular file; 0 for any other (a size that says nothing). */
  size(): Promise<number>;
}

/**
 * A cursor over an fd: from `position` (readFile and writeFile of a path, from 0), or with null
 * at the file's own position, which the kernel moves (a FileHandle's readFile and writeFile).
 */
export class FdCursor implements Cursor {
  constructor(
    private readonly context: IoContext,
    private readonly fd: number,
    private position: number | null,
  ) {}

  async transfer(view: Uint8Array, writing: boolean): Promise<number> {
    const at = this.position;
    const n = writing ? await writeFully(this.context, this.fd, view, at) : await readFully(this.context, this.fd, view, at);
    if (at !== null) this.position = at + n;
    return n;
  }

  async size(): Promise<number> {
    const stats = await this.context.stat(this.fd);
    return stats.isFile() ? stats.size : 0;
  }
}

/**
 * Everything from the cursor to end of file. A file that fills the first read is asked its size
 * (a small file never is), which refuses one too large for a Buffer before reading more, and
 * reads the rest in one (in chunks of WRITE_CHUNK with a signal, which is checked between them);
 * a file without a size (procfs, a pipe) is read in growing chunks. `sizeFirst` asks the size
 * before any read, as node:fs does (a FileHandle's readFile, whose position a read would move).
 */
export async function readAll(file: Cursor, signal?: AbortSignal, sizeFirst = false): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  let want = READ_CHUNK;
  let size = -1;
  if (sizeFirst) {
    // A handle's position moves with every read: a file too large must be refused before any.
    checkAborted(signal);
    size = await file.size();
    checkAborted(signal);
    if (size > MAX_READ_FILE) throw fileTooLarge(size);
    if (size > 0) want = signal ? Math.min(size, WRITE_CHUNK) : size;
  }
  for (;;) {
    // Node reads on the thread pool, so an abort from the next tick or a timer comes between
    // its chunks; ours may complete without a turn of the loop: give it that turn.
    if (signal) await nextTurn();
    checkAborted(signal);
    const chunk = Buffer.allocUnsafe(want);
    const n = await file.transfer(chunk, false);
    if (n > 0) parts.push(n === want ? chunk : chunk.subarray(0, n));
    total += n;
    if (total > MAX_READ_FILE) throw fileTooLarge(total); // a file that reports no size
    // A short transfer means the kernel already answered 0: the end of the file.
    if (n < want || total === size) break;
    if (size === -1) {
      size = await file.size();
      if (size > MAX_READ_FILE) throw fileTooLarge(size);
    }
    if (size <= total) size = 0; // no size, or it grew: read on until the end
    if (size > total) want = signal ? Math.min(size - total, WRITE_CHUNK) : size - total;
    else if (want < 1 << 24) want *= 2;
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
    // As Node: any other chunk is what Buffer.from makes of it (an array of bytes, an
    // ArrayBuffer), or the TypeError Buffer.from throws.
    const bytes = typeof chunk === 'string' || ArrayBuffer.isView(chunk) ? bytesOf(chunk, encoding) : Buffer.from(chunk as unknown as string, encoding);
    await writeChecked(file, bytes, signal);
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
