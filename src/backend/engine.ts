/**
 * The JavaScript half of a kernel engine (io_uring or Linux AIO; see native/engine.h): its slots,
 * its lifetime, prepare, submit and reap. Requests become queued kernel operations through one
 * native call each; completions come back in batches through a shared Int32Array of (slot, result)
 * pairs: right after a submit when the kernel already finished (a page-cache hit), or from the
 * engine's fd on the event loop. When to submit is submit-pacing.ts's decision; what becomes of a
 * result the kernel interface could not give (the thread pool, the rest of a short transfer) is
 * fallback.ts's.
 */
import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { CURRENT_POSITION } from '../limits.js';
import { type NativeEngine, seekFd, statusFlags } from '../native.js';
import { byteLengthOf } from '../views.js';
import { type Backend, type CompletionSink, Op, type Request, StartNow } from './backend.js';
import { credentialsGeneration } from './credentials.js';
import { Fallback, type FallbackPolicy } from './fallback.js';
import { prepMeta } from './metadata.js';
import { requestedBytes } from './short-transfer.js';
import { EARLY_SUBMIT, SubmitPacer } from './submit-pacing.js';

const { EBUSY, EAGAIN, EBADF } = constants.errno;
const [SEEK_SET, SEEK_CUR, SEEK_END] = [0, 1, 2] as const;

/** What distinguishes one kernel interface from another, for the shared backend below. */
export interface EngineSpec extends FallbackPolicy {
  name: 'uring' | 'aio';
  /** Create the native engine; it delivers completions into `completions`. -errno on failure. */
  create(completions: Int32Array, handler: (count: number) => void): NativeEngine | number;
  /** How many completions the engine can report at once (sizes the shared array). */
  maxCompletions: number;
  /**
   * Operations run with the credentials the engine was created with (io_uring): after the
   * process changes its ids, the engine is replaced by one created under the new ids.
   */
  bindsCredentials: boolean;
  /**
   * The engine has commands for metadata operations (io_uring). Without them (Linux AIO), each
   * goes to the thread pool from the start rather than after a refusal by the addon.
   */
  metadata: boolean;
  /**
   * The engine reads and writes at a file's own position (CURRENT_POSITION: io_uring since Linux
   * 5.6; the addon refuses it on older kernels, and the refusal sends it to the pool). Without
   * (Linux AIO, whose iocb has only an offset), such a transfer goes to the thread pool from the start.
   */
  currentPosition: boolean;
  /**
   * A write at a file's own position that ends short may leave that position where it was
   * (io_uring on Linux 6.18, at least: a partial write retried in its worker, the retry failing
   * with EFBIG or ENOSPC, completes with the bytes written and the position not moved, so the
   * next write lands over the first). The position before such a write is recorded, and a short
   * one puts it where write(2) would have: after the bytes written, or at the end of a file
   * opened to append.
   */
  shortWriteMayKeepPosition: boolean;
}

