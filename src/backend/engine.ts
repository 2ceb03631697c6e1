/**
 * The JavaScript half of a kernel engine (io_uring or Linux AIO; see native/engine.h). Requests
 * become queued kernel operations through one native call each; everything prepared in the same
 * tick reaches the kernel in one submit (a microtask flushes; while handling completions from
 * the device, in groups of EARLY_SUBMIT), and completions come back in
 * batches through a shared Int32Array of (slot, result) pairs: right after that submit when the
 * kernel already finished (a page-cache hit), or from the engine's fd on the event loop.
 *
 * An operation the kernel interface cannot do (an opcode the kernel lacks, a file type it refuses,
 * an AIO read that would block) is run again on the thread pool, transparently, as libuv does.
 */
import { constants } from 'node:os';
import { forgetFd, type NativeEngine } from '../native.js';
import { type Backend, type CompletionSink, Op, Request } from './backend.js';
import { credentialsGeneration } from './credentials.js';
import { prepMeta } from './metadata.js';
import { remainder, requestedBytes } from './short-transfer.js';
import { ThreadsBackend } from './threads.js';

const { EBUSY, EAGAIN, EBADF } = constants.errno;

/**
 * Microtasks of the hot path are reactions of this promise: Node's queueMicrotask makes an async
 * resource per call (for async_hooks), which costs more than the rest of a cached read's
 * bookkeeping. What runs there (a submit, a flag) belongs to no caller's async context.
 */
const resolved = Promise.resolve();

/**
 * Page-cache hits complete inside the submit call, so a loop of `await ctx.read()` could go on in
 * microtasks forever and starve timers and sockets. After this many flushes within one turn of
 * the event loop, the next flush waits for the loop's check phase instead.
 */
const INLINE_FLUSHES_PER_TURN = 256;

/**
 * Operations prepared while handling completions that came from the device (through the
 * engine's fd, not inside a submit) go to the kernel in groups of this many rather than all at
 * the end of the batch: the device is what the program waits on then, and it should have the
 * first new operations while the rest are prepared. Measured on O_DIRECT 4 KiB reads, 32 in
 * flight: +18% IOPS (docs/benchmarks.md); page-cache hits complete inside the submit, never set
 * this off, and keep one submit per batch.
 */
const EARLY_SUBMIT = 4;

/** What distinguishes one kernel interface from another, for the shared backend below. */
export interface EngineSpec {
  name: 'uring' | 'aio';
  /** Create the native engine; it delivers completions into `completions`. -errno on failure. */
  create(completions: Int32Array, handler: (count: number) => void): NativeEngine | number;
  /** How many completions the engine can report at once (sizes the shared array). */
  maxCompletions: number;
  /** Results that mean "run this on the thread pool instead" rather than a real failure. */
  fallbackErrors: ReadonlySet<number>;
  /**
   * A read or write that came back short was stopped early to avoid blocking (RWF_NOWAIT):
   * the rest is done on the thread pool and the counts are added up.
   */
  continueShortTransfers: boolean;
  /**
   * Operations run with the credentials the engine was created with (io_uring): after the
   * process changes its ids, the engine is replaced by one created under the new ids.
   */
  bindsCredentials: boolean;
}

export class EngineBackend implements Backend {
  readonly name: 'uring' | 'aio';
  readonly capacity: number;
  /** Operations re-run on the thread pool (see EngineSpec.fallbackErrors). */
  fallbacks = 0;
  /** Engines replaced because the process changed its credentials. */
  rebuilds = 0;
  private engine: NativeEngine | undefined;
  private credentials: number;
  private readonly completions: Int32Array;
  /**
   * Started requests by slot; null marks a slot held by a cancel request. This array is what
   * keeps the memory of an operation alive while the kernel may write it: the addon holds the
   * completion handler (a closure over this backend) strongly while anything is in flight, this
   * backend holds the Request, the Request holds its views. A slot is cleared only once its
   * completion was reaped (native/addon.c, the top comment).
   */
  private readonly requests: (Request | null | undefined)[];
  private readonly freeSlots: number[];
  /** Requests whose cancel waits for a free slot. */
  private readonly cancelBacklog: Request[] = [];
  private readonly threads: ThreadsBackend;
  private flushScheduled = false;
  /** Set while handling completions from the device: see EARLY_SUBMIT. */
  private submitEarly = false;
  private inlineFlushes = 0;
  /** How many operations the last submit carried (see submitsAlone). */
  private lastBatch = 0;
  /** An operation was submitted alone and the microtask that ends its run of code has not run. */
  private aloneThisTick = false;
  private turnResetScheduled = false;
  private retryScheduled = false;
  private reaping = false;
  private closing = false;

