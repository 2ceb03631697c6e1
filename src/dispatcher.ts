/**
 * The dispatcher under an IoContext: admits requests up to the backend's in-flight cap, queues
 * the rest (first in first out, or fairly over priority classes), starts queued ones as room
 * frees, handles aborts of queued and started requests, settles each request with its result
 * (turning an errno into Node's error, and an O_DIRECT EINVAL into the misalignment that caused
 * it), keeps the counts, and closes the backend once everything accepted has settled. It never
 * validates: the context hands it only well-formed requests.
 */
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Backend, type CompletionSink, Op, Request, RequestState, Settled, StartNow, syscallOf } from './backend/backend.js';
import { explainInvalid } from './direct/alignment.js';
import { abortError, systemError } from './errors.js';
import { FairQueue, type PriorityClass } from './sched/classes.js';
import { FifoQueue, type RequestQueue } from './sched/queue.js';

const { ECANCELED, EINTR, EINVAL } = constants.errno;

export class Dispatcher {
  readonly backend: Backend;
  readonly #queue: RequestQueue<Request>;
  readonly #classes: PriorityClass[];
  #queued = 0;
  #inFlight = 0;
  #submitted = 0;
  #completed = 0;
  /** Set once close() was called, until the backend is closed: the dispatcher accepts no more. */
  #onIdle: (() => void) | undefined;
  #drainScheduled = false;
  #draining = false;
  #idleWaiters: (() => void)[] = [];
  /** submitNow's hand-over from #adopt: the adopted request's acceptance time, then its promise. */
  #acceptedAt = -1;
  #adopted: Promise<number> | undefined;

  constructor(makeBackend: (sink: CompletionSink) => Backend, classes: PriorityClass[]) {
    this.#classes = classes;
    this.#queue = classes.length > 1 ? new FairQueue(classes) : new FifoQueue<Request>();
    this.backend = makeBackend({
      complete: (request, result) => this.#complete(request, result),
      adopt: (op, fd, data, offset) => this.#adopt(op, fd, data, offset),
    });
  }

