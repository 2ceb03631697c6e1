/**
 * When a kernel engine submits (engine.ts): everything prepared in one tick goes to the kernel in
 * one submit, made by a microtask; one operation at a time goes alone, at once; and a loop of
 * page-cache hits, which complete inside the submit, must not run in microtasks forever.
 * This module holds those decisions and their state; it knows nothing of requests or slots.
 */

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
 * first new operations while the rest are prepared; page-cache hits complete inside the submit,
 * never set this off, and keep one submit per batch. Only reads and writes go early: a metadata
 * operation (stat, open) runs on one of the kernel's io-wq workers, and every early submit wakes
 * one more of them (docs/benchmarks.md, "Measurements the code relies on").
 */
export const EARLY_SUBMIT = 4;

export class SubmitPacer {
  /** Set while handling completions from the device: see EARLY_SUBMIT. */
  submitEarly = false;
  /** How many operations the last submit carried (see mayGoAlone). */
  lastBatch = 0;
  private flushScheduled = false;
  private inlineFlushes = 0;
  private turnResetScheduled = false;
  /** An operation was submitted alone and the microtask that ends its run of code has not run. */
  private aloneThisTick = false;
  private retryScheduled = false;

  /** `flush` submits everything prepared and delivers what completed; it starts with flushing(). */
  constructor(private readonly flush: () => void) {}

  /**
   * Whether an operation should go to the kernel by itself, now, rather than wait for the
   * microtask that submits everything prepared in this tick: when the program runs one operation
   * at a time (the last submit carried one), nothing else waits to be submitted, the engine is not
   * inside a batch of completions (`reaping`), and the turn's inline budget is not spent.
   */
  mayGoAlone(reaping: boolean): boolean {
    return (
      this.lastBatch <= 1 &&
      !this.aloneThisTick &&
      !this.flushScheduled &&
      !reaping &&
      !this.retryScheduled &&
      this.inlineFlushes < INLINE_FLUSHES_PER_TURN
    );
  }

  /**
   * An operation goes alone now. Operations started after it in the same run of code batch as
   * usual: several programs running one at a time (32 workers each awaiting its read) are one
   * program running 32 at a time, and one submit serves them all. The next of a single loop comes
   * in a later microtask, after this flag's reset, which is queued before its continuation.
   */
  goingAlone(): void {
    this.countInlineFlush();
    this.lastBatch = 1;
    this.aloneThisTick = true;
    void resolved.then(this.endAlone);
  }

  /** Something was prepared: submit it in a microtask, or after the loop's turn once the budget is spent. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.inlineFlushes < INLINE_FLUSHES_PER_TURN) {
      this.countInlineFlush();
      void resolved.then(this.flush);
    } else {
      setImmediate(this.flush);
    }
  }

  /** The kernel took nothing for now (a full queue, EAGAIN): flush again after the loop's turn. */
  scheduleRetry(): void {
    if (this.retryScheduled) return;
    this.retryScheduled = true;
    setImmediate(this.retry);
  }

  /** Called by `flush` first: what it submits is no longer waiting for one. */
  flushing(pending: number): void {
    this.flushScheduled = false;
    this.submitEarly = false;
    this.lastBatch = pending;
  }

  private readonly retry = (): void => {
    this.retryScheduled = false;
    this.flush();
  };

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
}