  constructor(
    private readonly spec: EngineSpec,
    private readonly sink: CompletionSink,
    /** Thrown when the engine cannot be created, with the kernel's errno. */
    unavailable: (errno: number) => Error,
  ) {
    this.name = spec.name;
    this.completions = new Int32Array(2 * spec.maxCompletions);
    this.credentials = credentialsGeneration();
    const engine = spec.create(this.completions, this.onCompletions);
    if (typeof engine === 'number') throw unavailable(engine);
    this.engine = engine;
    this.capacity = engine.capacity;
    this.requests = new Array(this.capacity).fill(undefined);
    this.freeSlots = Array.from({ length: this.capacity }, (_, i) => this.capacity - 1 - i);
    this.threads = new ThreadsBackend(Infinity, sink);
  }

  start(request: Request): boolean {
    if (this.spec.bindsCredentials && this.credentials !== credentialsGeneration() && !this.renewEngine()) {
      this.toPool(request, (result) => (request.continues ? this.settleContinuation(request, result) : this.sink.complete(request, result)));
      return true;
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined) return false;
    // With a signal, the submit waits for the microtask: an abort right after the call must win.
    if (request.op <= Op.Write && request.signal === undefined && this.submitsAlone()) return this.startAlone(request, slot);
    let result = this.prep(request, slot);
    if (result === -EBUSY) {
      // The submission queue is full: hand it to the kernel now and try once more.
      this.engine!.submit();
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
      this.freeSlots.push(slot);
      queueMicrotask(() => this.settle(request, result));
      return true;
    }
    this.requests[slot] = request;
    if (this.submitEarly && this.engine!.pending() >= EARLY_SUBMIT) this.engine!.submit();
    this.scheduleFlush();
    return true;
  }

  /**
   * Whether this operation should go to the kernel by itself, now, rather than wait for the
   * microtask that submits everything prepared in this tick: when the program runs one operation
   * at a time (the last submit carried one), nothing else waits to be submitted, we are not inside
   * a batch of completions, and the turn's inline budget is not spent. One native call then
   * prepares, submits and reaps it, and a page-cache hit settles before start() returns.
   */
  private submitsAlone(): boolean {
    return (
      this.lastBatch <= 1 &&
      !this.aloneThisTick &&
      !this.flushScheduled &&
      !this.reaping &&
      !this.retryScheduled &&
      this.inlineFlushes < INLINE_FLUSHES_PER_TURN
    );
  }

  private startAlone(request: Request, slot: number): boolean {
    this.countInlineFlush();
    // Operations started after this one in the same run of code batch as usual: several
    // programs running one at a time (32 workers each awaiting its read) are one program
    // running 32 at a time, and one submit serves them all. The next of a single loop comes
    // in a later microtask, after this flag's reset, which is queued before its continuation.
    this.lastBatch = 1;
    this.aloneThisTick = true;
    void resolved.then(this.endAlone);
    const count = this.engine!.submitRw(request.op, request.fd, request.data as ArrayBufferView, request.offset, slot);
    if (count < 0) {
      // Refused before reaching the kernel (a full queue cannot happen: nothing was queued).
      this.freeSlots.push(slot);
      request.slot = slot;
      queueMicrotask(() => this.settle(request, count));
      return true;
    }
    request.slot = slot;
    this.requests[slot] = request;
    if (count === 0) {
      if (this.engine!.pending() > 0) this.scheduleRetry(); // the kernel refused the submit for now
      return true;
    }
    this.reaping = true;
    try {
      this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    // A full array may have left completions in the kernel's queue.
    if (count === this.spec.maxCompletions || this.closing) this.reapAll();
    return true;
  }

  cancel(request: Request): void {
    if (request.slot < 0 || this.requests[request.slot] !== request) return; // done, or on the thread pool
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      this.cancelBacklog.push(request);
      return;
    }
    let result = this.engine!.prepCancel(request.slot, slot);
    if (result === -EBUSY) {
      this.engine!.submit();
      result = this.engine!.prepCancel(request.slot, slot);
    }
    if (result < 0) {
      this.freeSlots.push(slot);
      if (result === -EBUSY) this.cancelBacklog.push(request);
      return;
    }
    this.requests[slot] = null;
    this.scheduleFlush();
  }

  registerBuffers(buffers: ArrayBufferView[]): number {
    return this.engine ? this.engine.registerBuffers(buffers) : -EBADF;
  }

  close(): void {
    this.closing = true;
    this.closeIfIdle();
  }

  /**
   * The context closes us once its requests are done, but a cancel request of ours may still be
   * in the kernel (its target finished first): the engine then closes when that one completes.
   */
  private closeIfIdle(): void {
    if (this.engine && this.engine.close() === 0) this.engine = undefined;
  }