  counts(): { submitted: number; completed: number; inFlight: number; queued: number } {
    return { submitted: this.#submitted, completed: this.#completed, inFlight: this.#inFlight, queued: this.#queued };
  }

  /** Resolves once nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight > 0 || this.#queued > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Let every accepted request settle, then close the backend. The caller accepts no more. */
  close(): Promise<void> {
    const closing = new Promise<void>((resolve) => {
      this.#onIdle = resolve;
    });
    this.#finishCloseIfIdle();
    return closing;
  }

  /** Settle a request with the backend's result: a byte count, or a negative errno. */
  #complete(request: Request, result: number): void {
    this.#inFlight--;
    this.#completed++;
    const cls = this.#classes[request.priorityClass];
    cls.inFlight--;
    cls.completed++;
    if (request.acceptedAt >= 0) cls.latency.add(performance.now() - request.acceptedAt);
    request.state = RequestState.Done;
    if (request.onAbort) request.signal!.removeEventListener('abort', request.onAbort);
    if (result >= 0) {
      request.resolve(result);
    } else if (request.abortRequested && (result === -ECANCELED || result === -EINTR)) {
      request.reject(abortError(request.signal!));
    } else if (request.resolvesErrno) {
      request.resolve(result);
    } else if (result === -EINVAL && request.op <= Op.Writev) {
      // On an O_DIRECT fd, EINVAL usually means a misaligned transfer: say which value it was.
      const views = Array.isArray(request.data) ? request.data : [request.data as ArrayBufferView];
      const fallback = () => request.reject(systemError(result, syscallOf[request.op]));
      explainInvalid(request.fd, views, request.offset).then((error) => (error ? request.reject(error) : fallback()), fallback);
    } else {
      const meta = request.meta;
      request.reject(meta ? systemError(result, meta.syscall, meta.errorPath, meta.errorDest) : systemError(result, syscallOf[request.op]));
    }
    if (this.#queued > 0) this.#drain();
    else if (this.#onIdle && !this.#draining) this.#finishCloseIfIdle();
    if (this.#inFlight === 0 && this.#queued === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * Accept `request`: start it now if there is room, else queue it; settles with its result, or
   * with what `finish` makes of a successful one (a Stats from the statx buffer, say: one
   * promise for the caller rather than a second one chained on the first).
   */
  submit(request: Request): Promise<number>;
  submit<R>(request: Request, finish: (result: number) => R): Promise<R>;
  submit<R>(request: Request, finish?: (result: number) => R): Promise<R | number> {
    request.acceptedAt = this.#acceptedNow(request.priorityClass);
    if (!this.#startsFirst(request)) return this.#submitPending(request, finish);
    if (!this.#startFirst(request)) return this.#enqueue(request, pendingFor(request, finish));
    return settledOrPending(request, finish);
  }

  /**
   * A read or write of one view, with no signal, in the default class: the library's hot path.
   * Its byte count when the backend finished it with a success inside the call (a page-cache
   * hit: no Request, no promise, no reaction; Backend.startNow), else its promise.
   */
  submitNow(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint): number | Promise<number> {
    // The one timed in LATENCY_SAMPLE_EVERY reads the clock here, outside the way every read
    // takes: with the clock's code inline there, a loop of cached reads is slower
    // (docs/benchmarks.md, "Measurements the code relies on").
    if (this.#classes[0].latency.sampleNext()) return this.#submitNowAt(op, fd, data, offset, performance.now());
    return this.#submitNowAt(op, fd, data, offset, -1);
  }

  /** submitNow, accepted at `acceptedAt` (-1: not timed). */
  #submitNowAt(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint, acceptedAt: number): number | Promise<number> {
    const backend = this.backend;
    if (backend.startNow !== undefined && this.#queued === 0 && this.#inFlight < backend.capacity) {
      this.#acceptedAt = acceptedAt;
      const result = backend.startNow(op, fd, data, offset);
      if (result >= 0) {
        // Started and completed here: counted as both, as #start and #complete count.
        const cls = this.#classes[0];
        this.#submitted++;
        this.#completed++;
        cls.completed++;
        if (acceptedAt >= 0) this.#timed(acceptedAt);
        return result;
      }
      if (result === StartNow.Adopted) {
        const promise = this.#adopted!;
        this.#adopted = undefined;
        return promise;
      }
    }
    return this.#submitRequestNow(new Request(op, fd, data, offset, undefined), acceptedAt);
  }

  /** submitNow's way when the backend did not start the transfer: as submit(), with its result itself if settled already. */
  #submitRequestNow(request: Request, acceptedAt: number): number | Promise<number> {
    request.acceptedAt = acceptedAt;
    if (!this.#startsFirst(request)) return this.#submitPending(request, undefined);
    if (!this.#startFirst(request)) return this.#enqueue(request, pendingFor(request, undefined));
    return request.settled === Settled.Resolved ? (request.outcome as number) : settledOrPending(request, undefined);
  }

  /** The sink's adopt (Backend.startNow): the Request of submitNow's transfer, counted as started. */
  #adopt(op: Op, fd: number, data: ArrayBufferView, offset: number | bigint): Request {
    const request = new Request(op, fd, data, offset, undefined);
    request.acceptedAt = this.#acceptedAt;
    this.#adopted = pendingFor(request, undefined);
    this.#countStarted(request, this.#classes[0]);
    return request;
  }

  /** The latency of a transfer submitNow started and completed at once, timed from `acceptedAt`. */
  #timed(acceptedAt: number): void {
    this.#classes[0].latency.add(performance.now() - acceptedAt);
  }

  /** Counts an operation in for the latency statistics: performance.now() if it is timed, else -1. */
  #acceptedNow(priorityClass: number): number {
    return this.#classes[priorityClass].latency.sampleNext() ? performance.now() : -1;
  }

  /** Whether `request` may start before its caller has a promise: nothing waits before it, there is room, and no signal must be listened to first. */
  #startsFirst(request: Request): boolean {
    return request.signal === undefined && this.#queued === 0 && this.#inFlight < this.backend.capacity;
  }

  /**
   * Start `request` with no promise yet: a backend that finishes it inside start() leaves the
   * outcome on the request (resolveNow, rejectNow), and the caller gets a promise settled from
   * the start, without the pair of resolving functions a pending one needs. False: no room.
   */
  #startFirst(request: Request): boolean {
    request.resolve = resolveNow;
    request.reject = rejectNow;
    return this.#start(request);
  }

  /** The way with a pending promise from the start: a signal to listen to, or others waiting. */
  #submitPending<R>(request: Request, finish: ((result: number) => R) | undefined): Promise<R | number> {
    const promise = pendingFor(request, finish);
    const signal = request.signal;
    if (signal) {
      if (signal.aborted) {
        request.state = RequestState.Done;
        request.reject(abortError(signal));
        return promise;
      }
      request.onAbort = () => this.#abort(request);
      signal.addEventListener('abort', request.onAbort, { once: true });
    }
    // Started (and perhaps already settled: a backend may complete it inside start()), or queued.
    if (this.#queued === 0 && this.#inFlight < this.backend.capacity && this.#start(request)) return promise;
    return this.#enqueue(request, promise);
  }

  #enqueue<T>(request: Request, promise: Promise<T>): Promise<T> {
    this.#queue.push(request);
    this.#queued++;
    this.#classes[request.priorityClass].queued++;
    if (this.#inFlight === 0) this.#scheduleDrain();
    return promise;
  }

  /**
   * Hand `request` to the backend; false if it had no room. Counted as started first: a backend
   * may complete it before start() returns (a page-cache hit submitted and reaped at once).
   */
  #start(request: Request): boolean {
    const cls = this.#classes[request.priorityClass];
    this.#countStarted(request, cls);
    if (this.backend.start(request)) return true;
    request.state = RequestState.Queued;
    cls.inFlight--;
    this.#inFlight--;
    this.#submitted--;
    return false;
  }

  /** `request`, of class `cls`, is now in flight: counted as #complete uncounts it. */
  #countStarted(request: Request, cls: PriorityClass): void {
    request.state = RequestState.Started;
    cls.inFlight++;
    this.#inFlight++;
    this.#submitted++;
  }

