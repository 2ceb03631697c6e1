/**
 * aiofs: truly asynchronous file I/O for Node.js, on io_uring where the kernel has it.
 */
import { createBackend } from './backend/select.js';
import type { BackendName } from './backend/backend.js';
import { IoContext } from './context.js';
import { validateBoolean, validateInteger, validateKnownKeys, validateObject } from './validate.js';
import { invalidArgValue } from './errors.js';

export { IoContext } from './context.js';
export type { ContextStats, OperationOptions } from './context.js';
export type { BackendName } from './backend/backend.js';
export { backends } from './backend/select.js';
export type { BackendInfo } from './backend/select.js';
export { AbortError } from './errors.js';
export { allocAligned } from './direct/aligned.js';
export type { SystemError, CodedError } from './errors.js';

/** Options of createContext(). */
export interface ContextOptions {
  /** Which backend to use; 'auto' (the default) takes the first that works of uring, aio, threads. */
  backend?: BackendName | 'auto';
  /** Submission queue size (uring: rounded up to a power of two; the completion queue is twice that). Default 256. */
  entries?: number;
  /** uring only: a kernel thread polls the submission queue (costs a core; see docs/backends.md). Default false. */
  sqpoll?: boolean;
  /** uring with sqpoll: milliseconds of idleness before that thread sleeps. Default 1000. */
  sqThreadIdle?: number;
}

const contextOptionKeys: ReadonlySet<string> = new Set(['backend', 'entries', 'sqpoll', 'sqThreadIdle']);
const backendChoices = ['auto', 'uring', 'aio', 'threads'];

/** Create an IoContext. Throws if an explicitly requested backend cannot run here, saying why. */
export function createContext(options?: ContextOptions): IoContext {
  const checked = validateObject(options, 'options') ?? {};
  validateKnownKeys(checked, contextOptionKeys, 'options');
  const backend = checked.backend ?? 'auto';
  if (typeof backend !== 'string' || !backendChoices.includes(backend)) {
    throw invalidArgValue('options.backend', backend, `must be one of ${backendChoices.join(', ')}`);
  }
  const entries = checked.entries === undefined ? 256 : validateInteger(checked.entries, 'options.entries', 1, 32768);
  const sqpoll = checked.sqpoll === undefined ? false : validateBoolean(checked.sqpoll, 'options.sqpoll');
  const sqThreadIdle =
    checked.sqThreadIdle === undefined ? 1000 : validateInteger(checked.sqThreadIdle, 'options.sqThreadIdle', 0, 2 ** 31 - 1);
  return new IoContext((sink) => createBackend(backend as BackendName | 'auto', { entries, sqpoll, sqThreadIdle }, sink));
}

let defaultContext: IoContext | undefined;

/**
 * One shared context with the automatic backend, created on first use. It does not keep the
 * process alive when idle, and is torn down with the process.
 */
export function getDefaultContext(): IoContext {
  if (!defaultContext || defaultContext.closed) defaultContext = createContext();
  return defaultContext;
}
