/**
 * node:fs's callback API for files, on the default IoContext: open, close, read, write, readv,
 * writev, fstat, stat, lstat, readFile, writeFile, fsync, fdatasync (what fs.createReadStream and
 * fs.createWriteStream call included). Each takes the everyday shapes of its arguments itself
 * (those Node takes as they are); any other call is Node's own function, which throws its own
 * argument errors, synchronously, as Node does, and answers the rest its own way. A callback
 * gets what Node's gets (an error of Node's shape, or null and the results), from a tick of its
 * own, outside any promise, so that a throw in it is an uncaught exception as with Node's.
 * An fd opened here is the process's like one node:fs opened: the synchronous API takes it, and
 * no engine closes it when a worker ends (that is the caller's, as with node:fs).
 */
import type fs from 'node:fs';
import type { IoContext } from '../context.js';
import { readNow } from '../context.js';
import { getDefaultContext } from '../create-context.js';
import { writevFully } from '../file/transfer.js';
import { CURRENT_POSITION } from '../limits.js';
import { forgetFd } from '../native.js';
import { nodeFs } from '../node-fs.js';
import promises from '../promises/index.js';
import { everydayFileOptions, isWriteData } from '../promises/file-handle.js';
import { nodeSafeMode, validatePath } from '../validate.js';
import { byteLengthOf, isTypedArray, ownByteLength } from '../views.js';

type Callback = (...args: unknown[]) => void;
type Api = Pick<typeof fs, 'open' | 'close' | 'read' | 'write' | 'readv' | 'writev' | 'fstat' | 'stat' | 'lstat' | 'readFile' | 'writeFile' | 'fsync' | 'fdatasync'>;

const MAX_POSITION = Number.MAX_SAFE_INTEGER;

/**
 * Hand `callback` the outcome of `pending` from a tick of its own: (null, ...results) or
 * (error, ...failed): Node's read, write, readv and writev give (error, 0, buffer) on failure.
 */
function deliver<T>(pending: T | Promise<T>, callback: Callback, results: (value: T) => unknown[], failed: unknown[] = []): void {
  if (!(pending instanceof Promise)) {
    process.nextTick(callback, null, ...results(pending));
    return;
  }
  pending.then(
    (value) => process.nextTick(callback, null, ...results(value)),
    (error: unknown) => process.nextTick(callback, error, ...failed),
  );
}

const none = (): unknown[] => [];

function isFd(fd: unknown): fd is number {
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 && fd <= 2 ** 31 - 1 && !Object.is(fd, -0);
}

/** A path the context takes (validatePath answers it as node:fs's getValidatedPath would); else node:fs answers. */
function isEverydayPath(path: unknown): boolean {
  if (typeof path !== 'string' && !(path instanceof Uint8Array) && !(path instanceof URL)) return false;
  try {
    validatePath(path);
    return true;
  } catch {
    return false;
  }
}

/** A transfer's position Node takes as it is: null, undefined or -1 the file's own (CURRENT_POSITION), or a safe integer >= 0; else undefined. */
function positionOf(position: unknown): number | undefined {
  if (position === undefined || position === null || position === -1) return CURRENT_POSITION;
  return typeof position === 'number' && Number.isInteger(position) && position >= 0 && position <= MAX_POSITION && !Object.is(position, -0) ? position : undefined;
}

/** `buffer`'s bytes from `offset`, `length` of them, when both are integers inside it (its own byteLength its memory's). */
function viewOf(buffer: unknown, offset: unknown, length: unknown, allowEmpty: boolean): Uint8Array | undefined {
  if (!isTypedArray(buffer)) return undefined;
  const size = byteLengthOf(buffer);
  if (size !== ownByteLength(buffer)) return undefined;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || Object.is(offset, -0)) return undefined;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < (allowEmpty ? 0 : 1) || Object.is(length, -0) || offset + length > size) return undefined;
  return new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length);
}

/** A list of typed arrays with bytes, as readv and writev take as it is. */
function isViewList(buffers: unknown): buffers is ArrayBufferView[] {
  if (!Array.isArray(buffers) || buffers.length === 0) return false;
  for (const buffer of buffers) if (!isTypedArray(buffer) || byteLengthOf(buffer) === 0) return false;
  return true;
}

/** stat's options: absent, or { bigint: boolean }: the bigint flag; else undefined. */
function bigintOf(options: unknown): boolean | undefined {
  if (options === undefined) return false;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return undefined;
  const keys = Object.keys(options);
  if (keys.length > 1 || (keys.length === 1 && keys[0] !== 'bigint')) return undefined;
  const { bigint } = options as { bigint?: unknown };
  return bigint === undefined ? false : typeof bigint === 'boolean' ? bigint : undefined;
}

