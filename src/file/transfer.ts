/**
 * Whole transfers on top of IoContext's single ones, for every layer that needs "all of it"
 * (AIOFile, the FileHandle of aiofs/promises, aiofs cp): reads continue after short counts until
 * the view is full or the file ends; writes continue after short counts until everything is
 * written, and a write that keeps moving nothing is an error rather than a loop. Views come
 * validated; their memory is read through views.ts, never through their own getters.
 */
import fs from 'node:fs';
import { constants } from 'node:os';
import { type IoContext, readNow } from '../context.js';
import { systemError } from '../errors.js';
import { CURRENT_POSITION, IOV_MAX } from '../limits.js';
import type { PositionalFile } from '../positional.js';
import { seekFd } from '../native.js';
import { byteLengthOf, bytesAfter, bytesFrom } from '../views.js';

const { ENOSYS, ESPIPE } = constants.errno;

/**
 * The PositionalFile of a buffered fd (a direct one's is file/direct-io.ts). Whether the fd is a
 * stream is found on first asking; a stream's transfers run in call order at its own position.
 */
export function bufferedIo(context: IoContext, fd: number): PositionalFile {
  let stream: boolean | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(transfer: () => Promise<T>): Promise<T> => {
    const settled = tail.then(transfer, transfer);
    tail = settled.catch(ignore);
    return settled;
  };
  const isStreamed = () => (stream ??= isStream(fd));
  return {
    readInto: (view, position) => (isStreamed() ? inTurn(() => readFully(context, fd, view, null)) : readFully(context, fd, view, position)),
    readvInto: (views, position) => (isStreamed() ? inTurn(() => readEachFully(context, fd, views)) : readvFully(context, fd, views, position)),
    writeAt: (bytes, position) => (isStreamed() ? inTurn(() => writeFully(context, fd, bytes, null)) : writeFully(context, fd, bytes, position)),
    allocate: (size) => Buffer.allocUnsafe(size),
    get stream() {
      return isStreamed();
    },
  };
}

const ignore = () => {};

/** Fill `views` in order from a stream, one after another; fewer bytes than their total only at its end. */
async function readEachFully(context: IoContext, fd: number, views: Uint8Array[]): Promise<number> {
  let total = 0;
  for (const view of views) {
    const n = await readFully(context, fd, view, null);
    total += n;
    if (n < view.length) break;
  }
  return total;
}

/**
 * Whether `fd` has no position (a pipe, a FIFO, a socket, a terminal; PositionalFile.stream).
 * lseek(2) says so (ESPIPE) at once, waiting on nothing; without the addon (off Linux), fstat
 * does, counting character devices in.
 */
export function isStream(fd: number): boolean {
  const at = seekFd(fd, 0, 1);
  if (at !== -ENOSYS) return at === -ESPIPE;
  try {
    const stats = fs.fstatSync(fd);
    return stats.isFIFO() || stats.isSocket() || stats.isCharacterDevice();
  } catch {
    return false; // a closed fd: the transfer itself says EBADF
  }
}

/**
 * `position` moved on by `done` bytes: a bigint past 2^53, where a number would lose bytes. (A
 * file opened to append takes writes at any position, and the kernel leaves it to the caller to
 * go on from there, as libuv does for Node.)
 */
function advanced(position: number, done: number): number | bigint {
  const next = position + done;
  return next <= Number.MAX_SAFE_INTEGER ? next : BigInt(position) + BigInt(done);
}

/** A write that makes no progress this many times in a row is an error, not a loop. */
const MAX_ZERO_WRITES = 3;
const EIO = 5;

/**
 * Fill `view` from `position` (null: from the file's own position, which each read moves);
 * resolves with the bytes read, fewer than its length only at end of file.
 */
export function readFully(context: IoContext, fd: number, view: ArrayBufferView, position: number | null): Promise<number> {
  return readFullyThen(context, fd, view, position ?? CURRENT_POSITION, identity);
}

const identity = (n: number): number => n;

/**
 * readFully(...).then(done, failed) with one promise reaction over the context's read rather
 * than two, for the layers whose every read comes this way (FileHandle.read, AIOFile.readInto):
 * the first read is the common whole one, and a short one continues before `done` runs. A first
 * read that finished inside the call (a page-cache hit) runs `done` at once, and the promise
 * returned is settled already.
 */
export function readFullyThen<R>(
  context: IoContext,
  fd: number,
  view: ArrayBufferView,
  position: number,
  done: (n: number) => R,
  failed?: (error: unknown) => never,
): Promise<Awaited<R>> {
  const length = byteLengthOf(view);
  if (length === 0) return Promise.resolve(0).then(done, failed) as Promise<Awaited<R>>;
  return readOnThen(context, fd, view, position, context[readNow](fd, view, position), done, failed);
}

