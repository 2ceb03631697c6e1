/**
 * AIOFile: a file opened for positional I/O through an IoContext. There is no cursor: every read
 * and write names its offset, so any number of them can be in flight at once. Like Node's
 * FileHandle it counts the operations in flight, so close() waits for them, and an operation on a
 * closed file rejects with EBADF before any I/O.
 */
import fs, { type BigIntStats, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { type Readable, type Writable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import * as workerThreads from 'node:worker_threads';
import { closeFile, IoContext } from '../context.js';
import { getDefaultContext } from '../create-context.js';
import { directUnsupported, fileClosed, invalidArgType, invalidArgValue, modeForbids, systemError, type SystemError } from '../errors.js';
import { AlignedPool, alignUp } from '../direct/aligned.js';
import { addressOf, discoverAlignment, enableDirect, misalignment, type Alignment } from '../direct/alignment.js';
import { DirectIo } from './direct-io.js';
import { positionalIo, type PositionalFile } from '../positional.js';
import { validateBoolean, validateBuffer, validateInteger, validateKnownKeys, validateObject } from '../validate.js';
import { parseMode, type OpenMode } from './mode.js';
import { bytesOf, type Encoding, missingBytes, validateEncoding } from './text.js';
import { bufferedIo, readFullyThen } from './transfer.js';
import {
  createReadStream,
  createWriteStream,
  readableWebStream,
  type ReadStreamOptions,
  type StreamFile,
  type WriteStreamOptions,
} from './streams.js';

type Letter = 'r' | 'w' | 'a' | 'x';
/** Modes whose reads return Buffers. */
export type BinaryMode = `${Letter}b` | `${Letter}+b` | `${Letter}b+`;
/** Modes whose reads return strings. */
export type TextMode = Letter | `${Letter}+` | `${Letter}t` | `${Letter}+t` | `${Letter}t+`;

export interface AIOFileOptions {
  /** Text mode: how bytes become characters and back. Any encoding Buffer supports; default 'utf8'. */
  encoding?: string;
  /** Which IoContext carries the I/O; default getDefaultContext(). */
  context?: IoContext;
  /**
   * O_DIRECT: transfers bypass the page cache. `true` rejects where the filesystem refuses it;
   * 'auto' falls back to buffered I/O there (see `file.direct`). Not with 'a' modes: O_DIRECT
   * appends would need the file's end aligned ('auto' then stays buffered). Default false.
   */
  direct?: boolean | 'auto';
}

const openOptionKeys: ReadonlySet<string> = new Set(['encoding', 'context', 'direct']);
/** The package-internal way to make an AIOFile over an fd the library opened (AIOFile[adoptFd]). */
export const adoptFd: unique symbol = Symbol('aiofs.adoptFd');
const O_ACCMODE = 3;
/** What a buffered file asks of its transfers: nothing. */
const UNALIGNED: Alignment = Object.freeze({ memory: 1, offset: 1 });
/** Bounce buffers and blocks of direct files, one pool per alignment. */
const pools = new Map<number, AlignedPool>();

function poolFor(alignment: Alignment): AlignedPool {
  const size = Math.max(alignment.memory, alignment.offset);
  let pool = pools.get(size);
  if (!pool) pools.set(size, (pool = new AlignedPool(size)));
  return pool;
}

/**
 * Open `path` for `mode`. A direct file in a write-only mode is opened read-write if the
 * permissions allow: writes of partial blocks must read the rest of the block first. The mode
 * checks still apply, so such a file cannot be read through its AIOFile.
 */
async function openFor(context: IoContext, path: string, mode: OpenMode, direct: boolean): Promise<number> {
  if (direct && !mode.readable && !mode.append) {
    const readWrite = (mode.flags & ~O_ACCMODE) | fs.constants.O_RDWR;
    try {
      return await context.open(path, readWrite, 0o666);
    } catch (error) {
      if ((error as SystemError).code !== 'EACCES') throw error;
    }
  }
  return context.open(path, mode.flags, 0o666);
}

/**
 * Give `fd` O_DIRECT: resolves with the alignment if it took, undefined if the filesystem refused
 * and `direct` is 'auto'; rejects with why for `true`.
 */
async function applyDirect(fd: number, direct: true | 'auto', path: string): Promise<Alignment | undefined> {
  const result = enableDirect(fd);
  if (result < 0) {
    if (direct === 'auto') return undefined;
    throw directUnsupported(result, path);
  }
  return discoverAlignment(fd);
}

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
/** Reads to end of file grow by this much once the size fstat reported is used up. */
const READ_TO_END_STEP = 1 << 16;
/** Reads of up to this many bytes allocate their whole buffer at once; larger ones grow it as data comes. */
const EAGER_READ = 1 << 20;

/**
 * Buffered reads of up to SLAB_READ bytes get their Buffer cut from a shared SLAB-byte block, as
 * Buffer.allocUnsafe does below 4 KiB: a Buffer of its own (its memory allocated and registered
 * with the garbage collector) costs more than the read itself, a slice of a block a tenth of that
 * (docs/benchmarks.md, "Measurements the code relies on"). The price, as with Node's pool: a result kept alive keeps its whole block
 * (at most SLAB bytes), and `buffer.buffer` is the block (use byteOffset and length), which is
 * not transferable. Slices are never reused: a block is dropped when full, and freed once no
 * slice of it is referenced.
 *
 * Each slice starts on a cache line (Node's pool keeps 8 bytes): the kernel copies a cached read
 * into a destination off a 64-byte boundary slower than into an aligned one (docs/benchmarks.md, "Measurements the code relies on").
 */
const SLAB_READ = 4096;
const CACHE_LINE = 64;
const SLAB = 64 * 1024 + CACHE_LINE;
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

function slabBuffer(length: number): Buffer {
  if (slabUsed + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB);
    // Transferring one result's buffer to a worker must not detach the others (Node's pool does so too).
    workerThreads.markAsUntransferable?.(slab.buffer);
    const off = addressOf(slab, CACHE_LINE) ?? 0;
    slabUsed = off === 0 ? 0 : CACHE_LINE - off;
  }
  const bytes = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += (length + CACHE_LINE - 1) & ~(CACHE_LINE - 1);
  return bytes;
}

/** Files the program forgot to close are closed when collected, with a warning, as Node does. */
const forgotten = new FinalizationRegistry<{ fd: number; context: IoContext }>(({ fd, context }) => {
  process.emitWarning(`Closing file descriptor ${fd} on garbage collection`, 'Warning');
  closeFile(context, fd).catch(() => {});
});

export function validateSize(size: unknown, name = 'size'): number {
  if (size === undefined) return -1;
  return validateInteger(size, name, -1, bufferConstants.MAX_LENGTH);
}

export function validatePosition(offset: unknown, name = 'offset'): number {
  if (offset === undefined) return 0;
  return validateInteger(offset, name, 0, MAX_OFFSET);
}

/** The data argument of a write: a string or any ArrayBufferView. */
export function validateData(data: unknown, name = 'data'): string | ArrayBufferView {
  if (typeof data === 'string') return data;
  if (!ArrayBuffer.isView(data)) throw invalidArgType(name, ['string', 'Buffer', 'TypedArray', 'DataView'], data);
  return validateBuffer(data, name);
}

function pathString(path: unknown): string {
  if (typeof path === 'string') return path;
  if (path instanceof URL) return fileURLToPath(path);
  throw invalidArgType('path', ['string', 'URL'], path);
}

function withPath(error: unknown, path: string): unknown {
  const e = error as SystemError;
  if (typeof e?.errno !== 'number' || typeof e.syscall !== 'string' || e.path !== undefined) return error;
  return systemError(e.errno, e.syscall, path);
}

export class AIOFile<T extends string | Buffer = string | Buffer> {
  /** The path the file was opened with. */
  readonly name: string;
  /** The mode string the file was opened with. */
  readonly mode: string;
  /** True for 'b' modes: read() returns Buffers. */
  readonly binary: boolean;
  /** How text is decoded and encoded (also used for strings written to a binary file). */
  readonly encoding: Encoding;
  /** The IoContext that carries this file's I/O. */
  readonly context: IoContext;
  /** True when the file is in O_DIRECT mode. */
  readonly direct: boolean;
  /**
   * What transfers on this file must respect: buffer addresses multiples of `memory`, offsets
   * and lengths multiples of `offset`. `{ memory: 1, offset: 1 }` for a buffered file.
   */
  readonly alignment: Alignment;
  readonly #mode: OpenMode;
  readonly #io: PositionalFile;
  #fd: number;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  #whenIdle: (() => void) | undefined;

  private constructor(fd: number, name: string, mode: OpenMode, encoding: Encoding, context: IoContext, alignment: Alignment | undefined) {
    this.#fd = fd;
    this.direct = alignment !== undefined;
    this.alignment = Object.freeze({ ...(alignment ?? UNALIGNED) });
    this.#io = alignment ? new DirectIo(context, fd, alignment, poolFor(alignment)) : bufferedIo(context, fd);
    this.name = name;
    this.#mode = mode;
    this.mode = mode.text;
    this.binary = mode.binary;
    this.encoding = encoding;
    this.context = context;
    forgotten.register(this, { fd, context }, this);
  }

  /**
   * Open `path` with an fopen-style `mode` (default 'r'). 'w' truncates, 'a' appends, 'x' fails
   * with EEXIST if the file exists; all three create it (permissions 0o666 less the umask). The
   * open, like stat, truncate and close, goes through the context (on the ring with uring).
   */
  static open(path: string | URL, mode: BinaryMode, options?: AIOFileOptions): Promise<AIOFile<Buffer>>;
  static open(path: string | URL, mode?: TextMode, options?: AIOFileOptions): Promise<AIOFile<string>>;
  static open(path: string | URL, mode?: string, options?: AIOFileOptions): Promise<AIOFile>;
  static async open(path: string | URL, mode: string = 'r', options?: AIOFileOptions): Promise<AIOFile> {
    const name = pathString(path);
    const parsed = parseMode(mode);
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, openOptionKeys, 'options');
    const encoding = checked.encoding === undefined ? 'utf8' : validateEncoding(checked.encoding, 'options.encoding');
    if (checked.context !== undefined && !(checked.context instanceof IoContext)) {
      throw invalidArgType('options.context', ['IoContext'], checked.context);
    }
    const context = (checked.context as IoContext | undefined) ?? getDefaultContext();
    const direct = checked.direct ?? false;
    if (direct !== true && direct !== false && direct !== 'auto') throw invalidArgValue('options.direct', direct, "must be true, false or 'auto'");
    // Every append lands at the end of the file, which O_DIRECT would need aligned after each one.
    if (direct === true && parsed.append) {
      throw invalidArgValue('options.direct', direct, `cannot be used with mode '${parsed.text}': O_DIRECT appends need the end of the file aligned`);
    }
    const wantsDirect = direct !== false && !parsed.append ? direct : undefined;
    const fd = await openFor(context, name, parsed, wantsDirect !== undefined);
    return AIOFile.#over(fd, name, parsed, encoding, context, wantsDirect);
  }

  /**
   * @internal An AIOFile over `fd`, which the library opened itself with flags `mode` reads and
   * writes with (aiofs cp opens its destination without truncating it, to compare it with the
   * source first), finished as open() finishes (O_DIRECT when `direct` asks). The file owns the
   * fd from then on: it is closed here if this fails.
   */
  static [adoptFd](fd: number, name: string, mode: BinaryMode, context: IoContext, direct: boolean): Promise<AIOFile<Buffer>> {
    return AIOFile.#over(fd, name, parseMode(mode), 'utf8', context, direct ? true : undefined) as Promise<AIOFile<Buffer>>;
  }

  static async #over(fd: number, name: string, mode: OpenMode, encoding: Encoding, context: IoContext, direct: true | 'auto' | undefined): Promise<AIOFile> {
    let alignment: Alignment | undefined;
    try {
      if (direct) alignment = await applyDirect(fd, direct, name);
    } catch (error) {
      await context.closeFd(fd).catch(() => {});
      throw error;
    }
    return new AIOFile(fd, name, mode, encoding, context, alignment);
  }

  /** The file descriptor; -1 once the file is closed. */
  get fd(): number {
    return this.#fd;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** True for '+' modes and 'r'. */
  get readable(): boolean {
    return this.#mode.readable;
  }

  /** True for '+' modes and 'w', 'a', 'x'. */
  get writable(): boolean {
    return this.#mode.writable;
  }

  /** True for 'a' modes: writes land at the end of the file whatever offset they name. */
  get append(): boolean {
    return this.#mode.append;
  }

  /**
   * Read `size` bytes (-1, the default: up to end of file) from `offset`. Text mode decodes them,
   * reading up to 3 bytes more so that a character straddling the end is not cut; binary mode
   * returns a Buffer. Fewer bytes come back only at end of file.
   */
  read(size?: number, offset?: number): Promise<T> {
    if (this.binary) return this.#readBytes(size, offset, false) as Promise<T>;
    return this.#readBytes(size, offset, true).then((bytes) => bytes.toString(this.encoding) as T);
  }

  /** Like read() in binary mode, whatever the file's mode: always a Buffer, never extended. */
  readBytes(size?: number, offset?: number): Promise<Buffer> {
    return this.#readBytes(size, offset, false);
  }

  /**
   * Fill `buffer` from `offset`, continuing after short reads; resolves with the bytes read,
   * fewer than `buffer.byteLength` only at end of file. No copy: the kernel writes into `buffer`.
   * On a direct file, `buffer`'s address and length and `offset` must respect `alignment`
   * (a RangeError says which does not).
   */
  readInto(buffer: ArrayBufferView, offset?: number): Promise<number> {
    try {
      const view = validateBuffer(buffer);
      const position = validatePosition(offset);
      this.#check('read', 'readable');
      this.#checkAligned(view, position);
      if (this.direct) return this.#track(() => this.#io.readInto(view, position));
      return this.#readBuffered(view, position, this.#settledWith);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Write all of `data` at `offset` (strings in the file's encoding), continuing after short
   * writes; resolves with the byte count or rejects. In 'a' modes the data lands at the end.
   * On a direct file, the length and `offset` must respect `alignment`, and so must a buffer's
   * address (a string is copied into aligned memory); Writer takes any size.
   */
  write(data: string | ArrayBufferView, offset?: number): Promise<number> {
    try {
      const checked = validateData(data);
      let bytes = bytesOf(checked, this.encoding);
      const position = validatePosition(offset);
      this.#check('write', 'writable');
      if (this.direct && typeof checked === 'string') {
        const aligned = this.#io.allocate(bytes.length);
        aligned.set(bytes);
        bytes = aligned;
      }
      this.#checkAligned(bytes, position, 'data');
      return this.#track(() => this.#io.writeAt(bytes, position));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Flush data and metadata to stable storage. */
  fsync(): Promise<void> {
    return this.#simple('fsync', () => this.context.fsync(this.#fd).then(() => undefined));
  }

  /** Flush data (and the metadata needed to read it back) to stable storage. */
  fdatasync(): Promise<void> {
    return this.#simple('fdatasync', () => this.context.fdatasync(this.#fd).then(() => undefined));
  }

  /** Cut or extend the file to `length` bytes (default 0). Needs a writable mode. */
  truncate(length?: number): Promise<void> {
    try {
      const size = length === undefined ? 0 : validateInteger(length, 'length', 0, MAX_OFFSET);
      this.#check('ftruncate', 'writable');
      return this.#track(() => this.context.ftruncate(this.#fd, size));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The file's metadata, as node:fs's fstat gives it. */
  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    try {
      const checked = validateObject(options, 'options') ?? {};
      const bigint = checked.bigint === undefined ? false : validateBoolean(checked.bigint, 'options.bigint');
      this.#check('fstat');
      return this.#track(() => this.context.stat(this.#fd, { bigint }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Close the file once the operations in flight are done. Idempotent: the same promise each time. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#inFlight === 0) resolve();
      else this.#whenIdle = resolve;
    }).then(
      () =>
        new Promise<void>((resolve, reject) => {
          const fd = this.#fd;
          this.#fd = -1;
          forgotten.unregister(this);
          const closed = (error: unknown) => (error ? reject(withPath(error, this.name)) : resolve());
          // A context closed before its files still lets them go (closeFile: through node:fs).
          closeFile(this.context, fd).then(() => closed(null), closed);
        }),
    );
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * A node:stream Readable over bytes `start` to `end` inclusive (default: the whole file), as
   * FileHandle.createReadStream. With `autoClose` (the default, as in Node) the file is closed
   * when the stream ends or is destroyed.
   */
  createReadStream(options?: ReadStreamOptions): Readable {
    return createReadStream(this.#streamFile(), options);
  }

  /**
   * A node:stream Writable writing sequentially from `start` (default 0), as
   * FileHandle.createWriteStream. With `autoClose` (the default) the file is closed when the stream
   * finishes or is destroyed.
   */
  createWriteStream(options?: WriteStreamOptions): Writable {
    return createWriteStream(this.#streamFile(), options);
  }

  /** A WHATWG byte stream over the whole file. It does not close the file. */
  readableWebStream(): ReadableStream<Uint8Array> {
    return readableWebStream(this.#streamFile());
  }

  #streamFile(): StreamFile {
    const io = this[positionalIo]();
    return { ...io, close: () => this.close(), append: this.append };
  }

  /** @internal Transfers of any alignment, for the library's own layers: bounced on a direct file. */
  [positionalIo](): PositionalFile {
    const io = this.#io;
    const readvInto = io.readvInto?.bind(io);
    return {
      readInto: (view, position) => this.#simple('read', () => io.readInto(view, position), 'readable'),
      ...(readvInto && { readvInto: (views: Uint8Array[], position: number) => this.#simple('read', () => readvInto(views, position), 'readable') }),
      writeAt: (bytes, position) => this.#simple('write', () => io.writeAt(bytes, position), 'writable'),
      allocate: (size) => io.allocate(size),
      get stream() {
        return io.stream === true;
      },
    };
  }

  #checkAligned(view: ArrayBufferView, position: number, name = 'buffer'): void {
    if (!this.direct) return;
    const error = misalignment(this.alignment, [view], position, name);
    if (error) throw error;
  }

  /**
   * Throws what Node's FileHandle throws on a closed file, or EBADF naming the mode for an
   * operation the mode does not allow.
   */
  #check(syscall: string, needs?: 'readable' | 'writable'): void {
    if (this.#closing) throw fileClosed(syscall);
    if (needs && !this.#mode[needs]) throw modeForbids(syscall, this.name, this.mode, needs);
  }

  /**
   * Run `operation` counted as in flight, so that close() waits for it; errors gain the path.
   * One promise reaction over the operation's, not an async function's two.
   */
  #track<R>(operation: () => Promise<R>): Promise<R> {
    this.#inFlight++;
    let pending: Promise<R>;
    try {
      pending = operation();
    } catch (error) {
      this.#settled();
      return Promise.reject(withPath(error, this.name));
    }
    return pending.then(this.#settledWith as (value: R) => R, this.#failed);
  }

  /**
   * A buffered file's read, the common one: tracked, with one reaction over the context's read;
   * `done` receives the byte count and must settle (#settledWith).
   */
  #readBuffered<R>(view: ArrayBufferView, position: number, done: (n: number) => R): Promise<Awaited<R>> {
    this.#inFlight++;
    try {
      return readFullyThen(this.context, this.#fd, view, position, done, this.#failed);
    } catch (error) {
      // Counted in, so close() would wait for it forever.
      this.#settled();
      throw error;
    }
  }

  #settled(): void {
    if (--this.#inFlight === 0 && this.#whenIdle) this.#whenIdle();
  }

  /** The reactions of every tracked operation, made once per file. */
  readonly #settledWith = <R>(value: R): R => {
    this.#settled();
    return value;
  };

  readonly #failed = (error: unknown): never => {
    this.#settled();
    throw withPath(error, this.name);
  };

  /** `operation`, checked (closed file, mode) and tracked; a failed check is a rejection. */
  #simple<R>(syscall: string, operation: () => Promise<R>, needs?: 'readable' | 'writable'): Promise<R> {
    try {
      this.#check(syscall, needs);
      return this.#track(operation);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #readBytes(size: unknown, offset: unknown, wholeCharacters: boolean): Promise<Buffer> {
    try {
      const length = validateSize(size);
      const position = validatePosition(offset);
      this.#check('read', 'readable');
      if (length !== -1 && length <= EAGER_READ && !wholeCharacters) {
        if (!this.direct) {
          const bytes = length <= SLAB_READ ? slabBuffer(length) : this.#io.allocate(length);
          return this.#readBuffered(bytes, position, (n) => this.#settledWith(n === length ? bytes : bytes.subarray(0, n)));
        }
        const bytes = this.#io.allocate(length);
        return this.#track(() => this.#io.readInto(bytes, position).then((n) => (n === length ? bytes : bytes.subarray(0, n))));
      }
      return this.#track(async () => {
        if (length === -1) return this.#readToEnd(position);
        const whole = await this.#readUpTo(length, position);
        const bytes = whole.bytes;
        let n = whole.n;
        if (!wholeCharacters || n < length) return bytes.subarray(0, n);
        // Complete a character cut by `size` (UTF-16 may need a second step for a surrogate pair).
        let missing = missingBytes(bytes, n, this.encoding);
        if (missing === 0) return bytes;
        const extended = Buffer.allocUnsafe(length + 3);
        bytes.copy(extended);
        while (missing > 0 && n + missing <= length + 3) {
          const got = await this.#io.readInto(extended.subarray(n, n + missing), position + n);
          n += got;
          if (got < missing) break;
          missing = missingBytes(extended, n, this.encoding);
        }
        return extended.subarray(0, n);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Read `length` bytes from `position` (fewer at end of file) without allocating `length` up
   * front when that is large: a 2 GiB read of a 10 KiB file costs 1 MiB, not 2 GiB.
   */
  async #readUpTo(length: number, position: number): Promise<{ bytes: Buffer; n: number }> {
    let bytes = this.#io.allocate(Math.min(length, EAGER_READ));
    let n = await this.#io.readInto(bytes, position);
    while (n === bytes.length && n < length) {
      const grown = this.#io.allocate(Math.min(length, bytes.length * 4));
      bytes.copy(grown, 0, 0, n);
      bytes = grown;
      n += await this.#io.readInto(bytes.subarray(n), position + n);
    }
    return { bytes: n === length ? bytes : bytes.subarray(0, n), n };
  }

  /** Read everything from `position` to end of file: the size fstat reports first, then whatever the file grew by. */
  async #readToEnd(position: number): Promise<Buffer> {
    const stats = await this.context.stat(this.#fd);
    const parts: Buffer[] = [];
    let total = 0;
    let want = Math.max(stats.size - position, 0);
    for (;;) {
      // Rounded up to the file's alignment: on a direct file the whole read then goes to the kernel as is.
      const bytes = this.#io.allocate(alignUp(Math.max(want, READ_TO_END_STEP), this.alignment.offset));
      const n = await this.#io.readInto(bytes, position + total);
      if (n > 0) parts.push(bytes.subarray(0, n));
      total += n;
      if (n < bytes.length) break;
      want = 0;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  }
}
