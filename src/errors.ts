/**
 * Every error aiofs raises is built here, so that each message and code lives in one place and
 * matches what Node.js itself would produce for the same mistake.
 */
import { constants } from 'node:buffer';
import { getSystemErrorMap, inspect } from 'node:util';

/** An error from the kernel, shaped like the ones node:fs produces. */
export interface SystemError extends Error {
  /** Symbolic name, e.g. `'ENOENT'`. */
  code: string;
  /** Negative errno, as in Node.js (`-2` for ENOENT). */
  errno: number;
  /** The system call that failed, e.g. `'read'`. */
  syscall: string;
  path?: string;
  dest?: string;
}

/** An error whose `code` says which rule the caller broke, as Node's own errors do. */
export interface CodedError extends Error {
  code: string;
}

let systemErrorMap: Map<number, [string, string]> | undefined;

/** The kernel's error `errno` (negative, or positive) as a Node-style error. */
export function systemError(errno: number, syscall: string, path?: string, dest?: string): SystemError {
  const negative = -Math.abs(errno);
  systemErrorMap ??= getSystemErrorMap();
  const [code, description] = systemErrorMap.get(negative) ?? [`Unknown system error ${negative}`, 'unknown error'];
  let message = `${code}: ${description}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  if (dest !== undefined) message += ` -> '${dest}'`;
  const error = new Error(message) as SystemError;
  error.errno = negative;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  if (dest !== undefined) error.dest = dest;
  return error;
}

/** Node's AbortError: `name === 'AbortError'`, `code === 'ABORT_ERR'`, the signal's reason as `cause`. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

function coded<E extends Error>(error: E, code: string): E & CodedError {
  const result = error as E & CodedError;
  result.code = code;
  // Node's stacks read `TypeError [ERR_X]: message`: V8 formats the stack on first access, with
  // the name it has then; afterwards the name is the plain class name again.
  Object.defineProperty(result, 'name', { value: `${error.name} [${code}]`, configurable: true });
  void result.stack;
  delete (result as { name?: string }).name;
  return result;
}

/** How Node describes a received value at the end of an argument error. */
function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${show(value)}`;
  }
  let shown = show(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

function formatList(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' or ');
  return `${items.slice(0, -1).join(', ')}, or ${items[items.length - 1]}`;
}