/**
 * The rest of readFullyThen once the first read of `view` was asked for (`first`, as
 * IoContext[readNow] gives it), for callers that look at a first read finished already.
 */
export function readOnThen<R>(
  context: IoContext,
  fd: number,
  view: ArrayBufferView,
  position: number,
  first: number | Promise<number>,
  done: (n: number) => R,
  failed?: (error: unknown) => never,
): Promise<Awaited<R>> {
  const length = byteLengthOf(view);
  if (typeof first !== 'number') {
    return first.then((n) => (n === 0 || n >= length ? done(n) : readRest(context, fd, view, position, n).then(done, failed)), failed) as Promise<Awaited<R>>;
  }
  // Read already (a page-cache hit): the result now, one promise and one reaction fewer.
  if (first !== 0 && first < length) return readRest(context, fd, view, position, first).then(done, failed) as Promise<Awaited<R>>;
  try {
    return Promise.resolve(done(first)) as Promise<Awaited<R>>;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `position` CURRENT_POSITION: each read from the file's own position. */
async function readRest(context: IoContext, fd: number, view: ArrayBufferView, position: number, done: number): Promise<number> {
  const bytes = bytesFrom(view, 0);
  while (done < bytes.length) {
    const n = await context.read(fd, bytes.subarray(done), position === CURRENT_POSITION ? null : advanced(position, done));
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Fill `views` (at most IOV_MAX) in order from `position` with one vectored read, continuing
 * after a short count until all are full or the file ends; resolves with the bytes read in all.
 */
export function readvFully(context: IoContext, fd: number, views: Uint8Array[], position: number): Promise<number> {
  let total = 0;
  for (const view of views) total += view.length;
  if (total === 0) return Promise.resolve(0);
  return context.readv(fd, views, position).then((n) => (n === 0 || n >= total ? n : readvRest(context, fd, views, position, n, total)));
}

async function readvRest(context: IoContext, fd: number, views: Uint8Array[], position: number, done: number, total: number): Promise<number> {
  while (done < total) {
    const n = await context.readv(fd, bytesAfter(views, done), advanced(position, done));
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Write all of `bytes` at `position` (null: at the file's own position, which each write moves);
 * resolves with its length, or rejects with what stopped it.
 */
export function writeFully(context: IoContext, fd: number, bytes: Uint8Array, position: number | null): Promise<number> {
  if (bytes.length === 0) return Promise.resolve(0);
  return context.write(fd, bytes, position).then((n) => (n >= bytes.length ? n : writeRest(context, fd, bytes, position, n)));
}

async function writeRest(context: IoContext, fd: number, bytes: Uint8Array, position: number | null, done: number): Promise<number> {
  let stalls = done === 0 ? 1 : 0;
  while (done < bytes.length) {
    const n = await context.write(fd, bytes.subarray(done), position === null ? null : advanced(position, done));
    if (n === 0 && ++stalls >= MAX_ZERO_WRITES) throw systemError(-EIO, 'write');
    if (n > 0) stalls = 0;
    done += n;
  }
  return done;
}

/**
 * Write every byte of `views` in order at `position` (null: at the file's own position), however
 * many views there are: the kernel takes IOV_MAX of them per call, and a call may stop short;
 * each call after the first starts where the one before stopped (libuv writes Node's writev so).
 * Resolves with the bytes written in all; rejects with what stopped it only if nothing was
 * written (a full disk or a file size limit after some bytes: those bytes, as libuv answers).
 */
export async function writevFully(context: IoContext, fd: number, views: readonly ArrayBufferView[], position: number | null): Promise<number> {
  let rest = views;
  let total = 0;
  let stalls = 0;
  while (rest.length > 0) {
    const batch = rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest;
    let wanted = 0;
    for (const view of batch) wanted += byteLengthOf(view);
    let n: number;
    try {
      n = wanted === 0 ? 0 : await context.writev(fd, batch as ArrayBufferView[], position === null ? null : advanced(position, total));
    } catch (error) {
      if (total > 0) return total;
      throw error;
    }
    if (wanted > 0 && n === 0 && ++stalls >= MAX_ZERO_WRITES) throw systemError(-EIO, 'write');
    if (n > 0) stalls = 0;
    total += n;
    rest = n >= wanted ? rest.slice(batch.length) : [...bytesAfter(batch, n), ...rest.slice(batch.length)];
  }
  return total;
}
