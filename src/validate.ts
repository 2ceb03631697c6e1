/**
 * Argument checks run before anything reaches a backend. Each throws the error Node would throw
 * for the same mistake (see errors.ts); each returns the normalised value.
 */
import { constants as fsConstants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { CURRENT_POSITION } from './limits.js';
import { isTypedArray } from './views.js';

const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;

/*
 * Each check below accepts the valid case in a few comparisons and leaves the errors to a function
 * of their own. The checks sit on every operation's path, and the optimising compiler inlines a
 * caller's callees only up to a budget of their size: error paths inlined there (template strings,
 * error objects) crowd out what follows (the request, the dispatcher's start)
 * (docs/benchmarks.md, "Measurements the code relies on").
 */

export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value === 'number' && value >= min && value <= max && Number.isInteger(value)) return value;
  return invalidInteger(value, name, min, max);
}

function invalidInteger(value: unknown, name: string, min: number, max: number): never {
  if (typeof value !== 'number') throw invalidArgType(name, ['number'], value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

/** A file descriptor: an int32 >= 0. */
export function validateFd(fd: unknown): number {
  return validateInteger(fd, 'fd', 0, INT32_MAX);
}

/** A file offset: a non-negative safe integer, or a non-negative bigint below 2^63. */
export function validateOffset(offset: unknown, name = 'offset'): number | bigint {
  if (offset === undefined) return 0;
  if (typeof offset === 'number' && offset >= 0 && offset <= Number.MAX_SAFE_INTEGER && Number.isInteger(offset)) return offset;
  return otherOffset(offset, name);
}

/** A transfer's position: an offset as validateOffset takes it, or null for the file's own position (CURRENT_POSITION). */
export function validatePosition(position: unknown): number | bigint {
  return position === null ? CURRENT_POSITION : validateOffset(position);
}

/** validateOffset for a bigint, or an invalid offset. */
function otherOffset(offset: unknown, name: string): number | bigint {
  if (typeof offset === 'bigint') {
    if (offset < 0n || offset > INT64_MAX) throw outOfRange(name, `>= 0n && <= ${INT64_MAX}n`, offset);
    return offset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(offset) : offset;
  }
  if (typeof offset !== 'number') throw invalidArgType(name, ['number', 'bigint'], offset);
  if (!Number.isInteger(offset)) throw outOfRange(name, 'an integer', offset);
  throw outOfRange(name, `>= 0 && <= ${Number.MAX_SAFE_INTEGER}`, offset);
}

function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer); // throws only on a detached buffer (of any realm; a shared one never is)
    return false;
  } catch {
    return true;
  }
}

/** Any ArrayBufferView whose memory is still there (not detached). */
export function validateBuffer(buffer: unknown, name = 'buffer'): ArrayBufferView {
  // A typed array with bytes (a detached one has none; a DataView's byteLength would throw then).
  if (isTypedArray(buffer) && buffer.byteLength !== 0) return buffer;
  return otherBuffer(buffer, name);
}

/** validateBuffer for an empty typed array, a DataView, or no view at all. */
function otherBuffer(buffer: unknown, name: string): ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) throw invalidArgType(name, ['Buffer', 'TypedArray', 'DataView'], buffer);
  let length: number;
  try {
    length = buffer.byteLength; // a DataView over a detached buffer throws here
  } catch {
    throw invalidArgValue(name, buffer, 'is backed by a detached ArrayBuffer');
  }
  if (length === 0 && isDetached(buffer.buffer)) {
    throw invalidArgValue(name, buffer, 'is backed by a detached ArrayBuffer');
  }
  return buffer;
}

export function validateBufferArray(buffers: unknown, name = 'buffers'): ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType(name, ['Array'], buffers);
  for (let i = 0; i < buffers.length; i++) validateBuffer(buffers[i], `${name}[${i}]`);
  return buffers as ArrayBufferView[];
}

export function validateObject(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, ['object'], value);
  }
  return value as Record<string, unknown>;
}

/** Rejects any own key of `options` that is not in `known`. */
export function validateKnownKeys(options: Record<string, unknown>, known: ReadonlySet<string>, name: string): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw invalidArgValue(`${name}.${key}`, options[key], 'is not a known option');
  }
}

export function validateSignal(signal: unknown, name: string): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw invalidArgType(name, ['AbortSignal'], signal);
  return signal;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, ['boolean'], value);
  return value;
}

/**
 * A path as node:fs takes it (string, Buffer or Uint8Array, a file: URL or an object node:fs
 * reads as one), with node:fs's errors; as the engines take it (`bytes`: a string, which the addon
 * writes as UTF-8 as Buffer.from would, or the bytes of any other form) and as text for messages.
 */