/** `ERR_INVALID_ARG_TYPE`: `name` should have been one of `expected` (types or class names). */
export function invalidArgType(name: string, expected: readonly string[], actual: unknown): TypeError & CodedError {
  const what = name.includes('.') ? `"${name}" property` : `"${name}" argument`;
  const types = expected.filter((e) => e[0] === e[0].toLowerCase());
  const classes = expected.filter((e) => e[0] !== e[0].toLowerCase());
  const parts: string[] = [];
  if (types.length) parts.push(`of type ${formatList(types)}`);
  if (classes.length) parts.push(`an instance of ${formatList(classes)}`);
  return coded(new TypeError(`The ${what} must be ${parts.join(' or ')}.${describeReceived(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

/** inspect(), except that values it cannot show (a detached DataView throws) get their class name. */
function show(value: unknown): string {
  try {
    return inspect(value, { depth: 0, breakLength: Infinity });
  } catch {
    return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  }
}

/** `ERR_INVALID_ARG_VALUE`: the type is right but the value is not acceptable. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError & CodedError {
  const what = name.includes('.') ? 'property' : 'argument';
  return coded(new TypeError(`The ${what} '${name}' ${reason}. Received ${show(value)}`), 'ERR_INVALID_ARG_VALUE');
}

/** `ERR_OUT_OF_RANGE`, worded as Node does: `It must be >= 0 && <= 2147483647. Received -1`. */
export function outOfRange(name: string, range: string, received: unknown): RangeError & CodedError {
  let shown = typeof received === 'bigint' ? `${received}n` : show(received);
  if (typeof received === 'number' && Number.isInteger(received) && Math.abs(received) > 2 ** 32) {
    shown = String(received).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  }
  return coded(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** `ERR_FS_FILE_TOO_LARGE`: readFile of a file over 2 GiB, which no Buffer of Node's can hold. */
export function fileTooLarge(size: number): RangeError & CodedError {
  return coded(new RangeError(`File size (${size}) is greater than 2 GiB`), 'ERR_FS_FILE_TOO_LARGE');
}

/** Node 26 and later: a FileHandle left for the garbage collector to close is an error. */
export function closedOnGarbageCollection(fd: number, path: string | undefined): Error & CodedError {
  const where = path === undefined ? `${fd}` : `${fd} (${path})`;
  return coded(
    new Error(
      'A FileHandle object was closed during garbage collection. This used to be allowed with a deprecation warning but is now considered an error. ' +
        `Please close FileHandle objects explicitly. File descriptor: ${where}`,
    ),
    'ERR_INVALID_STATE',
  );
}

/** `ERR_INVALID_THIS`: a method called on something that is not its class's instance. */
export function invalidThis(type: string): TypeError & CodedError {
  return coded(new TypeError(`Value of "this" must be of type ${type}`), 'ERR_INVALID_THIS');
}

/** `ERR_INVALID_STATE`: the object cannot do this any more (a closed context, for one). */
export function invalidState(what: string): Error & CodedError {
  return coded(new Error(`Invalid state: ${what}`), 'ERR_INVALID_STATE');
}

/** A backend that was asked for by name but cannot run here; `reason` says why. */
export function backendUnavailable(name: string, reason: string, transient = false): Error & CodedError & { transient: boolean } {
  const error = coded(new Error(`aiofs: the '${name}' backend is not available: ${reason}`), 'ERR_AIOFS_BACKEND_UNAVAILABLE') as Error & CodedError & { transient: boolean };
  error.transient = transient;
  return error;
}

/**
 * The compiled addon could not be loaded; `detail` names where we looked and what failed.
 * `transient`: the process lacked something for a moment (a file descriptor, memory), and a
 * later try may load it.
 */
export function nativeUnavailable(detail: string, transient = false): Error & CodedError & { transient: boolean } {
  const error = coded(new Error(`aiofs: the native addon could not be loaded: ${detail}`), 'ERR_AIOFS_NATIVE') as Error & CodedError & { transient: boolean };
  error.transient = transient;
  return error;
}

/** Whether an error says the process lacked a resource for a moment (EMFILE, ENFILE): a later try may succeed. */
export function isTransient(error: unknown): boolean {
  return (error as { transient?: unknown })?.transient === true;
}

/**
 * An operation on a file that was closed: exactly what Node's FileHandle raises, an Error with
 * message "file closed", `code` EBADF and `syscall`, and (as there) no `errno`.
 */
export function fileClosed(syscall: string): CodedError & { syscall: string } {
  const error = new Error('file closed') as CodedError & { syscall: string };
  error.code = 'EBADF';
  error.syscall = syscall;
  return error;
}

/**
 * An operation the file's open mode does not allow (a write to a file opened 'r'): refused before
 * any I/O with the errno the kernel would have given, `EBADF`, and a message that says why.
 */
export function modeForbids(syscall: string, path: string, mode: string, what: 'readable' | 'writable'): SystemError {
  const error = systemError(-9, syscall, path);
  error.message = `EBADF: file opened with mode '${mode}' is not ${what}, ${syscall} '${path}'`;
  return error;
}

/**
 * A direct (O_DIRECT) transfer that breaks the file's alignment: `ERR_OUT_OF_RANGE`, naming the
 * required multiple and the offending value, instead of the kernel's bare EINVAL. `what` is
 * 'address' or 'length' of a buffer, or 'value' of an offset.
 */
export function misaligned(what: 'address' | 'length' | 'value', name: string, alignment: number, kind: 'memory' | 'offset', received: number): RangeError & CodedError {
  // JavaScript never sees addresses: for one, `received` is how far past a multiple it lies.
  const shown = what === 'address' ? `an address ${received} bytes past a multiple` : String(received);
  const error = coded(
    new RangeError(
      `The ${what} of "${name}" is out of range. It must be a multiple of ${alignment} ` +
        `(the O_DIRECT ${kind} alignment of this file). Received ${shown}`,
    ),
    'ERR_OUT_OF_RANGE',
  );
  return error;
}

/** `direct: true` on a file whose filesystem (or platform) refuses O_DIRECT. */
export function directUnsupported(errno: number, path: string): SystemError {
  const error = systemError(errno, 'open', path);
  error.message = `${error.code}: direct I/O (O_DIRECT) is not supported for this file, open '${path}'`;
  return error;
}

/** `ERR_STRING_TOO_LONG`, Node's error for text beyond V8's string length limit (a line of 512 MiB). */
export function stringTooLong(): Error & CodedError {
  return coded(new Error(`Cannot create a string longer than 0x${constants.MAX_STRING_LENGTH.toString(16)} characters`), 'ERR_STRING_TOO_LONG');
}

const warned = new Set<string>();

/**
 * Emit a warning with `code`, once per code: once per process, and once per worker thread (each
 * has its own instance of this module), so that a setting read per context does not flood.
 */
export function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { code });
}