/** The callback API over `contextOf()` (the default context). */
export function callbackApi(contextOf: () => IoContext = getDefaultContext): Api {
  function open(path: unknown, flags?: unknown, mode?: unknown, callback?: unknown): void {
    let cb = callback;
    let openFlags = flags;
    let openMode = mode;
    if (arguments.length < 3) {
      cb = flags;
      openFlags = 'r';
      openMode = 0o666;
    } else if (typeof mode === 'function') {
      cb = mode;
      openMode = 0o666;
    }
    if (typeof cb !== 'function' || !isEverydayPath(path) || !isEverydayFlags(openFlags) || !isEverydayMode(openMode)) {
      (nodeFs.open as (...args: unknown[]) => void)(...[...arguments].map((arg, i) => (i === 2 ? safeMode(arg) : arg)));
      return;
    }
    const opening = contextOf()
      .open(path as string, openFlags as string | number, openMode as number)
      .then((fd) => {
        forgetFd(fd); // the caller's to close, as any fd node:fs opens
        return fd;
      });
    deliver(opening, cb as Callback, (fd) => [fd]);
  }

  function close(fd: unknown, callback?: unknown): void {
    if (!isFd(fd) || (callback !== undefined && typeof callback !== 'function')) {
      (nodeFs.close as (...args: unknown[]) => void)(...arguments);
      return;
    }
    // Node's default: an error is thrown, as an uncaught exception.
    const cb = (callback as Callback | undefined) ?? ((error: unknown) => {
      if (error) throw error;
    });
    deliver(contextOf().closeFd(fd), cb, none);
  }

  function read(fd: unknown, buffer: unknown, offset: unknown, length: unknown, position: unknown, callback: unknown): void {
    const view = arguments.length === 6 && isFd(fd) && typeof callback === 'function' ? viewOf(buffer, offset, length, false) : undefined;
    const at = view ? positionOf(position) : undefined;
    if (at === undefined) {
      (nodeFs.read as (...args: unknown[]) => void)(...arguments);
      return;
    }
    deliver(contextOf()[readNow](fd as number, view!, at), callback as Callback, (bytesRead) => [bytesRead, buffer], [0, buffer]);
  }

  function write(fd: unknown, buffer: unknown, offset: unknown, length: unknown, position: unknown, callback: unknown): void {
    const view = arguments.length === 6 && isFd(fd) && typeof callback === 'function' ? viewOf(buffer, offset, length, true) : undefined;
    // Node reads a position that is not a number as the file's own.
    const at = view ? (typeof position === 'number' ? positionOf(position) : CURRENT_POSITION) : undefined;
    if (at === undefined) {
      (nodeFs.write as (...args: unknown[]) => void)(...arguments);
      return;
    }
    // Even of no bytes: the kernel still answers for the fd (EBADF on one opened to read).
    deliver(contextOf().write(fd as number, view!, at === CURRENT_POSITION ? null : at), callback as Callback, (written) => [written, buffer], [0, buffer]);
  }

  function vectored(writing: boolean, args: IArguments, fd: unknown, buffers: unknown, position: unknown, callback: unknown): void {
    const at = args.length === 4 && isFd(fd) && typeof callback === 'function' && isViewList(buffers) ? (typeof position === 'number' ? positionOf(position) : CURRENT_POSITION) : undefined;
    if (at === undefined) {
      ((writing ? nodeFs.writev : nodeFs.readv) as (...a: unknown[]) => void)(...args);
      return;
    }
    const where = at === CURRENT_POSITION ? null : at;
    const context = contextOf();
    // libuv writes every buffer for Node (IOV_MAX at a time) and reads the first IOV_MAX.
    const moved = writing ? writevFully(context, fd as number, buffers as ArrayBufferView[], where) : context.readv(fd as number, buffers as ArrayBufferView[], where);
    deliver(moved, callback as Callback, (n) => [n, buffers], [0, buffers]);
  }

  function readv(fd: unknown, buffers: unknown, position: unknown, callback: unknown): void {
    vectored(false, arguments, fd, buffers, position, callback);
  }

  function writev(fd: unknown, buffers: unknown, position: unknown, callback: unknown): void {
    vectored(true, arguments, fd, buffers, position, callback);
  }

  function statted(which: 'fstat' | 'stat' | 'lstat', args: IArguments, target: unknown, options: unknown, callback: unknown): void {
    let cb = callback;
    let opts = options;
    if (typeof options === 'function' && args.length === 2) {
      cb = options;
      opts = undefined;
    }
    const bigint = args.length <= 3 && typeof cb === 'function' && (which === 'fstat' ? isFd(target) : isEverydayPath(target)) ? bigintOf(opts) : undefined;
    if (bigint === undefined) {
      (nodeFs[which] as (...a: unknown[]) => void)(...args);
      return;
    }
    const context = contextOf();
    const options_ = bigint ? { bigint: true as const } : undefined;
    const stats = which === 'lstat' ? context.lstat(target as string, options_) : context.stat(target as string | number, options_);
    deliver(stats, cb as Callback, (value) => [value]);
  }

  function fstat(fd: unknown, options?: unknown, callback?: unknown): void {
    statted('fstat', arguments, fd, options, callback);
  }

  function stat(path: unknown, options?: unknown, callback?: unknown): void {
    statted('stat', arguments, path, options, callback);
  }

  function lstat(path: unknown, options?: unknown, callback?: unknown): void {
    statted('lstat', arguments, path, options, callback);
  }

  function readFile(path: unknown, options?: unknown, callback?: unknown): void {
    const cb = callback ?? options;
    const opts = callback === undefined ? undefined : options;
    // An fd reads from its own position: Node's own; so do odd options.
    if (typeof cb !== 'function' || arguments.length > 3 || !isEverydayPath(path) || everydayFileOptions(opts, 'readFile') === undefined) {
      (nodeFs.readFile as (...a: unknown[]) => void)(...arguments);
      return;
    }
    deliver(promises.readFile(path as string, opts as never), cb as Callback, (data) => [data]);
  }

  function writeFile(path: unknown, data: unknown, options?: unknown, callback?: unknown): void {
    const cb = callback ?? options;
    const opts = callback === undefined ? undefined : options;
    const everyday = typeof data === 'string' || (isWriteData(data) && ArrayBuffer.isView(data));
    if (typeof cb !== 'function' || arguments.length > 4 || !everyday || !isEverydayPath(path) || everydayFileOptions(opts, 'writeFile') === undefined) {
      (nodeFs.writeFile as (...a: unknown[]) => void)(...[...arguments].map((arg, i) => (i === 2 ? safeOptions(arg) : arg)));
      return;
    }
    deliver(promises.writeFile(path as string, data as string, opts as never), cb as Callback, none);
  }

  function synced(datasync: boolean, args: IArguments, fd: unknown, callback: unknown): void {
    if (args.length !== 2 || !isFd(fd) || typeof callback !== 'function') {
      ((datasync ? nodeFs.fdatasync : nodeFs.fsync) as (...a: unknown[]) => void)(...args);
      return;
    }
    const context = contextOf();
    deliver(datasync ? context.fdatasync(fd) : context.fsync(fd), callback as Callback, none);
  }

  function fsync(fd: unknown, callback: unknown): void {
    synced(false, arguments, fd, callback);
  }

  function fdatasync(fd: unknown, callback: unknown): void {
    synced(true, arguments, fd, callback);
  }

  return { open, close, read, write, readv, writev, fstat, stat, lstat, readFile, writeFile, fsync, fdatasync } as unknown as Api;
}

