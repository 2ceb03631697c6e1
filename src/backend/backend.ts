/**
 * The one interface every backend implements, and the request it carries. The context
 * (src/context.ts) validates arguments, queues, enforces the in-flight cap and settles promises;
 * a backend only moves requests to its kernel interface and reports each result.
 */

import { byteLengthOf } from '../views.js';
import type { Meta } from './metadata.js';
import type { Op } from './op.js';

export type BackendName = 'uring' | 'aio' | 'threads';

export { Op, syscallOf } from './op.js';

export const enum RequestState {
  Queued,
  Started,
  Done,
}

/**
 * One operation from the moment it is accepted until its promise settles. It travels down the
 * layers and its result comes back up, so each layer keeps its bookkeeping on it, on purpose: one
 * object per operation, its shape fixed, rather than a map lookup per layer on the path every
 * read takes. Whose each field is (only its owner writes it):
 *   the operation (set by the context, read by all): op, fd, data, offset, signal, meta,
 *     priorityClass (which the fair queue orders by)
 *   the dispatcher's: state, resolve, reject, onAbort, acceptedAt; abortRequested, which it sets
 *     before calling Backend.cancel and backends read (an abort must not be retried on the pool)
 *   the fair queue's: tag
 *   the backend's: slot, continues
 */
export const enum Settled {
  Not,
  Resolved,
  Rejected,
}

export class Request {
  state = RequestState.Queued;
  /** The backend's handle for a started request (a ring slot, say); -1 before. */
  slot = -1;
  /** Set once an abort was asked for; the result decides whether it won. */
  abortRequested = false;
  resolve!: (result: number) => void;
  reject!: (error: Error) => void;
  /**
   * How it settled before its caller had a promise (see Dispatcher.submit): Settled.Not, or
   * resolved or rejected with `outcome`.
   */
  settled = Settled.Not;
  outcome: unknown = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** Metadata operations only. */
  meta: Meta | undefined = undefined;
  /**
   * Settle a failure with its negative errno rather than an Error: for the library's own callers
   * that expect a failure routinely (a full socket's EAGAIN in the middle of a spliced body),
   * where building an Error and its stack trace costs more than the operation. An abort still
   * rejects with an AbortError.
   */
  resolvesErrno = false;
  /** Index of its priority class in the context (0: 'default'). */
  priorityClass = 0;
  /** Its start tag in the fair queue's virtual time. */
  tag = 0;
  /** performance.now() when it was accepted, if it is timed for the latency statistics; else -1. */
  acceptedAt = -1;
  /**
   * A backend's own follow-up of a transfer that stopped short (see EngineBackend): the request it
   * continues and the bytes done so far. Never seen by the context.
   */
  continues: { request: Request; done: number } | undefined = undefined;
  /**
   * A write at the file's own position on an engine whose short writes may leave that position
   * behind (EngineSpec.shortWriteMayKeepPosition): the position before it, for the repair; -1
   * when not recorded.
   */
  positionBefore = -1;

  constructor(
    readonly op: Op,
    /** The file of a data operation (-1 for a metadata operation: `meta` names its own). */
    readonly fd: number,
    /** The memory: one view for read/write, a list for readv/writev, null for syncs. */
    readonly data: ArrayBufferView | ArrayBufferView[] | null,
    readonly offset: number | bigint,
    readonly signal: AbortSignal | undefined,
  ) {}

  /** The bytes of its memory, all views counted (what the kernel moves may be less: see limits.ts). */
  byteLength(): number {
    const data = this.data;
    if (data === null) return 0;
    if (!Array.isArray(data)) return byteLengthOf(data);
    let sum = 0;
    for (const view of data) sum += byteLengthOf(view);
    return sum;
  }
}

/** Receives every result: a byte count (>= 0) or a negative errno. */
export interface CompletionSink {
  complete(request: Request, result: number): void;
  /**
   * The Request of a transfer Backend.startNow gave to the kernel and did not finish with a
   * success inside the call: made and counted as started by the dispatcher, whose caller gets
   * its promise. The backend then keeps it as any request it started.
   */
  adopt(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint): Request;
}

/** What Backend.startNow answers when it does not answer a byte count. */
export const enum StartNow {
  /** Not started: the caller makes a Request and offers it to start(). */
  Declined = -1,
  /** Started, and its Request (from CompletionSink.adopt) settles as any other. */
  Adopted = -2,
}

export interface Backend {
  readonly name: BackendName;
  /** The most requests this backend may have started and not yet completed. */
  readonly capacity: number;
  /**
   * Start `request`. Its result reaches the sink exactly once, possibly before start() returns
   * (a page-cache hit submitted and reaped at once). Returns false when the backend has no room
   * right now: the caller keeps the request queued and offers it again after the next completion.
   */
  start(request: Request): boolean;
  /**
   * A read or write of one view with no signal, offered when nothing waits and there is room:
   * the hot path of a program that runs one transfer at a time. Where the backend can, it starts
   * the transfer and finishes it inside this call (a page-cache hit), and answers its byte count:
   * the operation is over, no Request was made and nothing reaches the sink. Otherwise it
   * answers StartNow.Adopted (it started the transfer and took its Request from
   * CompletionSink.adopt) or StartNow.Declined (nothing happened). Optional: a backend without
   * it is offered a Request through start().
   */
  startNow?(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint): number;
  /**
   * Register `buffers` with the kernel for fixed-buffer transfers (an empty array drops the
   * registration): 0, or a negative errno (-EOPNOTSUPP where the backend has no such thing,
   * -EBUSY with anything in flight, -ENOMEM past the memlock limit).
   */
  registerBuffers(buffers: ArrayBufferView[]): number;
  /**
   * Ask for a started request to be cancelled. It still completes through the sink: with
   * -ECANCELED if the cancel won, with its real result if the operation finished first.
   */
  cancel(request: Request): void;
  /** Release everything. Called once, with nothing in flight. */
  close(): void;
}
