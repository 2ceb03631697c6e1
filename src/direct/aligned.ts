/**
 * Aligned memory for O_DIRECT. Node has no aligned allocator, but ArrayBuffer memory never moves,
 * so we over-allocate and hand out the aligned window of it.
 */
import { loadNative } from '../native.js';
import { validateInteger } from '../validate.js';
import { invalidArgType, outOfRange } from '../errors.js';
import { DEFAULT_ALIGNMENT, type Alignment } from './alignment.js';

const MAX_ALIGNMENT = 1 << 30;

function validateAlignment(alignment: unknown): number {
  let value = alignment;
  if (typeof alignment === 'object' && alignment !== null) {
    // A file (anything with `alignment`), or an Alignment itself.
    const a = (alignment as { alignment?: Alignment }).alignment ?? (alignment as Alignment);
    value = a.memory === undefined ? undefined : Math.max(a.memory, a.offset ?? 0);
    if (value === undefined) throw invalidArgType('alignment', ['number', 'Alignment', 'AIOFile'], alignment);
  }
  const n = validateInteger(value, 'alignment', 1, MAX_ALIGNMENT);
  if ((n & (n - 1)) !== 0) throw outOfRange('alignment', 'a power of two', n);
  return n;
}

/** `size` rounded up to a multiple of `alignment` (a power of two). */
export function alignUp(size: number, alignment: number): number {
  return Math.ceil(size / alignment) * alignment;
}

/** The aligned window of `backing`, `size` bytes long. */
function alignedWindow(backing: ArrayBuffer, size: number, alignment: number): Buffer {
  const misalignment = loadNative().misalignment!(new Uint8Array(backing, 0, 0), alignment);
  const skip = misalignment === 0 ? 0 : alignment - misalignment;
  return Buffer.from(backing, skip, size);
}

/**
 * A zero-filled Buffer whose address and length are multiples of `alignment`: its length is
 * `size` rounded up to one. `alignment` is a power of two (default 4096), or a file (or its
 * `alignment`), whose larger requirement is used. Freed by the garbage collector like any Buffer.
 */
export function allocAligned(size: number, alignment: number | Alignment | { alignment: Alignment } = DEFAULT_ALIGNMENT): Buffer {
  validateInteger(size, 'size', 0, 2 ** 32);
  const a = validateAlignment(alignment);
  const length = alignUp(size, a);
  return alignedWindow(new ArrayBuffer(length + a), length, a);
}

/** Like allocAligned(), for the library's own use: not zeroed, and exactly `size` bytes. */
export function allocAlignedUnsafe(size: number, alignment: number): Buffer {
  const backing = Buffer.allocUnsafeSlow(size + alignment);
  return alignedWindow(backing.buffer as ArrayBuffer, size, alignment);
}

/**
 * Aligned buffers kept for reuse by the library's bounce buffers and write-behind blocks, so that
 * a steady stream of direct I/O allocates (and page-faults) its memory once. Holds at most
 * `limit` bytes of idle buffers; a buffer given back beyond that is left to the collector.
 */
export class AlignedPool {
  readonly alignment: number;
  readonly #limit: number;
  readonly #idle = new Map<number, Buffer[]>();
  #idleBytes = 0;

  constructor(alignment: number, limit = 64 << 20) {
    this.alignment = alignment;
    this.#limit = limit;
  }

  /** A buffer of exactly `size` bytes (not zeroed), aligned to the pool's alignment. */
  acquire(size: number): Buffer {
    const list = this.#idle.get(size);
    const reused = list?.pop();
    if (reused) {
      this.#idleBytes -= size;
      return reused;
    }
    return allocAlignedUnsafe(size, this.alignment);
  }

  /** Give back a buffer acquire() returned, once nothing (the kernel included) uses it. */
  release(buffer: Buffer): void {
    if (this.#idleBytes + buffer.length > this.#limit) return;
    let list = this.#idle.get(buffer.length);
    if (!list) this.#idle.set(buffer.length, (list = []));
    list.push(buffer);
    this.#idleBytes += buffer.length;
  }
}