/** open's flags as node:fs takes them as they are: one of its string flags, or an int32. */
function isEverydayFlags(flags: unknown): boolean {
  if (typeof flags === 'number') return Number.isInteger(flags) && flags >= -(2 ** 31) && flags < 2 ** 31 && !Object.is(flags, -0);
  return typeof flags === 'string' && stringFlags.has(flags);
}

const stringFlags: ReadonlySet<string> = new Set(['r', 'rs', 'sr', 'r+', 'rs+', 'sr+', 'w', 'wx', 'xw', 'w+', 'wx+', 'xw+', 'a', 'ax', 'xa', 'as', 'sa', 'a+', 'ax+', 'xa+', 'as+', 'sa+']);

/** A mode that is an integer from 0 to 2^31 - 1 or an octal string of one. */
function isEverydayMode(mode: unknown): boolean {
  const value = typeof mode === 'string' && /^[0-7]+$/.test(mode) ? Number.parseInt(mode, 8) : mode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 31 && !Object.is(value, -0);
}

/** A mode as Node may be given it (nodeSafeMode: -0 as 0; 2^31 and up refused, thrown as Node throws its own argument errors). */
function safeMode(mode: unknown): unknown {
  return typeof mode === 'function' ? mode : nodeSafeMode(mode);
}

/** writeFile's options as Node may be given them: a mode nodeSafeMode makes safe. */
function safeOptions(options: unknown): unknown {
  if (options === null || typeof options !== 'object') return options;
  const { mode } = options as { mode?: unknown };
  const safe = nodeSafeMode(mode);
  return safe === mode ? options : { ...options, mode: safe };
}
