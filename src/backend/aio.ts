/**
 * The Linux AIO backend: io_submit through the native engine (native/aio.c). Reads and writes go
 * with RWF_NOWAIT, so a buffered operation that would block (a page-cache miss) comes back as
 * EAGAIN or a short count and finishes on the thread pool instead of blocking the event loop.
 * Linux AIO is truly asynchronous only with O_DIRECT; see docs/backends.md.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { backendUnavailable } from '../errors.js';
import { loadNative } from '../native.js';
import type { CompletionSink } from './backend.js';
import { EngineBackend } from './engine.js';

const { EAGAIN, ENOSYS, EINVAL, EOPNOTSUPP, ENOMEM, EMFILE, ENFILE } = constants.errno;

function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/fs/${name}`, 'utf8').trim();
  } catch {
    return '?';
  }
}

export function describeAioFailure(errno: number): string {
  switch (-errno) {
    case EAGAIN:
      return `io_setup would exceed the system-wide limit on AIO requests (fs.aio-max-nr = ${sysctl('aio-max-nr')}, fs.aio-nr = ${sysctl('aio-nr')} in use) (EAGAIN)`;
    case ENOSYS:
      return 'the kernel has no Linux AIO (CONFIG_AIO off), or seccomp refuses io_setup (ENOSYS)';
    case ENOMEM:
      return 'the kernel could not allocate the AIO context (ENOMEM)';
    case EMFILE:
    case ENFILE:
      return `the process had no file descriptor to spare for the engine just then (${-errno === EMFILE ? 'EMFILE' : 'ENFILE'}); later contexts try again`;
    default:
      return `io_setup failed with errno ${-errno}`;
  }
}

export function createAioBackend(entries: number, sink: CompletionSink): EngineBackend {
  const addon = loadNative();
  const createAio = addon.createAio;
  if (!createAio) throw backendUnavailable('aio', `Linux AIO exists only on Linux (this is ${process.platform})`);
  const capacity = 2 * entries; // as many in flight as the io_uring backend allows
  return new EngineBackend(
    {
      name: 'aio',
      maxCompletions: capacity,
      create: (completions, handler) => createAio(capacity, completions, handler),
      // EAGAIN: RWF_NOWAIT would have blocked. EOPNOTSUPP: RWF_NOWAIT unsupported for this
      // file. EINVAL: an operation the file's driver does not support through AIO (fsync on
      // some filesystems, files without read_iter).
      fallbackErrors: new Set([EAGAIN, EOPNOTSUPP, EINVAL]),
      continueShortTransfers: true,
      bindsCredentials: false,
      metadata: false,
      currentPosition: false,
      shortWriteMayKeepPosition: false,
    },
    sink,
    (errno) => backendUnavailable('aio', describeAioFailure(errno), -errno === EMFILE || -errno === ENFILE),
  );
}
