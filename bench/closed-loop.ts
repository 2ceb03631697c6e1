/** The timed cases' loops. */
import type { Measurement } from './case.js';

/**
 * `concurrency` workers each run their operation back to back; after a 0.3 s warm-up, operations
 * are counted for `seconds`. Each worker awaits the promise the operation itself returns, once per
 * operation, as a user's loop does: a wrapping async function would add a promise and a turn of
 * the microtask queue per operation, about 5% of a cached read one at a time, which the C
 * programs and fio do not pay. `ok` checks each result: false (a short read, a wrong size)
 * counts as an error.
 */
export async function closedLoop<R>(
  concurrency: number,
  seconds: number,
  operationOf: (worker: number) => () => Promise<R>,
  ok: (result: R) => boolean,
): Promise<Measurement> {
  let ops = 0;
  let errors = 0;
  let counting = false;
  let stop = false;
  const worker = async (index: number) => {
    const operation = operationOf(index);
    while (!stop) {
      const result = await operation();
      if (!counting) continue;
      ops++;
      if (!ok(result)) errors++;
    }
  };
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i));
  await new Promise((resolve) => setTimeout(resolve, 300));
  counting = true;
  const start = performance.now();
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - start) / 1000;
  const counted = ops;
  const used = process.cpuUsage(cpu);
  stop = true;
  await Promise.all(workers);
  // The process's CPU time per operation (all its threads: the thread pool's work counts too).
  return { amount: counted, seconds: elapsed, errors, note: cpuPerOperation(used, counted) };
}

/** `used` (process.cpuUsage over a window) per operation of `count`, as the tables show it. */
export function cpuPerOperation(used: NodeJS.CpuUsage, count: number): string {
  const perOp = (microseconds: number) => (count > 0 ? (microseconds / count).toFixed(2) : '-');
  return `${perOp(used.user)} us user + ${perOp(used.system)} us system per op`;
}

/**
 * Random block-aligned offsets below `size` (xorshift32 from `seed`): the same sequence for every
 * driver given the same seed, and no Math.random in the hot loop.
 */
export function randomOffsets(size: number, blockSize: number, seed: number): () => number {
  const blocks = Math.floor(size / blockSize);
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % blocks) * blockSize;
  };
}

/** The seed of closed-loop worker `index`'s offsets: each worker its own sequence, the same in every driver. */
export const workerSeed = (index: number): number => 0x9e3779b9 + index * 7919;

const MiB = 2 ** 20;

/**
 * For the sequential cases: `pass` over a file of `size` bytes, again and again until `seconds`
 * are up (after one untimed pass with `warmUp`); MiB per second. A pass that moves anything but
 * `size` bytes counts as an error.
 */
export async function timedPasses(seconds: number, size: number, pass: () => Promise<number>, warmUp: boolean): Promise<Measurement> {
  if (warmUp) await pass();
  const start = performance.now();
  let bytes = 0;
  let errors = 0;
  while (performance.now() - start < seconds * 1000) {
    const n = await pass();
    if (n !== size) errors++;
    bytes += n;
  }
  return { amount: bytes / MiB, seconds: (performance.now() - start) / 1000, errors };
}
