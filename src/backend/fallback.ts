/**
 * What becomes of a kernel engine's result (engine.ts): delivered as it is; for an operation the
 * kernel interface cannot do (an opcode the kernel lacks, a file type it refuses, an AIO read that
 * would block), run again on the thread pool, transparently, as libuv does; for a transfer that
 * stopped short, the rest asked for until it is done, at end of file, or must go to the pool.
 */
import { constants } from 'node:os';
import { forgetFd } from '../native.js';
import { type CompletionSink, Op, type Request } from './backend.js';
import { remainder, requestedBytes } from './short-transfer.js';
import { ThreadsBackend } from './threads.js';

const { ECANCELED } = constants.errno;

export interface FallbackPolicy {
  /** Results that mean "run this on the thread pool instead" rather than a real failure. */
  fallbackErrors: ReadonlySet<number>;
  /**
   * The same for an open: io_uring tries an open without waiting first, and a FIFO opened for
   * writing with no reader yet answers ENXIO there, where open(2) waits for one (as Node's does,
   * on its pool). On the pool a socket or a device without its driver still answers ENXIO.
   */
  openFallbackErrors?: ReadonlySet<number>;
  /**
   * A read or write that came back short was stopped early to avoid blocking (RWF_NOWAIT):
   * the rest is done on the thread pool and the counts are added up.
   */
  continueShortTransfers: boolean;
}

export class Fallback {
  /** Operations re-run on the thread pool. */
  count = 0;
  private readonly threads: ThreadsBackend;

  constructor(
    private readonly policy: FallbackPolicy,
    private readonly sink: CompletionSink,
    /** Start a request on the engine (false: no room now), as Backend.start. */
    private readonly start: (request: Request) => boolean,
  ) {
    this.threads = new ThreadsBackend(Infinity, sink);
  }

  /** Complete `request` with the kernel's `result`, or finish it another way. */
  settle(request: Request, result: number): void {
    if (request.continues) return this.settleContinuation(request, result);
    if (result < 0 && (this.policy.fallbackErrors.has(-result) || (request.meta?.op === Op.Open && this.policy.openFallbackErrors?.has(-result)))) {
      // Not done, and no longer wanted once aborted: the caller's abort is the outcome, not the
      // engine's refusal (an opcode the ring lacks, an aio read that would block).
      if (request.abortRequested) return this.sink.complete(request, -ECANCELED);
      this.runOnPool(request);
      return;
    }
    if (this.policy.continueShortTransfers && result > 0 && request.data !== null && result < requestedBytes(request)) {
      this.continueTransfer(request, result);
      return;
    }
    this.sink.complete(request, result);
  }

  /**
   * Start `request` on the thread pool, never having offered it to the engine (an operation the
   * engine has no command for): an abort made in the tick of the call still wins there.
   */
  startOnPool(request: Request): void {
    this.handOver(request);
    this.threads.start(request);
  }

  /** Run `request` on the thread pool instead of the engine, whoever started it. */
  runOnPool(request: Request): void {
    if (request.continues) this.restToPool(request);
    else this.toPool(request, (result) => this.sink.complete(request, result));
  }

  /** Run `request` on the thread pool. */
  private toPool(request: Request, done: (result: number) => void): void {
    this.handOver(request);
    this.threads.perform(request, done);
  }

  /**
   * Count `request` as run on the thread pool. A close done there must not be repeated when the
   * environment tears down (the addon closes the fds its rings opened and nobody closed).
   */
  private handOver(request: Request): void {
    this.count++;
    if (request.meta?.op === Op.Close) forgetFd(request.meta.fd);
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
    if (!this.start(rest)) this.restToPool(rest);
  }

  private settleContinuation(rest: Request, result: number): void {
    const { request: original, done } = rest.continues!;
    if (result > 0) {
      const total = done + result;
      if (total < requestedBytes(original)) this.continueTransfer(original, total);
      else this.sink.complete(original, total);
      return;
    }
    if (result < 0 && this.policy.fallbackErrors.has(-result) && !original.abortRequested) {
      this.restToPool(rest);
      return;
    }
    // End of file, or an error after some bytes moved: report what moved, as read(2) would.
    this.sink.complete(original, done);
  }

  /** The rest of a transfer on the pool; the original completes with every byte moved. */
  private restToPool(rest: Request): void {
    const { request: original, done } = rest.continues!;
    this.toPool(rest, (more) => this.sink.complete(original, more > 0 ? done + more : done));
  }
}