  /**
   * Start queued requests while there is room. Not re-entered: a request completed inside the
   * backend's start() frees room this loop then fills.
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      const queue = this.#queue;
      while (this.#queued > 0 && this.#inFlight < this.backend.capacity) {
        const request = queue.peek()!;
        if (request.state !== RequestState.Queued) {
          queue.shift(); // aborted while waiting
          continue;
        }
        // Counted out of the queue before it starts (it may settle inside), taken out after.
        this.#queued--;
        this.#classes[request.priorityClass].queued--;
        if (!this.#start(request)) {
          // No room in the backend although under the cap: it stays first in line; try again
          // soon, even with nothing in flight.
          this.#queued++;
          this.#classes[request.priorityClass].queued++;
          this.#scheduleDrain();
          return;
        }
        queue.shift();
      }
      if (this.#queued === 0) {
        while (queue.length > 0) queue.shift(); // drop aborted leftovers
        if (this.#onIdle) this.#finishCloseIfIdle();
      }
    } finally {
      this.#draining = false;
    }
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  #abort(request: Request): void {
    if (request.state === RequestState.Queued) {
      request.state = RequestState.Done;
      this.#queued--;
      this.#classes[request.priorityClass].queued--;
      request.reject(abortError(request.signal!));
      if (this.#queued === 0) this.#drain();
    } else if (request.state === RequestState.Started && !request.abortRequested) {
      request.abortRequested = true;
      this.backend.cancel(request);
    }
  }

  #finishCloseIfIdle(): void {
    if (!this.#onIdle || this.#inFlight > 0 || this.#queued > 0) return;
    const resolve = this.#onIdle;
    this.#onIdle = undefined;
    this.backend.close();
    resolve();
  }
}

/** A request's resolve and reject until its caller has a promise (Dispatcher.submit). */
function resolveNow(this: Request, result: number): void {
  this.settled = Settled.Resolved;
  this.outcome = result;
}

function rejectNow(this: Request, error: Error): void {
  this.settled = Settled.Rejected;
  this.outcome = error;
}

/** A pending promise that `request` settles, with `finish` applied to a success. */
function pendingFor<R>(request: Request, finish: ((result: number) => R) | undefined): Promise<R | number> {
  return new Promise<R | number>((resolve, reject) => {
    request.resolve = finish
      ? (result) => {
          try {
            resolve(finish(result));
          } catch (error) {
            reject(error);
          }
        }
      : resolve;
    request.reject = reject;
  });
}

/** The promise of a request started by #startFirst: settled if it settled there, else pending. */
function settledOrPending<R>(request: Request, finish: ((result: number) => R) | undefined): Promise<R | number> {
  if (request.settled === Settled.Rejected) return Promise.reject(request.outcome);
  if (request.settled !== Settled.Resolved) return pendingFor(request, finish);
  if (!finish) return Promise.resolve(request.outcome as number);
  try {
    return Promise.resolve(finish(request.outcome as number));
  } catch (error) {
    return Promise.reject(error);
  }
}