export function validatePath(path: unknown, name = 'path'): { bytes: string | Buffer; text: string } {
  if (typeof path === 'string') {
    // The common case, passed on as it is: encoding it here would make a Buffer per call for the
    // addon to copy again. A NUL byte is a NUL character.
    if (path.includes('\0')) throw invalidArgValue(name, path, 'must be a string, Uint8Array, or URL without null bytes');
    return { bytes: path, text: path };
  }
  if (isUrlLike(path)) {
    // node:url's own conversion, with its errors (another scheme, an encoded slash, a host).
    return validatePath(fileURLToPath(path as URL), name);
  }
  if (!(path instanceof Uint8Array)) throw invalidArgType(name, ['string', 'Buffer', 'URL'], path);
  validateBuffer(path, name); // a detached one is refused here, with a code
  const bytes = Buffer.from(path.buffer, path.byteOffset, path.byteLength);
  if (bytes.includes(0)) throw invalidArgValue(name, path, 'must be a string, Uint8Array, or URL without null bytes');
  return { bytes, text: bytes.toString() };
}

/** What node:fs reads as a URL (a URL, or any object shaped like one), as its own check does. */
function isUrlLike(value: unknown): boolean {
  if (value instanceof URL) return true;
  const url = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null | undefined;
  return Boolean(url?.href && url.protocol && url.auth === undefined && url.path === undefined);
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC } = fsConstants;

/** node:fs's string flags ('r', 'wx+', 'as'...) as numbers; numbers pass through. */
const stringFlags: Record<string, number> = {
  r: O_RDONLY,
  rs: O_RDONLY | O_SYNC,
  sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY,
  wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR,
  'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY,
  ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR,
  'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
  'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

export function validateOpenFlags(flags: unknown, name = 'flags'): number {
  if (flags === undefined || flags === null) return O_RDONLY;
  if (typeof flags === 'number') return validateInteger(flags, name, -(2 ** 31), 2 ** 31 - 1);
  if (typeof flags === 'string' && Object.hasOwn(stringFlags, flags)) return stringFlags[flags];
  throw invalidArgValue(name, flags);
}

/** Whether `flags` is one of node:fs's string flags ('r', 'wx+', 'as'...). */
export function isStringFlag(flags: string): boolean {
  return Object.hasOwn(stringFlags, flags);
}

/**
 * A permission mode: an integer, or an octal string as node:fs accepts ('644'), with Node's
 * errors; and, unlike node:fs, refused from 2^31 up: Node's validation takes those and its binding
 * then aborts the process (an int32 assertion in open, mkdir, chmod, fchmod, writeFile).
 */
export function validateMode(mode: unknown, name: string, fallback: number): number {
  if (mode === undefined || mode === null) return fallback;
  if (typeof mode === 'string') {
    if (!/^[0-7]+$/.test(mode)) throw invalidArgValue(name, mode, 'must be a 32-bit unsigned integer or an octal string');
    mode = Number.parseInt(mode, 8);
  }
  const checked = validateInteger(mode, name, 0, 2 ** 32 - 1);
  if (checked > INT32_MAX) throw outOfRange(name, `>= 0 && <= ${INT32_MAX}`, mode);
  return checked;
}

/**
 * `mode` as node:fs may be given it without aborting the process: -0 as 0 (its binding's int32
 * check fails on -0), and from 2^31 up refused as validateMode refuses it; any other value is
 * node:fs's to answer, and is returned as it is.
 */
export function nodeSafeMode(mode: unknown, name = 'mode'): unknown {
  if (Object.is(mode, -0)) return 0;
  const value = typeof mode === 'string' && /^[0-7]+$/.test(mode) ? Number.parseInt(mode, 8) : mode;
  if (typeof value === 'number' && Number.isInteger(value) && value > INT32_MAX && value <= 2 ** 32 - 1) validateMode(mode, name, 0);
  return mode;
}

/**
 * Options of writeFile, appendFile, readFile or mkdir as node:fs may be given them: a copy with
 * nodeSafeMode's mode and a flag of -0 as 0 where they differ, else the options themselves.
 */
export function nodeSafeOptions<T>(options: T): T {
  if (options === null || typeof options !== 'object') return options;
  const { mode, flag } = options as { mode?: unknown; flag?: unknown };
  const safeMode = nodeSafeMode(mode);
  if (safeMode === mode && !Object.is(flag, -0)) return options;
  return { ...options, mode: safeMode, ...(Object.is(flag, -0) && { flag: 0 }) };
}
