/**
 * IoContext: the low-level API. It validates every argument before anything reaches a backend,
 * turns each call into a Request and hands it to its dispatcher (dispatcher.ts), which keeps at
 * most `backend.capacity` requests started (the rest wait in a queue: backpressure, never an
 * error), wires AbortSignals to cancellation, and settles each promise from the backend's result.
 */
import fs, { type BigIntStats, type Stats } from 'node:fs';
import { type Backend, type BackendName, type CompletionSink, Op, Request } from './backend/backend.js';
import * as meta from './backend/metadata.js';
import { releaseStatx, STATX_MASK, statsFromStatx, type StatxBuffer, takeStatx } from './backend/stats.js';
import { Dispatcher } from './dispatcher.js';
import { invalidArgType, invalidArgValue, invalidState, systemError } from './errors.js';
import { closeOwnedFd } from './native.js';
import { nodeFs } from './node-fs.js';
import { registerWhenIdle, validateRegistered } from './registered-buffers.js';
import { parseClasses, type PriorityClass } from './sched/classes.js';
import {
  validateBoolean,
  validateInteger,
  validateMode,
  validateOpenFlags,
  validatePath,
  validateBuffer,
  validateBufferArray,
  validateFd,
  validateKnownKeys,
  validateObject,
  validatePosition,
  validateSignal,
} from './validate.js';

/** Options accepted by every operation. */
export interface OperationOptions {
  /** Aborting rejects the operation with an `AbortError` unless it already completed. */
  signal?: AbortSignal;
  /** The priority class it is queued in under contention (createContext's `classes`; default 'default'). */
  class?: string;
}

/** Counters since the context was created. */
export interface ContextStats {
  /** Operations handed to the backend. */
  submitted: number;
  /** Operations whose result came back (success or error). */
  completed: number;
  /** Operations handed to the backend and not yet completed. */
  inFlight: number;
  /** Operations waiting for room under the in-flight cap. */
  queued: number;
  /** The same per priority class, with latencies (accepted to settled) of one operation in 8, the last 1024 so timed. */
  classes: Record<string, ClassStats>;
}

export interface ClassStats {
  shares: number;
  queued: number;
  inFlight: number;
  completed: number;
  latencyMs: { p50: number; p99: number; samples: number };
}

const operationOptionKeys: ReadonlySet<string> = new Set(['signal', 'class']);
const statOptionKeys: ReadonlySet<string> = new Set(['signal', 'class', 'bigint']);
/** node:fs does not export it; libuv adds it to every open, and so do we. */
const O_CLOEXEC = process.platform === 'linux' ? 0o2000000 : 0;
const O_RDONLY_CLOEXEC = fs.constants.O_RDONLY | O_CLOEXEC;
const toVoid = (): void => undefined;
/**
 * The bits of a mode open(2) and mkdir(2) use (the kernel ignores the rest). Masking also keeps
 * node:fs's binding, which the threads backend calls, from aborting the process on a mode above
 * 2^31 (it asserts an int32 where its own validation accepts a uint32).
 */
const PERMISSION_BITS = 0o7777;

/** A path as node:fs takes it. */
export type PathLike = string | Buffer | URL;

/** Options of stat() and lstat(). */
export interface StatOptions extends OperationOptions {
  /** BigIntStats (with nanosecond times) instead of Stats. */
  bigint?: boolean;
}

/** @internal Package-internal operations of IoContext (aiofs/http uses them; users do not see them). */
export const spliceFd = Symbol('aiofs.splice');
export const pollFd = Symbol('aiofs.poll');
export const readNow = Symbol('aiofs.readNow');
export const openBeneath = Symbol('aiofs.openBeneath');

export class IoContext {
  /** Which backend carries this context's operations. */
  readonly backend: BackendName;
  readonly #dispatcher: Dispatcher;
  readonly #classes: PriorityClass[];
  readonly #classIndex: Map<string, number>;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Registered buffers, kept alive while the kernel's table names them. */
  #registered: ArrayBufferView[] = [];
  readonly #registerWarnings = new Set<number>();

