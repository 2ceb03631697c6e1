/**
 * Making contexts: createContext() validates its options and builds the backend they ask for;
 * getDefaultContext() is the one shared context of this thread (each worker has its own), made on
 * first use with the automatic backend, which aiofs/promises and files opened without a context use.
 */
import { type BackendName } from './backend/backend.js';
import { createBackend, retryAutoChoice } from './backend/select.js';
import { IoContext } from './context.js';
import { environmentChoice } from './environment.js';
import { invalidArgValue } from './errors.js';
import { parseClasses, type ClassOptions } from './sched/classes.js';
import { validateBoolean, validateInteger, validateKnownKeys, validateObject } from './validate.js';

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
  /**
   * Priority classes and their shares, e.g. `{ interactive: { shares: 1000 }, bulk: { shares: 100 } }`.
   * Operations name theirs with `{ class }`; 'default' (100 shares unless given) always exists.
   */
  classes?: Record<string, ClassOptions>;
}

const contextOptionKeys: ReadonlySet<string> = new Set(['backend', 'entries', 'sqpoll', 'sqThreadIdle', 'classes']);
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
  const classes = parseClasses(checked.classes);
  return new IoContext((sink) => createBackend(backend as BackendName | 'auto', { entries, sqpoll, sqThreadIdle }, sink), classes);
}

let defaultContext: IoContext | undefined;
/** The default context was made by getDefaultContext (not given by replaceDefaultContext). */
let madeHere = false;
/**
 * Whether AIOFS_SQPOLL asks the default context for a kernel thread polling its submission
 * queue: '1' yes, '0' or unset no; any other value warns once and means no.
 */
function sqpollFromEnvironment(): boolean {
  return environmentChoice('AIOFS_SQPOLL', ['1', '0'], '0', 'AIOFS_BAD_SQPOLL', 'the default context runs without a polling thread') === '1';
}

/**
 * One shared context with the automatic backend, created on first use (with `sqpoll` when
 * AIOFS_SQPOLL=1). It does not keep the process alive when idle, and is torn down with the process.
 */
export function getDefaultContext(): IoContext {
  if (!defaultContext || defaultContext.closed || (madeHere && defaultContext.backend === 'threads' && retryAutoChoice())) {
    // Made again when auto settled for the pool only because a better backend lacked an fd for
    // a moment: the old context has nothing to release, and its operations finish as they are.
    defaultContext = createContext({ sqpoll: sqpollFromEnvironment() });
    madeHere = true;
  }
  return defaultContext;
}

/** @internal For the test suite, which runs aiofs/promises once per backend. */
export function replaceDefaultContext(context: IoContext | undefined): void {
  defaultContext = context;
  madeHere = false;
}
