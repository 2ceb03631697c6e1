/**
 * The timed cases' loop: `concurrency` workers each run their operation back to back; after a
 * 0.3 s warm-up, operations are counted for `seconds`. An operation resolving false (a short
 * read, a wrong size) counts as an error.
 */
import type { Measurement } from './case.js';

export async function closedLoop(concurrency: number, seconds: number, operationOf: (worker: number) => () => Promise<boolean>): Promise<Measurement> {
  let ops = 0;
  let errors = 0;
  let counting = false;
  let stop = false;
  const worker = async (index: number) => {
    const operation = operationOf(index);
    while (!stop) {
      const ok = await operation();
      if (!counting) continue;
      ops++;
      if (!ok) errors++;
    }
  };
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i));
  await new Promise((resolve) => setTimeout(resolve, 300));
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - start) / 1000;
  const counted = ops;
  stop = true;
  await Promise.all(workers);
  return { amount: counted, seconds: elapsed, errors };
}