export class EngineBackend implements Backend {
  readonly name: 'uring' | 'aio';
  readonly capacity: number;
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
  private readonly fallback: Fallback;
  private readonly pacer: SubmitPacer;
  private reaping = false;
  private closing = false;
  /**
   * The batch the next flush submits holds a read or write: one the kernel may finish at once,
   * whose completion the flush may wait for (NativeEngine.flush). Metadata operations go to
   * io_uring's workers, whose completions come too late for that.
   */
  private rwQueued = false;

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
    this.fallback = new Fallback(spec, sink, (request) => this.start(request));
    this.pacer = new SubmitPacer(this.flush);
  }

  /** Operations re-run on the thread pool (see EngineSpec.fallbackErrors). */
  get fallbacks(): number {
    return this.fallback.count;
  }

  start(request: Request): boolean {
    if ((request.meta && !this.spec.metadata) || (request.offset === CURRENT_POSITION && !this.spec.currentPosition)) {
      this.fallback.startOnPool(request);
      return true;
    }
    if (this.spec.bindsCredentials && this.credentials !== credentialsGeneration() && !this.renewEngine()) {
      this.fallback.runOnPool(request);
      return true;
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined) return false;
    request.positionBefore = this.positionBefore(request.op, request.fd, request.offset);
    // With a signal, the submit waits for the microtask: an abort right after the call must win.
    if (request.op <= Op.Write && request.signal === undefined && this.pacer.mayGoAlone(this.reaping)) return this.startAlone(request, slot);
    let result = this.prep(request, slot);
    if (result === -EBUSY) {
      // The submission queue is full: hand it to the kernel now and try once more.
      this.engine!.submit();
      result = this.prep(request, slot);
    }
    if (result === -EBUSY) {
      this.freeSlots.push(slot);
      this.pacer.scheduleRetry();
      return false;
    }
    if (result < 0) return this.refused(request, slot, result);
    request.slot = slot;
    this.requests[slot] = request;
    if (request.op <= Op.Writev) {
      this.rwQueued = true;
      if (this.pacer.submitEarly && this.engine!.pending() >= EARLY_SUBMIT) this.engine!.submit();
    }
    this.pacer.scheduleFlush();
    return true;
  }

  /**
   * One operation at a time (SubmitPacer.mayGoAlone): one native call prepares, submits and reaps
   * it, and a page-cache hit settles before start() returns.
   */
  private startAlone(request: Request, slot: number): boolean {
    this.pacer.goingAlone();
    const count = this.engine!.submitRw(request.op, request.fd, request.data as ArrayBufferView, request.offset, slot);
    // A full queue cannot happen: nothing else was queued.
    if (count < 0) return this.refused(request, slot, count);
    this.keepAlone(request, slot, count);
    return true;
  }

  /**
   * startAlone without a Request (Backend.startNow): a success reaped inside the call is
   * answered as it is, and only any other outcome makes the Request that carries it.
   */
  startNow(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint): number {
    if (
      op > Op.Write ||
      (offset === CURRENT_POSITION && !this.spec.currentPosition) ||
      (this.spec.bindsCredentials && this.credentials !== credentialsGeneration()) ||
      !this.pacer.mayGoAlone(this.reaping)
    ) {
      return StartNow.Declined;
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined) return StartNow.Declined;
    const before = this.positionBefore(op, fd, offset);
    this.pacer.goingAlone();
    const count = this.engine!.submitRw(op, fd, data, offset, slot);
    if (count < 0) {
      // Refused before the kernel saw it: start() refuses it again and reports it as it does.
      this.freeSlots.push(slot);
      return StartNow.Declined;
    }
    const completions = this.completions;
    if (count === 1 && completions[0] === slot) {
      const result = completions[1];
      if (result >= 0 && ((!this.spec.continueShortTransfers && before < 0) || result >= byteLengthOf(data))) {
        this.freeSlots.push(slot);
        return result;
      }
    }
    const adopted = this.sink.adopt(op, fd, data, offset);
    adopted.positionBefore = before;
    this.keepAlone(adopted, slot, count);
    return StartNow.Adopted;
  }

  /** After `request` was submitted alone in `slot`: keep it as started, and deliver the `count` completions the call reaped. */
  private keepAlone(request: Request, slot: number, count: number): void {
    request.slot = slot;
    this.requests[slot] = request;
    if (count === 0) {
      if (this.engine!.pending() > 0) this.pacer.scheduleRetry(); // the kernel refused the submit for now
      return;
    }
    this.reaping = true;
    try {
      this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    // A full array may have left completions in the kernel's queue.
    if (count === this.spec.maxCompletions || this.closing) this.reapAll();
  }

  /** Refused before reaching the kernel: reported like any completion, asynchronously. */
  private refused(request: Request, slot: number, result: number): boolean {
    this.freeSlots.push(slot);
    request.slot = slot;
    queueMicrotask(() => this.fallback.settle(request, result));
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
    this.pacer.scheduleFlush();
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

  /** Submit everything prepared, then deliver whatever already completed. */
  private readonly flush = (): void => {
    const engine = this.engine;
    this.pacer.flushing(engine ? engine.pending() : 0);
    if (!engine) return;
    const result = this.rwQueued ? engine.flush() : engine.submit();
    this.rwQueued = false;
    if (result === -EAGAIN || result === -EBUSY) this.pacer.scheduleRetry();
    this.reapAll();
  };

  private readonly onCompletions = (count: number): void => {
    this.pacer.submitEarly = true;
    this.reaping = true;
    try {
      this.dispatch(count);
    } finally {
      this.reaping = false;
    }
    this.reapAll();
    if (this.engine && this.engine.pending() > 0) this.pacer.scheduleFlush();
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

  /** For a write at the file's own position where short writes may keep it (see the spec): the position now; else -1. */
  private positionBefore(op: Op, fd: number, offset: number | bigint): number {
    if (!this.spec.shortWriteMayKeepPosition || offset !== CURRENT_POSITION || (op !== Op.Write && op !== Op.Writev)) return -1;
    return seekFd(fd, 0, SEEK_CUR); // -ESPIPE for a pipe or a socket, which has no position
  }

  /** After a write at the file's own position that moved `written` bytes: if short, the position write(2) would leave. */
  private keepPositionRight(request: Request, written: number): void {
    if (written >= requestedBytes(request)) return;
    const flags = statusFlags(request.fd);
    if (flags < 0) return; // closed meanwhile: nothing to keep
    if (flags & fsConstants.O_APPEND) seekFd(request.fd, 0, SEEK_END);
    else seekFd(request.fd, request.positionBefore + written, SEEK_SET);
  }

  private dispatch(count: number): void {
    const completions = this.completions;
    const requests = this.requests;
    // A success of an operation that continues nothing, on an engine that never stops short, is
    // delivered as it is; everything else is fallback.ts's to decide.
    const direct = !this.spec.continueShortTransfers;
    for (let i = 0; i < count; i++) {
      const slot = completions[2 * i];
      const request = requests[slot];
      requests[slot] = undefined;
      this.freeSlots.push(slot);
      if (!request) continue;
      const result = completions[2 * i + 1];
      if (request.positionBefore >= 0 && result >= 0) this.keepPositionRight(request, result);
      if (direct && result >= 0 && request.continues === undefined) this.sink.complete(request, result);
      else this.fallback.settle(request, result);
    }
    if (this.cancelBacklog.length > 0) for (const request of this.cancelBacklog.splice(0)) this.cancel(request);
  }
}
