/**
 * Finds and loads the compiled addon: an explicit path (AIOFS_NATIVE), then a build from source,
 * then the prebuilt binary for this platform and C library. Loading is lazy, so that the `threads`
 * backend works even where no addon could be built or loaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { environmentChoice } from './environment.js';
import { nativeUnavailable, warnOnce } from './errors.js';

/** A kernel engine as the addon exposes it (native/addon.c documents each method). */
export interface NativeEngine {
  readonly capacity: number;
  /** io_uring: whether a kernel thread polls the submission queue (asked for, and this thread may run on more than one CPU). */
  readonly sqpoll?: boolean;
  /** io_uring: the errno with which the kernel refused the polling thread asked for (the ring has none), or 0. */
  readonly sqpollRefused?: number;
  prepRw(op: number, fd: number, buffer: ArrayBufferView, offset: number | bigint, user: number): number;
  prepRwv(op: number, fd: number, buffers: ArrayBufferView[], offset: number | bigint, user: number): number;
  /** prepRw, then submit what is queued, then reap: the completions now in the shared array, or -errno (refused, not in flight). */
  submitRw(op: number, fd: number, buffer: ArrayBufferView, offset: number | bigint, user: number): number;
  prepFsync(fd: number, datasync: boolean, user: number): number;
  prepCancel(target: number, user: number): number;
  registerBuffers(buffers: ArrayBufferView[]): number;
  prepMeta(
    op: number,
    dirfd: number,
    path: string | Buffer | null,
    dirfd2: number,
    path2: string | Buffer | null,
    flags: number,
    mode: number,
    offset: number,
    length: number,
    statx: Buffer | null,
    user: number,
  ): number;
  submit(): number;
  /**
   * submit(), at the end of a tick's batch: with SQPOLL, then waits briefly for the kernel
   * thread's first completion. A reap must follow before the event loop turns (with a waiter
   * thread, the reap is what has it watch for completions still due).
   */
  flush(): number;
  pending(): number;
  reap(): number;
  close(): number;
}

export interface NativeAddon {
  /**
   * An io_uring engine (a number: -errno, the kernel refused). `handler(count)` is told of the
   * completions in `completions`; the engine holds it strongly only while something is in flight,
   * so the caller keeps its own reference (engine.ts: a property of the backend). With `sqpoll`,
   * the ring shares a polling thread the process has already once it has `sqpollThreads` of them
   * (undefined or 0: half the CPUs the calling thread may run on, at least one). Where the
   * calling thread may run on one CPU only, or where the kernel refuses the polling thread
   * (engine.sqpollRefused), the ring has none (engine.sqpoll false).
   */
  createUring?(
    entries: number,
    sqpoll: boolean,
    sqThreadIdle: number,
    refuseOps: number,
    completions: Int32Array,
    handler: (count: number) => void,
    sqpollThreads?: number,
  ): NativeEngine | number;
  /** A Linux AIO engine, as createUring. */
  createAio?(capacity: number, completions: Int32Array, handler: (count: number) => void): NativeEngine | number;
  /** The fd was closed other than by a ring's close: the environment's teardown must not close it. */
  forgetFd?(fd: number): void;
  /** Close `fd` now if the addon owns it (0 or -errno); 1 for any other fd, left to node:fs. */
  closeFd?(fd: number): number;
  /** A pipe grown to `size` bytes where allowed: [read end, write end, capacity], or -errno. Close both with closeFd. */
  makePipe?(size: number): [number, number, number] | number;
  /** A duplicate of `fd` that closeFd closes, or -errno. */
  dupFd?(fd: number): number;
  /** lseek(2) of `fd`: the new position, or -errno. */
  seekFd?(fd: number, offset: number, whence: number): number;
  /** The file status flags of `fd` (fcntl F_GETFL), or -errno. */
  statusFlags?(fd: number): number;
  /** TCP_CORK on the socket `fd` set (on) or cleared (off, which sends what it held): 0 or -errno. */
  corkFd?(fd: number, on: boolean): number;
  /** One non-waiting splice of up to `length` bytes from the pipe `pipeFd` to the non-blocking `outFd`: bytes or -errno. */
  drainPipe?(pipeFd: number, outFd: number, length: number): number;
  /** One non-waiting splice of up to `length` bytes of the file `fd` at `offset` into the pipe, if all of them are in memory: bytes, 0 at the end, or -errno. */
  spliceResident?(fd: number, offset: number, pipeFd: number, length: number): number;
  /** Engines made from now on deliver completions through a waiter thread instead of uv_poll. */
  useWaiterThread?(): void;
  /** The numbers shared with JavaScript (native/engine.h, native/limits.h); Linux builds only. */
  constants?: { ops: Record<string, number>; maxRwCount: number; iovMax: number; maxRegistered: number; currentPosition: number };
  misalignment?(view: ArrayBufferView, alignment: number): number;
  setDirect?(fd: number, enable: boolean): number;
  directInfo?(fd: number): NativeDirectInfo | number;
}

