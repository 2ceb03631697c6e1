/**
 * Registering buffers with the kernel (IoContext.registerBuffers): the limits checked before,
 * the wait for an idle backend the kernel's table needs, and the warning, once per reason, when
 * the backend or the kernel says no. Failure never breaks I/O; it only costs the speed-up.
 */
import { constants } from 'node:os';
import type { Dispatcher } from './dispatcher.js';
import { outOfRange, systemError } from './errors.js';
import { MAX_REGISTERED_BUFFERS, MAX_REGISTERED_BYTES } from './limits.js';
import { validateBufferArray } from './validate.js';

const { EBUSY, ENOMEM, EOPNOTSUPP } = constants.errno;

/** Throws what registerBuffers() throws for `buffers` io_uring could never take. */
export function validateRegistered(buffers: unknown): ArrayBufferView[] {
  const views = validateBufferArray(buffers);
  if (views.length > MAX_REGISTERED_BUFFERS) throw outOfRange('buffers.length', `<= ${MAX_REGISTERED_BUFFERS}`, views.length);
  views.forEach((b, i) => {
    if (b.byteLength === 0 || b.byteLength > MAX_REGISTERED_BYTES) throw outOfRange(`buffers[${i}].byteLength`, `>= 1 and <= ${MAX_REGISTERED_BYTES}`, b.byteLength);
  });
  return views;
}

/**
 * Register `buffers` on the dispatcher's backend once nothing is in flight; true if the kernel
 * took them. A refusal emits an AiofsWarning once per reason (`warned` remembers which);
 * `checkOpen` throws if the context closed while waiting.
 */
export async function registerWhenIdle(dispatcher: Dispatcher, buffers: ArrayBufferView[], warned: Set<number>, checkOpen: () => void): Promise<boolean> {
  for (;;) {
    await dispatcher.idle();
    checkOpen();
    const result = dispatcher.backend.registerBuffers(buffers);
    if (result === -EBUSY) {
      // Something started meanwhile: let it run, then wait for it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      continue;
    }
    if (result === 0) return true;
    if (!warned.has(result)) {
      warned.add(result);
      const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0);
      const why =
        result === -EOPNOTSUPP
          ? `the '${dispatcher.backend.name}' backend has none`
          : result === -ENOMEM
            ? `the kernel would not lock ${bytes} bytes: the memlock limit (ulimit -l) is too low (ENOMEM)`
            : systemError(result, 'io_uring_register').message;
      process.emitWarning(`aiofs: buffers not registered (${why}); I/O continues without them`, 'AiofsWarning');
    }
    return false;
  }
}
