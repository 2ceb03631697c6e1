/**
 * The io_uring backend. Requests become SQEs through one native call each; everything prepared
 * in the same tick reaches the kernel in one io_uring_enter (a microtask flushes the queue); and
 * completions come back in batches through a shared Int32Array of (slot, result) pairs, either
 * right after that enter (a page-cache hit is already done) or from the ring fd on the loop.
 */
import { constants } from 'node:os';
import { loadNative, type NativeEngine } from '../native.js';
import { backendUnavailable } from '../errors.js';
import { type Backend, type CompletionSink, Op, type Request } from './backend.js';

const { EBUSY, EAGAIN } = constants.errno;

/**
 * Page-cache hits complete inside io_uring_enter, so a loop of `await ctx.read()` could go on in
 * microtasks forever and starve timers and sockets. After this many flushes within one turn of
 * the event loop, the next flush waits for the loop's check phase instead.
 */
const INLINE_FLUSHES_PER_TURN = 256;

export interface UringOptions {
  entries: number;
  sqpoll: boolean;
  sqThreadIdle: number;
}

/** Why io_uring_setup failed, in words a user can act on. */
export function describeUringFailure(errno: number): string {
  switch (-errno) {
    case constants.errno.ENOSYS:
      return 'the kernel has no usable io_uring (needs Linux 5.6 or later; seccomp may also refuse it) (ENOSYS)';
    case constants.errno.EPERM:
      return 'io_uring is not permitted here (sysctl kernel.io_uring_disabled, or a seccomp/container policy) (EPERM)';
    case constants.errno.ENOMEM:
      return 'the kernel could not allocate the ring (locked-memory limit, see ulimit -l) (ENOMEM)';
    case constants.errno.EINVAL:
      return 'the kernel refused the ring parameters (EINVAL)';
    default:
      return `io_uring_setup failed with errno ${-errno}`;
  }
}

export class UringBackend implements Backend {
  readonly name = 'uring' as const;
  readonly capacity: number;
  private readonly engine: NativeEngine;
  private readonly completions: Int32Array;
  /** Started requests by slot; null marks a slot held by a cancel request. */
  private readonly requests: (Request | null | undefined)[];
  private readonly freeSlots: number[];
  /** Requests whose cancel waits for a free slot. */
  private readonly cancelBacklog: Request[] = [];
  private flushScheduled = false;
  private inlineFlushes = 0;
  private turnResetScheduled = false;
  private retryScheduled = false;
  private reaping = false;

  constructor(
    options: UringOptions,
    private readonly sink: CompletionSink,
  ) {
    const addon = loadNative();
    if (!addon.createUring) throw backendUnavailable('uring', 'this platform has no io_uring');
    // The kernel rounds the SQ up to a power of two and gives the CQ twice as many entries.
    const cqEntries = 2 * 2 ** Math.ceil(Math.log2(options.entries));
    this.completions = new Int32Array(2 * cqEntries);
    const engine = addon.createUring(options.entries, options.sqpoll, options.sqThreadIdle, this.completions, this.onCompletions);
    if (typeof engine === 'number') throw backendUnavailable('uring', describeUringFailure(engine));
    this.engine = engine;
    this.capacity = engine.capacity;
    this.requests = new Array(this.capacity).fill(undefined);
    this.freeSlots = Array.from({ length: this.capacity }, (_, i) => this.capacity - 1 - i);
  }

  start(request: Request): boolean {
    const slot = this.freeSlots.pop();
    if (slot === undefined) return false;
    let result = this.prep(request, slot);
    if (result === -EBUSY) {
      // The submission queue is full: hand it to the kernel now and try once more.
      this.engine.submit();
      result = this.prep(request, slot);
    }
    if (result === -EBUSY) {
      this.freeSlots.push(slot);
      this.scheduleRetry();
      return false;
    }
    request.slot = slot;
    if (result < 0) {
      // Refused before reaching the kernel; reported like any completion, asynchronously.
      queueMicrotask(() => {
        this.freeSlots.push(slot);
        this.sink.complete(request, result);
      });
      return true;
    }
    this.requests[slot] = request;
    this.scheduleFlush();
    return true;
  }

  cancel(request: Request): void {
    if (this.requests[request.slot] !== request) return; // already completed
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      this.cancelBacklog.push(request);
      return;
    }
    let result = this.engine.prepCancel(request.slot, slot);
    if (result === -EBUSY) {
      this.engine.submit();
      result = this.engine.prepCancel(request.slot, slot);
    }
    if (result < 0) {
      this.freeSlots.push(slot);
      if (result === -EBUSY) this.cancelBacklog.push(request);
      return;
    }
    this.requests[slot] = null;
    this.scheduleFlush();
  }

  close(): void {
    this.engine.close();
  }

  private prep(request: Request, slot: number): number {
    switch (request.op) {
      case Op.Read:
      case Op.Write:
        return this.engine.prepRw(request.op, request.fd, request.data as ArrayBufferView, request.offset, slot);
      case Op.Readv:
      case Op.Writev:
        return this.engine.prepRwv(request.op, request.fd, request.data as ArrayBufferView[], request.offset, slot);
      default:
        return this.engine.prepFsync(request.fd, request.op === Op.Fdatasync, slot);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.inlineFlushes++ < INLINE_FLUSHES_PER_TURN) {
      if (!this.turnResetScheduled) {
        this.turnResetScheduled = true;
        setImmediate(this.resetTurn);
      }
      queueMicrotask(this.flush);
    } else {
      setImmediate(this.flush);
    }
  }

  /** Runs once per turn of the event loop in which we flushed: a fresh inline budget. */
  private readonly resetTurn = (): void => {
    this.turnResetScheduled = false;
    this.inlineFlushes = 0;
  };

  private scheduleRetry(): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    setImmediate(() => {
      this.retryScheduled = false;
      this.flush();
    });
  }

  /** Submit everything prepared, then deliver whatever already completed. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const result = this.engine.submit();
    if (result === -EAGAIN || result === -EBUSY) this.scheduleRetry();
    this.reapAll();
  };

  private readonly onCompletions = (count: number): void => {
    this.reaping = true;
    try {
      this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    this.reapAll();
    if (this.engine.pending() > 0) this.scheduleFlush();
  };

  private reapAll(): void {
    if (this.reaping) return; // the outer loop will pick these up
    this.reaping = true;
    try {
      let count: number;
      while ((count = this.engine.reap()) > 0) this.dispatch(count);
    } finally {
      this.reaping = false;
    }
  }

  private dispatch(count: number): void {
    const completions = this.completions;
    const requests = this.requests;
    for (let i = 0; i < count; i++) {
      const slot = completions[2 * i];
      const request = requests[slot];
      requests[slot] = undefined;
      this.freeSlots.push(slot);
      if (request) this.sink.complete(request, completions[2 * i + 1]);
    }
    if (this.cancelBacklog.length > 0) for (const request of this.cancelBacklog.splice(0)) this.cancel(request);
  }
}