/** What an open fd says about O_DIRECT (native/direct.h); alignments are 0 where the kernel does not say. */
export interface NativeDirectInfo {
  direct: boolean;
  memAlign: number;
  offsetAlign: number;
  devMajor: number;
  devMinor: number;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
let loaded: NativeAddon | undefined;
let loadedFrom: NativeInfo | undefined;
let failure: Error | undefined;

let libc: { family: 'glibc' | 'musl' | undefined } | undefined;

/**
 * Which C library this process runs on: the one mapped into it (Linux only). Read once it could
 * be read: a read that failed (no fd to spare for a moment, no /proc) is tried again next time.
 */
export function libcFamily(): 'glibc' | 'musl' | undefined {
  if (libc) return libc.family;
  if (process.platform !== 'linux') {
    libc = { family: undefined };
    return undefined;
  }
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  const family = /\/ld-musl-[^/\s]*\.so|\/libc\.musl-/.test(maps) ? 'musl' : /\/libc\.so\.6|\/libc-2\.\d+\.so/.test(maps) ? 'glibc' : undefined;
  libc = { family };
  return family;
}

/** Where a loaded addon came from, or why none loaded (`aiofs doctor` prints it). */
export interface NativeInfo {
  /** The file loaded. */
  path?: string;
  /** 'env' (AIOFS_NATIVE), 'build' (compiled on this machine) or 'prebuilt' (shipped in the package). */
  source?: 'env' | 'build' | 'prebuilt';
  /** The C library the prebuilt binary was made for, on Linux. */
  libc?: 'glibc' | 'musl';
  /** How completions reach JavaScript: 'poll' (the event loop watches the engine) or 'thread'. */
  delivery?: Delivery;
  /** Why no addon loaded. */
  error?: string;
}

export type Delivery = 'poll' | 'thread';

/**
 * How completions reach JavaScript. Node's loop is libuv, which the addon watches the engine's fd
 * on (completions reaped inline, no thread hop). Bun has no uv_poll and Deno's reports readiness
 * only once, so there a waiter thread blocks on the fd and wakes JavaScript through a thread-safe
 * function. AIOFS_DELIVERY=thread overrides on any runtime (the tests run the thread path on Node
 * too); `poll` only on Node: elsewhere the addon's first engine would take the process down, so it
 * warns once and the thread delivers.
 */
export function deliveryMode(): Delivery {
  const { name } = runtime();
  const asked = environmentChoice('AIOFS_DELIVERY', ['auto', 'poll', 'thread'], 'auto', 'AIOFS_BAD_DELIVERY', 'the runtime chooses');
  if (asked === 'thread') return 'thread';
  if (name === 'Node.js') return 'poll';
  if (asked === 'poll') {
    warnOnce('AIOFS_BAD_DELIVERY', `AIOFS_DELIVERY=poll needs Node's event loop (libuv), which ${name} does not have; a waiter thread delivers completions`);
  }
  return 'thread';
}

/** The JavaScript runtime running this: Node, or Bun or Deno through their Node compatibility. */
export function runtime(): { name: 'Node.js' | 'Bun' | 'Deno'; version: string } {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return { name: 'Bun', version: versions.bun };
  if (versions.deno !== undefined) return { name: 'Deno', version: versions.deno };
  return { name: 'Node.js', version: process.version };
}

interface Candidate {
  path: string;
  source: NonNullable<NativeInfo['source']>;
  libc?: 'glibc' | 'musl';
}

/**
 * Where to look, in order: AIOFS_NATIVE, a build from source (present only where one was made:
 * development, or an install on a platform without a prebuilt binary), then the prebuilt binary
 * for this platform, architecture and C library (prebuilds/linux-x64-glibc/, ...; the other
 * library's as a last try when the running one is not known).
 */
function candidates(): Candidate[] {
  const list: Candidate[] = [];
  if (process.env.AIOFS_NATIVE) list.push({ path: process.env.AIOFS_NATIVE, source: 'env' });
  list.push({ path: `${root}build/Release/aiofs.node`, source: 'build' }, { path: `${root}build/Debug/aiofs.node`, source: 'build' });
  const tag = `${root}prebuilds/${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    const libc = libcFamily();
    const order: ('glibc' | 'musl')[] = libc === 'musl' ? ['musl'] : libc === 'glibc' ? ['glibc'] : ['glibc', 'musl'];
    for (const family of order) list.push({ path: `${tag}-${family}/aiofs.node`, source: 'prebuilt', libc: family });
  } else {
    list.push({ path: `${tag}/aiofs.node`, source: 'prebuilt' });
  }
  return list;
}

/** Where the addon was loaded from, or why it could not be (loading it if that was not tried yet). */
export function nativeInfo(): NativeInfo {
  try {
    loadNative();
  } catch (error) {
    return { error: (error as Error).message };
  }
  return { ...loadedFrom };
}

/**
 * Tell the addon, if it is loaded, that `fd` was closed other than by a ring's close: the fds the
 * ring opened are closed when the environment goes away, and this one must not be.
 */
export function forgetFd(fd: number): void {
  loaded?.forgetFd?.(fd);
}

/**
 * Close `fd` now if the addon owns it (a ring of this environment opened it, or makePipe or dupFd
 * made it): 0 or -errno; 1 when it does not (or no addon is loaded), and node:fs must close it.
 */
export function closeOwnedFd(fd: number): number {
  return loaded?.closeFd?.(fd) ?? 1;
}

/** A pipe for splicing ([read end, write end, capacity in bytes]), or -errno (-ENOSYS without the addon). */
export function makePipe(size: number): [number, number, number] | number {
  return loaded?.makePipe?.(size) ?? -constants.errno.ENOSYS;
}

/** A duplicate of `fd` that closeOwnedFd closes, or -errno (-ENOSYS without the addon). */
export function dupFd(fd: number): number {
  return loaded?.dupFd?.(fd) ?? -constants.errno.ENOSYS;
}

/** lseek(2) of `fd` (whence 0 SEEK_SET, 1 SEEK_CUR, 2 SEEK_END): the new position, or -errno (-ENOSYS without the addon). */
export function seekFd(fd: number, offset: number, whence: 0 | 1 | 2): number {
  return loaded?.seekFd?.(fd, offset, whence) ?? -constants.errno.ENOSYS;
}

/** The file status flags of `fd` (O_APPEND, O_DIRECT...), or -errno (-ENOSYS without the addon). */
export function statusFlags(fd: number): number {
  return loaded?.statusFlags?.(fd) ?? -constants.errno.ENOSYS;
}

/**
 * Hold (on) or send (off) the socket `fd`'s partial segments (TCP_CORK): 0 or -errno (-ENOSYS
 * without the addon).
 */
export function corkFd(fd: number, on: boolean): number {
  return loaded?.corkFd?.(fd, on) ?? -constants.errno.ENOSYS;
}

/**
 * Move up to `length` bytes from the pipe `pipeFd` to `outFd` (a non-blocking socket) now, without
 * waiting: the bytes moved, -EAGAIN when the socket is full (or the pipe empty), -EINVAL when
 * `pipeFd` is no pipe or `outFd` could block, other -errno as splice(2) gives them (-ENOSYS
 * without the addon).
 */
export function drainPipe(pipeFd: number, outFd: number, length: number): number {
  return loaded?.drainPipe?.(pipeFd, outFd, length) ?? -constants.errno.ENOSYS;
}

/**
 * Move up to `length` bytes of the regular file `fd` from `offset` into the pipe `pipeFd` now,
 * if every page of them is in memory (then nothing waits for the device): the bytes moved, 0 at
 * the end of the file, -EAGAIN when a page is not in memory or the pipe is full, -ENOSYS without
 * cachestat(2) (Linux 6.5) or the addon, other -errno as splice(2) gives them (native/splice.h).
 */
export function spliceResident(fd: number, offset: number, pipeFd: number, length: number): number {
  return loaded?.spliceResident?.(fd, offset, pipeFd, length) ?? -constants.errno.ENOSYS;
}

/** The addon, or throws an error naming every place looked at and why each failed. */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  if (failure) throw failure;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  /** A prebuilt binary for this platform was there and did not load (a fault to report, not an install to repair). */
  let prebuiltFailed = false;
  for (const candidate of candidates()) {
    if (!existsSync(candidate.path)) {
      tried.push(`${candidate.path} (missing)`);
      continue;
    }
    try {
      const addon = require(candidate.path) as NativeAddon;
      const delivery = deliveryMode();
      if (delivery === 'thread') {
        // An addon without the waiter would crash Bun at its first engine: use another one.
        if (!addon.useWaiterThread) throw new Error('this build has no waiter thread, which this runtime needs');
        addon.useWaiterThread();
      }
      loaded = addon;
      loadedFrom = { path: candidate.path, source: candidate.source, ...(candidate.libc && { libc: candidate.libc }), delivery };
      return loaded;
    } catch (error) {
      const message = (error as Error).message;
      if (TRANSIENT.test(message)) {
        // No fd (or memory) to spare for a moment: not a fact about the install. Said as it
        // is, and not kept: the next operation tries again.
        throw nativeUnavailable(`${candidate.path} could not be loaded just now (${message}); the next operation tries again`, true);
      }
      tried.push(`${candidate.path} (${message})`);
      if (candidate.source === 'prebuilt') prebuiltFailed = true;
    }
  }
  const target = `${process.platform}-${process.arch}${process.platform === 'linux' ? `-${libcFamily() ?? 'unknown libc'}` : ''}`;
  failure = nativeUnavailable(
    `looked for ${tried.join(', ')}. ` +
      (prebuiltFailed
        ? `The prebuilt binary for ${target} is there and did not load on ${runtime().name} ${runtime().version}: please report it (with \`npx aiofs doctor\`); meanwhile \`npm rebuild aiofs\` builds one here (python3, make and a C compiler).`
        : process.platform === 'linux'
          ? `aiofs ships no prebuilt binary for ${target}; \`npm rebuild aiofs\` builds one from source (python3, make and a C compiler).`
          : `${process.platform} has no kernel engine for aiofs (the threads backend does all its I/O), so its install builds no addon; ` +
            'allocAligned() needs one: `AIOFS_BUILD_FROM_SOURCE=1 npm rebuild aiofs` builds it (python3, make and a C compiler).'),
  );
  throw failure;
}

/** dlopen's words (strerror) for a resource the process lacked for a moment: EMFILE, ENFILE, ENOMEM. */
const TRANSIENT = /Too many open files|Cannot allocate memory|failed to map segment/;
