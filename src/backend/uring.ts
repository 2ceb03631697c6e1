/** The io_uring backend: the native ring (native/uring.c) behind the shared engine backend. */
import { constants } from 'node:os';
import { environmentCount } from '../environment.js';
import { backendUnavailable, warnOnce } from '../errors.js';
import { loadNative, type NativeAddon } from '../native.js';
import type { CompletionSink, Op } from './backend.js';
import { EngineBackend } from './engine.js';

const { ENOSYS, EPERM, ENOMEM, EINVAL, EOPNOTSUPP, EMFILE, ENFILE, ENXIO } = constants.errno;

export interface UringSettings {
  entries: number;
  sqpoll: boolean;
  sqThreadIdle: number;
  /** Operations to treat as unsupported by the kernel (tests use it to exercise the fallback). */
  refuseOps?: readonly Op[];
  /** Have the addon's SQPOLL setup fail with EPERM, as kernels before 5.11 do without CAP_SYS_ADMIN (tests). */
  refuseSqpoll?: boolean;
}

/** The addon's refuseOps bit for refuseSqpoll (native/uring.h, AIOFS_URING_REFUSE_SQPOLL). */
const REFUSE_SQPOLL = 2 ** 31;

/** Why io_uring_setup failed, in words a user can act on. */
export function describeUringFailure(errno: number): string {
  switch (-errno) {
    case ENOSYS:
      return 'the kernel has no usable io_uring: Linux 5.6 or later is needed, and seccomp profiles (containers) may refuse it (ENOSYS)';
    case EPERM:
      return 'io_uring is not permitted here: sysctl kernel.io_uring_disabled, or a seccomp/container policy (EPERM)';
    case ENOMEM:
      return 'the kernel could not allocate the ring: raise the locked-memory limit (ulimit -l) or use fewer entries (ENOMEM)';
    case EINVAL:
      return 'the kernel refused the ring parameters (EINVAL)';
    case EMFILE:
    case ENFILE:
      return `the process had no file descriptor to spare for the ring just then (${-errno === EMFILE ? 'EMFILE' : 'ENFILE'}); later contexts try again`;
    default:
      return `io_uring_setup failed with errno ${-errno}`;
  }
}

/**
 * AIOFS_SQPOLL_THREADS: how many kernel polling threads the process's SQPOLL rings may have
 * before new ones share them; undefined leaves it to the addon (half the CPUs this thread may run
 * on, at least one: docs/backends.md).
 */
function sqpollThreadsFromEnvironment(): number | undefined {
  return environmentCount('AIOFS_SQPOLL_THREADS', 1024, 'AIOFS_BAD_SQPOLL_THREADS', 'the default applies (half the CPUs, at least one)');
}

const NOT_LINUX = `io_uring exists only on Linux (this is ${process.platform})`;
const ONE_CPU = 'this thread may run on one CPU only, and a polling thread would take that CPU from the program (taskset, cpuset)';

/** Why a ring set up with sqpoll asked for has no polling thread: the kernel refused it (`refused`, an errno), or one CPU only. */
function sqpollDeclined(refused: number): { code: string; reason: string } {
  if (refused === 0) return { code: 'AIOFS_SQPOLL_ONE_CPU', reason: ONE_CPU };
  const name = Object.entries(constants.errno).find(([, value]) => value === refused)?.[0] ?? `errno ${refused}`;
  const why = refused === EPERM ? ': before Linux 5.11 it needs CAP_SYS_ADMIN' : '';
  return { code: 'AIOFS_SQPOLL_REFUSED', reason: `the kernel refused the polling thread (${name}${why})` };
}

/**
 * Whether a context made here (on this thread) with `sqpoll: true` gets a kernel thread polling
 * its ring, or why not: a small ring is set up with it, asked, and closed (aiofs doctor).
 */
export function sqpollAvailability(): { available: boolean; reason?: string } {
  let createUring: NativeAddon['createUring'];
  try {
    createUring = loadNative().createUring;
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
  if (!createUring) return { available: false, reason: NOT_LINUX };
  const engine = createUring(4, true, 0, 0, new Int32Array(16), () => {});
  if (typeof engine === 'number') return { available: false, reason: describeUringFailure(engine) };
  engine.close();
  return engine.sqpoll === false ? { available: false, reason: sqpollDeclined(engine.sqpollRefused ?? 0).reason } : { available: true };
}

export function createUringBackend(settings: UringSettings, sink: CompletionSink): EngineBackend {
  const addon = loadNative();
  const createUring = addon.createUring;
  if (!createUring) throw backendUnavailable('uring', NOT_LINUX);
  const refuseOps = ((settings.refuseOps ?? []).reduce<number>((mask, op) => mask | (1 << op), 0) | (settings.refuseSqpoll ? REFUSE_SQPOLL : 0)) >>> 0;
  return new EngineBackend(
    {
      name: 'uring',
      // The kernel rounds the SQ up to a power of two; the CQ holds twice as many entries.
      maxCompletions: 2 * 2 ** Math.ceil(Math.log2(settings.entries)),
      create: (completions, handler) => {
        const engine = createUring(
          settings.entries,
          settings.sqpoll,
          settings.sqThreadIdle,
          refuseOps,
          completions,
          handler,
          settings.sqpoll ? sqpollThreadsFromEnvironment() : undefined,
        );
        if (settings.sqpoll && typeof engine !== 'number' && engine.sqpoll === false) {
          // A ring all the same, without the polling thread: say why, once.
          const { code, reason } = sqpollDeclined(engine.sqpollRefused ?? 0);
          warnOnce(code, `sqpoll is ignored: ${reason}; the context submits with system calls`);
        }
        return engine;
      },
      // An opcode the kernel lacks answers EOPNOTSUPP at prep; a file type io_uring cannot
      // drive answers EINVAL or EOPNOTSUPP: both are re-run on the thread pool, as libuv does.
      fallbackErrors: new Set([EOPNOTSUPP, EINVAL]),
      openFallbackErrors: new Set([ENXIO]),
      continueShortTransfers: false,
      bindsCredentials: true,
      metadata: true,
      currentPosition: true,
      shortWriteMayKeepPosition: true,
    },
    sink,
    (errno) => backendUnavailable('uring', describeUringFailure(errno), -errno === EMFILE || -errno === ENFILE),
  );
}
