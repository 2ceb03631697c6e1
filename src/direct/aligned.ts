/**
 * Aligned memory for O_DIRECT. Node has no aligned allocator, but ArrayBuffer memory never moves,
 * so we over-allocate and hand out the aligned window of it.
 */
import { loadNative } from '../native.js';
import { validateInteger } from '../validate.js';
import { outOfRange } from '../errors.js';

/**
 * A zero-filled Buffer of `size` bytes whose address is a multiple of `alignment` (a power of
 * two, default 4096). Freed by the garbage collector like any Buffer.
 */
export function allocAligned(size: number, alignment = 4096): Buffer {
  validateInteger(size, 'size', 0, 2 ** 32);
  validateInteger(alignment, 'alignment', 1, 2 ** 30);
  if ((alignment & (alignment - 1)) !== 0) throw outOfRange('alignment', 'a power of two', alignment);
  const addon = loadNative();
  const backing = new ArrayBuffer(size + alignment);
  const misalignment = addon.misalignment!(new Uint8Array(backing, 0, 0), alignment);
  const skip = misalignment === 0 ? 0 : alignment - misalignment;
  return Buffer.from(backing, skip, size);
}
