/**
 * A read or write the kernel stopped short (RWF_NOWAIT on Linux AIO, rather than block; or a
 * transfer past MAX_RW_COUNT): what it was asked to move, and the rest of it as a request of its
 * own, which the engine backend finishes on the thread pool and adds up (engine.ts).
 */
import { CURRENT_POSITION, IOV_MAX, MAX_RW_COUNT } from '../limits.js';
import { byteLengthOf, bytesAfter, bytesFrom } from '../views.js';
import { Request } from './backend.js';

/** The part of `request` after its first `done` bytes, as a request of its own (at the file's own position, moved by them, if it was). */
export function remainder(request: Request, done: number): Request {
  const offset =
    typeof request.offset === 'bigint' ? request.offset + BigInt(done) : request.offset === CURRENT_POSITION ? CURRENT_POSITION : request.offset + done;
  if (!Array.isArray(request.data)) {
    return new Request(request.op, request.fd, bytesFrom(request.data!, done), offset, undefined);
  }
  return new Request(request.op, request.fd, bytesAfter(request.data.slice(0, IOV_MAX), done), offset, undefined);
}

/** What the kernel was asked to move: at most IOV_MAX views and MAX_RW_COUNT bytes. */
export function requestedBytes(request: Request): number {
  if (request.data === null) return 0;
  if (!Array.isArray(request.data)) return Math.min(byteLengthOf(request.data), MAX_RW_COUNT);
  let sum = 0;
  for (let i = 0; i < request.data.length && i < IOV_MAX; i++) sum += byteLengthOf(request.data[i]);
  return Math.min(sum, MAX_RW_COUNT);
}
