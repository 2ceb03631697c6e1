/**
 * Transfers of any offset, length and memory on a file in O_DIRECT mode, for the library's own
 * layers (Reader, Writer, LineReader, asyncOpen, streams, AIOFile.read). Aligned transfers go
 * straight to the kernel. Others go through aligned bounce buffers: a read fetches the aligned
 * blocks that cover it and copies out; a write reads the partial blocks at its ends, merges,
 * writes whole blocks, and where that padded the file past its end, truncates it back, so that
 * the bytes on disk are exactly the bytes written.
 *
 * A merged write must not interleave with another write to the same file, or it would put back
 * bytes that write just changed: merged writes run alone, aligned writes run together (a
 * readers-writer gate per file). Other handles on the same file are not coordinated, as with
 * two processes.
 */
import type { IoContext } from '../context.js';
import { AlignedPool, allocAlignedUnsafe, alignUp } from '../direct/aligned.js';
import { isAligned, type Alignment } from '../direct/alignment.js';
import type { PositionalFile } from '../positional.js';
import { writeFully } from './transfer.js';

/** Bounce buffers are at most this large (rounded up to the offset alignment). */
const BOUNCE_SIZE = 1 << 20;

/** Lets any number of shared holders run together, or one exclusive holder alone, in arrival order. */
class WriteGate {
  #shared = 0;
  #exclusive = false;
  readonly #waiting: { exclusive: boolean; start: () => void }[] = [];

  run<R>(exclusive: boolean, task: () => Promise<R>): Promise<R> {
    return new Promise<void>((start) => {
      this.#waiting.push({ exclusive, start });
      this.#admit();
    }).then(task).finally(() => {
      if (exclusive) this.#exclusive = false;
      else this.#shared--;
      this.#admit();
    });
  }

  #admit(): void {
    while (this.#waiting.length > 0 && !this.#exclusive) {
      const next = this.#waiting[0];
      if (next.exclusive && this.#shared > 0) return;
      this.#waiting.shift();
      if (next.exclusive) this.#exclusive = true;
      else this.#shared++;
      next.start();
    }
  }
}

export class DirectIo implements PositionalFile {
  readonly #context: IoContext;
  readonly #fd: number;
  readonly #alignment: Alignment;
  readonly #pool: AlignedPool;
  readonly #bounceSize: number;
  readonly #gate = new WriteGate();

  /** `fd` must be open with O_DIRECT for as long as this object is used. */
  constructor(context: IoContext, fd: number, alignment: Alignment, pool: AlignedPool) {
    this.#context = context;
    this.#fd = fd;
    this.#alignment = alignment;
    this.#pool = pool;
    this.#bounceSize = alignUp(BOUNCE_SIZE, alignment.offset);
  }

  /** Memory a direct transfer can use as is: aligned, not zeroed. */
  allocate(size: number): Buffer {
    return allocAlignedUnsafe(size, this.#alignment.memory);
  }

  /** Fill `view` from `position`; resolves with the bytes read, fewer only at end of file. */
  async readInto(view: ArrayBufferView, position: number): Promise<number> {
    if (isAligned(this.#alignment, view, position)) return this.#readBlocks(view, position);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const { offset } = this.#alignment;
    let done = 0;
    while (done < bytes.length) {
      const at = position + done;
      const start = at - (at % offset);
      const end = Math.min(alignUp(position + bytes.length, offset), start + this.#bounceSize);
      const bounce = this.#pool.acquire(end - start);
      try {
        const n = await this.#readBlocks(bounce, start);
        const take = Math.min(n - (at - start), bytes.length - done);
        if (take <= 0) break;
        bytes.set(bounce.subarray(at - start, at - start + take), done);
        done += take;
        if (n < end - start) break;
      } finally {
        this.#pool.release(bounce);
      }
    }
    return done;
  }

  /** Write all of `bytes` at `position`; resolves with its length. */
  writeAt(bytes: Uint8Array, position: number): Promise<number> {
    if (isAligned(this.#alignment, bytes, position)) return this.#gate.run(false, () => writeFully(this.#context, this.#fd, bytes, position));
    return this.#gate.run(true, () => this.#writeMerged(bytes, position));
  }

  /**
   * An aligned read that continues after short counts while the next offset stays aligned: a
   * count that leaves it unaligned is the end of the file (asking on would be EINVAL).
   */
  async #readBlocks(view: ArrayBufferView, position: number): Promise<number> {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const n = await this.#context.read(this.#fd, done === 0 ? bytes : bytes.subarray(done), position + done);
      done += n;
      if (n === 0 || (position + done) % this.#alignment.offset !== 0) break;
    }
    return done;
  }

  /**
   * Read the block at `start` into `block` (one alignment unit), zero-filling past the end of
   * the file. Resolves with where the file ends if it ends in or before this block, else Infinity.
   */
  async #readBlock(block: Buffer, start: number): Promise<number> {
    const n = await this.#readBlocks(block, start);
    if (n === block.length) return Infinity;
    block.fill(0, n);
    return start + n;
  }

  async #writeMerged(bytes: Uint8Array, position: number): Promise<number> {
    const { offset } = this.#alignment;
    const total = position + bytes.length;
    let done = 0;
    while (done < bytes.length) {
      const at = position + done;
      const start = at - (at % offset);
      const end = Math.min(alignUp(total, offset), start + this.#bounceSize);
      const stop = Math.min(total, end);
      const bounce = this.#pool.acquire(end - start);
      try {
        let fileEnd = Infinity;
        if (at > start) fileEnd = await this.#readBlock(bounce.subarray(0, offset), start);
        const tail = end - offset;
        if (stop < end && !(at > start && tail === start)) {
          fileEnd = Math.min(fileEnd, await this.#readBlock(bounce.subarray(tail - start), tail));
        }
        bounce.set(bytes.subarray(done, done + (stop - at)), at - start);
        await writeFully(this.#context, this.#fd, bounce, start);
        // The padding after our last byte went past the end of the file: cut it off again.
        if (stop < end && fileEnd < end) await this.#context.ftruncate(this.#fd, Math.max(fileEnd, stop));
        done += stop - at;
      } finally {
        this.#pool.release(bounce);
      }
    }
    return bytes.length;
  }
}