  /** @internal Use createContext(). */
  constructor(makeBackend: (sink: CompletionSink) => Backend, classes: PriorityClass[] = parseClasses(undefined)) {
    this.#classes = classes;
    this.#classIndex = new Map(classes.map((c, i) => [c.name, i]));
    this.#dispatcher = new Dispatcher(makeBackend, classes);
    this.backend = this.#dispatcher.backend.name;
  }

  /**
   * Read into `buffer` (all of it) from `offset` (default 0; null: from the file's own position,
   * which the read moves, as read(2)); resolves with the number of bytes read (0 at EOF).
   */
  read(fd: number, buffer: ArrayBufferView, offset?: number | bigint | null, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Read, validateFd(fd), validateBuffer(buffer), validatePosition(offset), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Write all of `buffer` at `offset` (default 0; null: at the file's own position, which the
   * write moves, as write(2)); resolves with the number of bytes written (a short write is possible).
   */
  write(fd: number, buffer: ArrayBufferView, offset?: number | bigint | null, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Write, validateFd(fd), validateBuffer(buffer), validatePosition(offset), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Scatter read into `buffers` in order from `offset` (as read()): one readv(2), so at most the
   * first IOV_MAX (1024) buffers are filled, and the count says how far it got.
   */
  readv(fd: number, buffers: ArrayBufferView[], offset?: number | bigint | null, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Readv, validateFd(fd), validateBufferArray(buffers), validatePosition(offset), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Gather write from `buffers` in order at `offset` (as write()): one writev(2), so at most the
   * first IOV_MAX (1024) buffers are written, and a count short of the total says so: write the
   * rest with another call (aiofs/promises' writev does).
   */
  writev(fd: number, buffers: ArrayBufferView[], offset?: number | bigint | null, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Writev, validateFd(fd), validateBufferArray(buffers), validatePosition(offset), options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Flush the file's data and metadata to stable storage. Resolves with 0. */
  fsync(fd: number, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Fsync, validateFd(fd), null, 0, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Flush the file's data (and the metadata needed to read it back) to stable storage. Resolves with 0. */
  fdatasync(fd: number, options?: OperationOptions): Promise<number> {
    try {
      this.#checkOpen();
      return this.#submitData(Op.Fdatasync, validateFd(fd), null, 0, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Open `path` (string, Buffer or file: URL) with node:fs flags ('r', 'wx+'... or a number) and
   * permissions `mode` (default 0o666) for files it creates; resolves with the new fd, which is
   * close-on-exec as node:fs makes it. Close it with closeFd().
   */
  open(path: PathLike, flags?: string | number, mode?: number | string, options?: OperationOptions): Promise<number> {
    return this.#metaCall(options, () => {
      const { bytes, text } = validatePath(path);
      return meta.openAt(bytes, validateOpenFlags(flags) | O_CLOEXEC, validateMode(mode, 'mode', 0o666) & PERMISSION_BITS, text);
    });
  }

  /** Close `fd`. */
  closeFd(fd: number, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => meta.close(validateFd(fd))).then(toVoid);
  }

  /** What node:fs's stat (for a path) or fstat (for an fd) gives, as Stats or, with `bigint`, BigIntStats. */
  stat(target: PathLike | number, options?: StatOptions & { bigint?: false }): Promise<Stats>;
  stat(target: PathLike | number, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  stat(target: PathLike | number, options?: StatOptions): Promise<Stats | BigIntStats>;
  stat(target: PathLike | number, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(target, options, false);
  }

  /** stat() that does not follow a final symbolic link, as node:fs's lstat. */
  lstat(path: PathLike, options?: StatOptions & { bigint?: false }): Promise<Stats>;
  lstat(path: PathLike, options: StatOptions & { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    return this.#stat(path, options, true);
  }

  rename(oldPath: PathLike, newPath: PathLike, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const from = validatePath(oldPath, 'oldPath');
      const to = validatePath(newPath, 'newPath');
      return meta.twoPaths(Op.Rename, from.bytes, to.bytes, from.text, to.text);
    }).then(toVoid);
  }

  unlink(path: PathLike, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const { bytes, text } = validatePath(path);
      return meta.unlinkAt(bytes, false, text);
    }).then(toVoid);
  }

  /** Remove an empty directory. */
  rmdir(path: PathLike, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const { bytes, text } = validatePath(path);
      return meta.unlinkAt(bytes, true, text);
    }).then(toVoid);
  }

  /** Create one directory (not its parents) with permissions `mode` (default 0o777, less the umask). */
  mkdir(path: PathLike, mode?: number | string, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const { bytes, text } = validatePath(path);
      return meta.mkdirAt(bytes, validateMode(mode, 'mode', 0o777) & PERMISSION_BITS, text);
    }).then(toVoid);
  }

  /** Create a symbolic link at `path` pointing to `target`. */
  symlink(target: PathLike, path: PathLike, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const to = validatePath(target, 'target');
      const at = validatePath(path);
      return meta.symlinkAt(to.bytes, at.bytes, to.text, at.text);
    }).then(toVoid);
  }

  /** Create a hard link `newPath` to `existingPath`. */
  link(existingPath: PathLike, newPath: PathLike, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () => {
      const from = validatePath(existingPath, 'existingPath');
      const to = validatePath(newPath, 'newPath');
      return meta.twoPaths(Op.Link, from.bytes, to.bytes, from.text, to.text);
    }).then(toVoid);
  }

  /**
   * fallocate(2): `mode` 0 allocates `length` bytes from `offset` (growing the file); other modes
   * (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE...) as the kernel defines them. On the threads backend only
   * mode 0 is possible, done as the size change without reserving blocks.
   */
  fallocate(fd: number, mode: number, offset: number, length: number, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () =>
      meta.fallocate(
        validateFd(fd),
        validateInteger(mode, 'mode', 0, 2 ** 31 - 1),
        validateInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER),
        validateInteger(length, 'length', 1, Number.MAX_SAFE_INTEGER),
      ),
    ).then(toVoid);
  }

  /** Cut or extend the file to `length` bytes (default 0). */
  ftruncate(fd: number, length?: number, options?: OperationOptions): Promise<void> {
    return this.#metaCall(options, () =>
      meta.ftruncate(validateFd(fd), length === undefined ? 0 : validateInteger(length, 'length', 0, Number.MAX_SAFE_INTEGER)),
    ).then(toVoid);
  }

  /**
   * @internal splice(2) through the backend: up to `length` bytes from `fdIn` (at `offIn`, or a
   * pipe's own position for null) to `fdOut`, one of them a pipe; resolves with the bytes moved (0
   * at the input's end) or, on failure, with the negative errno (no Error: a full socket's EAGAIN
   * is routine there); rejects only when `signal` aborts it. -EOPNOTSUPP where the backend cannot
   * (aio, threads, a kernel before 5.7): the caller moves the bytes through memory instead.
   */
  [spliceFd](fdIn: number, offIn: number | null, fdOut: number, length: number, signal?: AbortSignal): Promise<number> {
    return this.#internal(meta.splice(fdIn, offIn, fdOut, length, 0), signal, true);
  }

  /**
   * @internal read() for the library's own callers, whose arguments are checked already: the
   * byte count itself when the read finished inside the call (a page-cache hit), else its promise.
   */
  [readNow](fd: number, view: ArrayBufferView, position: number): number | Promise<number> {
    if (this.#closed) return this.read(fd, view, position);
    return this.#dispatcher.submitNow(Op.Read, fd, view, position);
  }

  /** @internal Resolves with the ready events once `fd` has one of `events` (poll(2) bits); io_uring only. */
  [pollFd](fd: number, events: number, signal?: AbortSignal): Promise<number> {
    return this.#internal(meta.poll(fd, events), signal);
  }

  /**
   * @internal Open `path` (relative) read-only under the directory `dirfd`, refusing any
   * resolution that leaves it (openat2 RESOLVE_BENEATH: `..`, absolute or escaping symbolic links
   * -> EXDEV; procfs magic links -> ELOOP). Rejects with EOPNOTSUPP where the backend cannot.
   */
  [openBeneath](dirfd: number, path: string, errorPath: string): Promise<number> {
    return this.#internal(meta.openAt2(dirfd, path, O_RDONLY_CLOEXEC, 0, meta.RESOLVE_BENEATH | meta.RESOLVE_NO_MAGICLINKS, errorPath), undefined);
  }

  /** A metadata operation the library itself made (no options to check), queued in the default class. */
  #internal(m: meta.Meta, signal: AbortSignal | undefined, resolvesErrno = false): Promise<number> {
    try {
      this.#checkOpen();
      return this.#queueMeta(m, signal, 0, undefined, resolvesErrno);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Register `buffers` with the kernel (io_uring's fixed buffers): reads and writes whose memory
   * lies inside one of them then skip the per-operation page pinning. The context keeps the
   * buffers alive until they are replaced (another call; `[]` drops them) or the context closes.
   * Resolves with true if they were registered. Failure never breaks I/O: the backend lacking
   * the feature (aio, threads) or the kernel refusing (memlock limit) resolves with false and
   * emits a warning once per reason; I/O then runs as before. Waits for the operations in flight,
   * since the kernel's table can only change while none is.
   */
  async registerBuffers(buffers: ArrayBufferView[]): Promise<boolean> {
    this.#checkOpen();
    const views = validateRegistered(buffers);
    const registered = await registerWhenIdle(this.#dispatcher, views, this.#registerWarnings, () => this.#checkOpen());
    this.#registered = registered ? views.slice() : [];
    return registered;
  }

  stats(): ContextStats {
    const classes: Record<string, ClassStats> = {};
    for (const c of this.#classes) {
      classes[c.name] = {
        shares: c.shares,
        queued: c.queued,
        inFlight: c.inFlight,
        completed: c.completed,
        latencyMs: { p50: c.latency.percentile(0.5), p99: c.latency.percentile(0.99), samples: c.latency.size },
      };
    }
    return { ...this.#dispatcher.counts(), classes };
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Stop accepting operations, let every accepted one finish, then release the backend.
   * Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#dispatcher.close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `{ signal, class }` (and, where `keys` allows, an operation's own options). */
  #operationOptions(options: unknown, keys: ReadonlySet<string>): { checked: Record<string, unknown>; signal: AbortSignal | undefined; priorityClass: number } {
    if (options === undefined) return { checked: {}, signal: undefined, priorityClass: 0 };
    const checked = validateObject(options, 'options')!;
    validateKnownKeys(checked, keys, 'options');
    const signal = validateSignal(checked.signal, 'options.signal');
    let priorityClass = 0;
    if (checked.class !== undefined) {
      if (typeof checked.class !== 'string') throw invalidArgType('options.class', ['string'], checked.class);
      const index = this.#classIndex.get(checked.class);
      if (index === undefined) throw invalidArgValue('options.class', checked.class, `is not a class of this context (${[...this.#classIndex.keys()].join(', ')})`);
      priorityClass = index;
    }
    return { checked, signal, priorityClass };
  }

  #submitData(op: Op, fd: number, data: ArrayBufferView | ArrayBufferView[] | null, offset: number | bigint, options: unknown): Promise<number> {
    if (options === undefined) {
      if (op > Op.Write) return this.#dispatcher.submit(new Request(op, fd, data, offset, undefined));
      const result = this.#dispatcher.submitNow(op, fd, data as ArrayBufferView, offset);
      return typeof result === 'number' ? Promise.resolve(result) : result;
    }
    const { signal, priorityClass } = this.#operationOptions(options, operationOptionKeys);
    const request = new Request(op, fd, data, offset, signal);
    request.priorityClass = priorityClass;
    return this.#dispatcher.submit(request);
  }

  #stat(target: unknown, options: unknown, lstat: boolean): Promise<Stats | BigIntStats> {
    let stat: meta.Statx;
    let statx: StatxBuffer;
    return this.#metaCall(options, (checked) => {
      const bigint = checked.bigint === undefined ? false : validateBoolean(checked.bigint, 'options.bigint');
      const fd = typeof target === 'number' && !lstat ? validateFd(target) : -1;
      const path = fd === -1 ? validatePath(target) : undefined;
      statx = takeStatx(); // read only once the kernel filled it, given back only then
      if (path === undefined) stat = meta.statx({ fd }, false, STATX_MASK, statx.bytes, bigint);
      else stat = meta.statx({ path: path.bytes, errorPath: path.text }, lstat, STATX_MASK, statx.bytes, bigint);
      return stat;
    }, statOptionKeys, () => {
      const stats = (stat.stats as Stats | BigIntStats | undefined) ?? statsFromStatx(statx, stat.bigint);
      releaseStatx(statx);
      return stats;
    });
  }

  /**
   * Validate (`make` throws on bad arguments), then queue the metadata operation it makes.
   * `options` is `{ signal, class }` plus, where `keys` says so, the operation's own options,
   * handed to `make`; `finish` makes the value the promise resolves with from the result.
   */
  #metaCall(options: unknown, make: (options: Record<string, unknown>) => meta.Meta): Promise<number>;
  #metaCall<R>(options: unknown, make: (options: Record<string, unknown>) => meta.Meta, keys: ReadonlySet<string>, finish: (result: number) => R): Promise<R>;
  #metaCall<R>(
    options: unknown,
    make: (options: Record<string, unknown>) => meta.Meta,
    keys: ReadonlySet<string> = operationOptionKeys,
    finish?: (result: number) => R,
  ): Promise<number | R> {
    try {
      this.#checkOpen();
      const { checked, signal, priorityClass } = this.#operationOptions(options, keys);
      return this.#queueMeta(make(checked), signal, priorityClass, finish);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Hand the metadata operation `m` to the dispatcher; `finish` as in #metaCall. */
  #queueMeta<R>(
    m: meta.Meta,
    signal: AbortSignal | undefined,
    priorityClass: number,
    finish?: (result: number) => R,
    resolvesErrno = false,
  ): Promise<number | R> {
    const request = new Request(m.op, -1, null, 0, signal);
    request.meta = m;
    request.priorityClass = priorityClass;
    request.resolvesErrno = resolvesErrno;
    return finish ? this.#dispatcher.submit(request, finish) : this.#dispatcher.submit(request);
  }

  #checkOpen(): void {
    if (this.#closed) throw invalidState('the IoContext is closed');
  }
}

/**
 * The one way the library's own files close `fd`: through `context` while it is open; once it is
 * closed (a file may outlive its context), by whoever opened it, so that neither the addon nor
 * Node closes that number again when a worker's environment goes away.
 */
export function closeFile(context: IoContext, fd: number): Promise<void> {
  if (!context.closed) return context.closeFd(fd);
  // Whoever opened it closes it: the addon what a ring opened, node:fs the rest (see native.ts).
  const result = closeOwnedFd(fd);
  if (result === 1) return new Promise((resolve, reject) => nodeFs.close(fd, (error) => (error ? reject(error) : resolve())));
  return result < 0 ? Promise.reject(systemError(result, 'close')) : Promise.resolve();
}
