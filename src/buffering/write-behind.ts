/**
 * Write-behind: writes are accepted into a bounded buffer (copied, so the caller may reuse its
 * memory at once), gathered into large blocks and written in the background, several blocks in
 * flight. A write resolves as soon as it is accepted while the buffer has room, and waits when it
 * has not (backpressure). The first error any background write meets is kept: flush() and every
 * later write reject with it, so an error is never swallowed and no acknowledged byte is lost
 * without the caller hearing of it.
 */

import type { PositionalFile } from '../positional.js';
import { validateInteger } from '../validate.js';

/** Bytes accepted and not yet written, at most, unless told otherwise. */
export const DEFAULT_WRITE_BEHIND = 8 << 20;
/** Bytes gathered into one write unless told otherwise. */
export const DEFAULT_BLOCK_SIZE = 1 << 20;

export function validateWriteBehind(value: unknown, name = 'options.writeBehind'): number {
  return value === undefined ? DEFAULT_WRITE_BEHIND : validateInteger(value, name, 0, 2 ** 32);
}

/** Where blocks go: writes of all the bytes, from the file's memory. */
export type BlockSink = Pick<PositionalFile, 'writeAt' | 'allocate'>;

export interface WriteBehindOptions {
  /** Bytes accepted and not yet written, at most (a single larger write is written through). */
  limit: number;
  /** Bytes gathered before a block is written. */
  blockSize: number;
  /** One block in flight at a time ('a' mode files, where the kernel places each write at the end). */
  ordered: boolean;
}

export class WriteBehind {
  readonly #sink: BlockSink;
  readonly #options: WriteBehindOptions;
  #offset: number;
  /** The block being filled (copied into: the caller's memory is free once write() returns). */
  #block: Buffer | undefined;
  #gatheredLength = 0;
  #gatheredAt: number;
  /** Accepted bytes not yet written: gathered plus in flight. */
  #buffered = 0;
  readonly #inFlight = new Set<Promise<void>>();
  #previous: Promise<unknown> = Promise.resolve();
  #error: unknown;
  #roomWaiters: (() => void)[] = [];
  /** Blocks whose write finished, kept for the next ones: no fresh memory (and page faults) per block. */
  readonly #spare: Buffer[] = [];
  #dispatchScheduled = false;

  constructor(sink: BlockSink, offset: number, options: WriteBehindOptions) {
    this.#sink = sink;
    this.#offset = offset;
    this.#gatheredAt = offset;
    this.#options = options;
  }

  /** Where the next write lands. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes accepted and not yet written. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Accept `bytes` (copied); resolves once they are in the buffer, or written for one larger than the limit. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (bytes.length > this.#options.limit) {
      // Too large to buffer: written through, after what is buffered, without a copy.
      this.#dispatch();
      const at = this.#offset;
      this.#offset += bytes.length;
      this.#gatheredAt = this.#offset;
      await this.#start(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), at);
      await this.#settled();
      if (this.#error !== undefined) throw this.#error;
      return;
    }
    const { blockSize } = this.#options;
    for (let done = 0; done < bytes.length; ) {
      this.#block ??= this.#spare.pop() ?? this.#sink.allocate(blockSize);
      const n = Math.min(bytes.length - done, blockSize - this.#gatheredLength);
      this.#block.set(bytes.subarray(done, done + n), this.#gatheredLength);
      this.#gatheredLength += n;
      done += n;
      if (this.#gatheredLength === blockSize) this.#dispatch();
    }
    this.#buffered += bytes.length;
    this.#offset += bytes.length;
    if (this.#gatheredLength > 0) this.#scheduleDispatch();
    while (this.#buffered > this.#options.limit && this.#error === undefined) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    if (this.#error !== undefined) throw this.#error;
  }

  /** Write everything accepted; rejects with the first error any write met. */
  async flush(): Promise<void> {
    this.#dispatch();
    await this.#settled();
    if (this.#error !== undefined) throw this.#error;
  }

  async #settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** A partial block still goes out soon, even if no more writes come. */
  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    setImmediate(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  /** Send the gathered bytes as one block. */
  #dispatch(): void {
    if (this.#gatheredLength === 0) return;
    const whole = this.#block!;
    const block = whole.subarray(0, this.#gatheredLength);
    const at = this.#gatheredAt;
    this.#block = undefined;
    this.#gatheredAt += this.#gatheredLength;
    this.#gatheredLength = 0;
    void this.#start(block, at).then(() => {
      this.#buffered -= block.length;
      if (this.#spare.length < this.#options.limit / this.#options.blockSize) this.#spare.push(whole);
      this.#wake();
    });
  }

  /** Write one block; the promise settles (never rejects) once it is done, keeping the first error. */
  #start(block: Buffer, at: number): Promise<void> {
    const write = () => this.#sink.writeAt(block, at).then(
      () => undefined,
      (error: unknown) => {
        this.#error ??= error;
      },
    );
    const done = this.#options.ordered ? this.#previous.then(write) : write();
    this.#previous = done;
    this.#inFlight.add(done);
    void done.then(() => this.#inFlight.delete(done));
    return done.then(() => {
      if (this.#error !== undefined) this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
