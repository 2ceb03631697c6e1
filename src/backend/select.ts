/**
 * Backend selection: which backends this machine has (probed for real, once per process), and
 * building the one a context asks for. `auto` tries uring, then aio, then threads; the
 * AIOFS_BACKEND environment variable overrides `auto`.
 */
import { environmentChoice } from '../environment.js';
import { performance } from 'node:perf_hooks';
import { backendUnavailable, isTransient, warnOnce } from '../errors.js';
import type { Backend, BackendName, CompletionSink } from './backend.js';
import { defaultThreadsCapacity, ThreadsBackend } from './threads.js';
import { createAioBackend } from './aio.js';
import { createUringBackend } from './uring.js';
import { nativeInfo } from '../native.js';

/** What `backends()` reports for each backend. */
export interface BackendInfo {
  name: BackendName;
  available: boolean;
  /** Why it is not available (absent when it is). */
  reason?: string;
}

/** The settings every backend factory receives. */
export interface BackendSettings {
  entries: number;
  sqpoll: boolean;
  sqThreadIdle: number;
}

export const backendNames: readonly BackendName[] = ['uring', 'aio', 'threads'];

const factories: Record<BackendName, (settings: BackendSettings, sink: CompletionSink) => Backend> = {
  uring: (settings, sink) => createUringBackend(settings, sink),
  aio: (settings, sink) => createAioBackend(settings.entries, sink),
  threads: (settings, sink) => new ThreadsBackend(Math.min(settings.entries, defaultThreadsCapacity()), sink),
};

const probeSink: CompletionSink = {
  complete() {
    throw new Error('a probe never starts a request');
  },
  adopt() {
    throw new Error('a probe never starts a request');
  },
};

let probed: BackendInfo[] | undefined;
/**
 * When an automatic choice last fell back past a backend that failed only for a moment (no fd to
 * spare: EMFILE): performance.now(), or undefined. The default context is then made again once a
 * second has passed (retryAutoChoice).
 */
let transientFallbackAt: number | undefined;

function reasonOf(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return message.replace(/^aiofs: the '\w+' backend is not available: /, '');
}

/**
 * Each backend, whether it works on this machine, and if not, why. Probed once per process; a
 * probe that failed only for a moment (no fd to spare) is not kept, and the next call asks again.
 */
export function backends(): BackendInfo[] {
  if (probed) return probed.map((info) => ({ ...info }));
  let lasting = true;
  const found = backendNames.map((name) => {
    try {
      factories[name]({ entries: 4, sqpoll: false, sqThreadIdle: 0 }, probeSink).close();
      return { name, available: true };
    } catch (error) {
      if (isTransient(error)) lasting = false;
      return { name, available: false, reason: reasonOf(error) };
    }
  });
  if (lasting) probed = found;
  return found.map((info) => ({ ...info }));
}

/**
 * Whether an automatic choice should be made again: the last one fell back past a backend that
 * failed only for a moment, at least a second ago.
 */
export function retryAutoChoice(): boolean {
  return transientFallbackAt !== undefined && performance.now() - transientFallbackAt >= 1000;
}

/** The backend AIOFS_BACKEND asks for, or 'auto' (warning once about a value we do not know). */
function fromEnvironment(): BackendName | 'auto' {
  return environmentChoice('AIOFS_BACKEND', ['auto', ...backendNames], 'auto', 'AIOFS_BAD_BACKEND', 'using auto');
}

/**
 * Build the backend `requested` names. An explicit name that cannot run here throws an error
 * saying why; `auto` takes the first that works.
 */
export function createBackend(requested: BackendName | 'auto', settings: BackendSettings, sink: CompletionSink): Backend {
  const name = requested === 'auto' ? fromEnvironment() : requested;
  if (name !== 'auto') return factories[name](settings, sink);
  const reasons: string[] = [];
  let transient = false;
  for (const candidate of backendNames) {
    if (probed?.find((info) => info.name === candidate)?.available === false) continue;
    try {
      const backend = factories[candidate](settings, sink);
      transientFallbackAt = transient ? performance.now() : undefined;
      if (candidate === 'threads' && !transient) warnIfAddonMissing();
      return backend;
    } catch (error) {
      if (isTransient(error)) transient = true;
      reasons.push(`${candidate}: ${reasonOf(error)}`);
    }
  }
  throw backendUnavailable('auto', reasons.join('; '));
}

/**
 * Once per process, on Linux only: 'auto' fell back to threads because the addon is missing or
 * does not load. That is a broken install (prebuilt binaries ship for Linux), and silently running
 * on the pool would give the user none of what they came for. A kernel that refuses io_uring and
 * AIO (a container's seccomp profile) is the machine's choice, not a fault, and stays quiet;
 * other platforms have no kernel engine to miss. `aiofs doctor` says the rest.
 */
function warnIfAddonMissing(): void {
  if (process.platform !== 'linux') return;
  const { error } = nativeInfo();
  if (error === undefined) return;
  warnOnce(
    'AIOFS_NO_ADDON',
    `aiofs runs every operation on the 'threads' backend (node:fs) because ${error.replace(/^aiofs: /, '')} ` +
      'Run `npx aiofs doctor` for details; AIOFS_BACKEND=threads chooses the pool on purpose and silences this.',
  );
}