  /**
   * Replace an engine created under other credentials. Possible only once nothing is in flight
   * on it; until then (or if a new one cannot be created) requests go to the thread pool, which
   * always runs with the current credentials. Returns true when the engine may be used.
   */
  private renewEngine(): boolean {
    if (this.freeSlots.length < this.capacity) return false;
    this.engine?.close();
    this.engine = undefined;
    const engine = this.spec.create(this.completions, this.onCompletions);
    if (typeof engine === 'number' || engine.capacity !== this.capacity) {
      if (typeof engine !== 'number') engine.close();
      return false;
    }
    this.engine = engine;
    this.credentials = credentialsGeneration();
    this.rebuilds++;
    return true;
  }

  /**
   * Run `request` on the thread pool. A close done there must not be repeated when the
   * environment tears down (the addon closes the fds the ring opened and nobody closed).
   */
  private toPool(request: Request, done: (result: number) => void): void {
    this.fallbacks++;
    if (request.meta?.op === Op.Close) forgetFd(request.meta.fd);
    this.threads.perform(request, done);
  }

  private prep(request: Request, slot: number): number {
    const engine = this.engine!;
    switch (request.op) {
      case Op.Read:
      case Op.Write:
        return engine.prepRw(request.op, request.fd, request.data as ArrayBufferView, request.offset, slot);
      case Op.Readv:
      case Op.Writev:
        return engine.prepRwv(request.op, request.fd, request.data as ArrayBufferView[], request.offset, slot);
      case Op.Fsync:
      case Op.Fdatasync:
        return engine.prepFsync(request.fd, request.op === Op.Fdatasync, slot);
      default:
        return prepMeta(engine, request.meta!, slot);
    }
  }

  /** Complete `request` with the kernel's `result`, or finish it on the thread pool. */
  private settle(request: Request, result: number): void {
    if (request.continues) return this.settleContinuation(request, result);
    if (result < 0 && this.spec.fallbackErrors.has(-result) && !request.abortRequested) {
      this.toPool(request, (final) => this.sink.complete(request, final));
      return;
    }
    if (this.spec.continueShortTransfers && result > 0 && request.data !== null && result < requestedBytes(request)) {
      this.continueTransfer(request, result);
      return;
    }
    this.sink.complete(request, result);
  }

  /**
   * A transfer that stopped short rather than block (RWF_NOWAIT), or at end of file: ask the
   * kernel for the rest the same way first. 0 then means end of file, more bytes mean it goes on,
   * and only "would block" sends the rest to the thread pool. A small file's read so costs two
   * trips to the kernel instead of a thread hop.
   */
  private continueTransfer(original: Request, done: number): void {
    const rest = remainder(original, done);
    rest.continues = { request: original, done };
    if (!this.start(rest)) {
      this.toPool(rest, (more) => this.sink.complete(original, more > 0 ? done + more : done));
    }
  }

  private settleContinuation(rest: Request, result: number): void {
    const { request: original, done } = rest.continues!;
    if (result > 0) {
      const total = done + result;
      if (total < requestedBytes(original)) this.continueTransfer(original, total);
      else this.sink.complete(original, total);
      return;
    }
    if (result < 0 && this.spec.fallbackErrors.has(-result) && !original.abortRequested) {
      this.toPool(rest, (more) => this.sink.complete(original, more > 0 ? done + more : done));
      return;
    }
    // End of file, or an error after some bytes moved: report what moved, as read(2) would.
    this.sink.complete(original, done);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.inlineFlushes < INLINE_FLUSHES_PER_TURN) {
      this.countInlineFlush();
      void resolved.then(this.flush);
    } else {
      setImmediate(this.flush);
    }
  }

  private readonly endAlone = (): void => {
    this.aloneThisTick = false;
  };

  /** One more submit whose completions may run in this turn's microtasks. */
  private countInlineFlush(): void {
    this.inlineFlushes++;
    if (!this.turnResetScheduled) {
      this.turnResetScheduled = true;
      setImmediate(this.resetTurn);
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
    this.submitEarly = false;
    if (!this.engine) return;
    this.lastBatch = this.engine.pending();
    const result = this.engine.submit();
    if (result === -EAGAIN || result === -EBUSY) this.scheduleRetry();
    this.reapAll();
  };

  private readonly onCompletions = (count: number): void => {
    this.submitEarly = true;
    this.reaping = true;
    try {
      this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    this.reapAll();
    if (this.engine && this.engine.pending() > 0) this.scheduleFlush();
  };

  private reapAll(): void {
    if (this.reaping) return; // the outer loop will pick these up
    this.reaping = true;
    try {
      let count: number;
      while (this.engine && (count = this.engine.reap()) > 0) this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    if (this.closing) this.closeIfIdle();
  }

  private dispatch(count: number): void {
    const completions = this.completions;
    const requests = this.requests;
    for (let i = 0; i < count; i++) {
      const slot = completions[2 * i];
      const request = requests[slot];
      requests[slot] = undefined;
      this.freeSlots.push(slot);
      if (request) this.settle(request, completions[2 * i + 1]);
    }
    if (this.cancelBacklog.length > 0) for (const request of this.cancelBacklog.splice(0)) this.cancel(request);
  }
}
