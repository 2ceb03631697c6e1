/**
 * A random-read driver run by several worker threads at once, each with an aiofs context of its
 * own: what a program that reads from its workers gets, and what the contexts of one process
 * share (SQPOLL polling threads, shared once the process has as many as its limit: one on two
 * CPUs; docs/backends.md).
 *
 * The driver's own thread only keeps time. Each worker opens the file, makes its context, says
 * it is ready and runs its closed loop until told to stop, publishing its count of reads (and of
 * wrong ones) in shared memory after every read. The driver counts what the workers did between
 * the end of a 0.3 s warm-up and `seconds` later, and the process's CPU time over the same window
 * (every thread's: the workers', the polling thread's).
 *
 * This module is also the workers' entry point: a worker thread that loads it runs `work()`.
 */
import fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createContext, type BackendName } from '../src/index.js';
import { allocAligned } from '../src/direct/aligned.js';
import type { Measurement } from './case.js';
import { cpuPerOperation, randomOffsets, workerSeed } from './closed-loop.js';
import type { RandomReadParams } from './randread.js';

/** How each worker reads the case's file: its backend, and whether its ring has a polling thread. */
export interface WorkerContext {
  backend: BackendName;
  sqpoll: boolean;
}

interface Setup extends RandomReadParams, WorkerContext {
  /** This worker's place in `counts`. */
  index: number;
  /** Per worker, one cache line apart: reads, then wrong reads. Then, at STOP, the stop flag. */
  counts: Int32Array;
}

/** Int32 slots per worker: a cache line each, so that no two workers' stores share one. */
const STRIDE = 16;
const WARM_UP_MS = 300;
const STOP_MS = 10_000;

/**
 * Runs `workers` worker threads, each reading as the case's `params` say (`concurrency` reads at a
 * time each) through a context made as `context` says, for `params.seconds`, and sums what they did.
 */
export async function readInWorkers(workers: number, params: RandomReadParams, context: WorkerContext): Promise<Measurement> {
  const counts = new Int32Array(new SharedArrayBuffer((workers + 1) * STRIDE * 4));
  const stopAt = workers * STRIDE;
  const threads = Array.from(
    { length: workers },
    (_, index) =>
      new Worker(new URL(import.meta.url), {
        workerData: { ...params, ...context, index, counts } satisfies Setup,
      }),
  );
  // A worker that fails at any point fails the driver; one that ends early without saying so too.
  const ended = threads.map(
    (thread) =>
      new Promise<void>((resolve, reject) => {
        thread.once('error', reject);
        thread.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a reading worker exited with code ${code}`))));
      }),
  );
  const failed = Promise.all(ended).then(() => {
    throw new Error('the reading workers ended before they were told to stop');
  });
  try {
    await Promise.race([failed, Promise.all(threads.map((thread) => new Promise((resolve) => thread.once('message', resolve))))]);
    await Promise.race([failed, new Promise((resolve) => setTimeout(resolve, WARM_UP_MS))]);
    const sum = (slot: number) => threads.reduce((total, _, i) => total + Atomics.load(counts, i * STRIDE + slot), 0);
    const start = performance.now();
    const cpu = process.cpuUsage();
    const [ops0, errors0] = [sum(0), sum(1)];
    await Promise.race([failed, new Promise((resolve) => setTimeout(resolve, params.seconds * 1000))]);
    const [ops1, errors1] = [sum(0), sum(1)];
    const used = process.cpuUsage(cpu);
    const elapsed = (performance.now() - start) / 1000;
    const counted = ops1 - ops0;
    return { amount: counted, seconds: elapsed, errors: errors1 - errors0, note: `${cpuPerOperation(used, counted)}, all threads` };
  } finally {
    Atomics.store(counts, stopAt, 1);
    // Each worker ends within a read of the flag; one that does not (a read that never completes)
    // is ended here, and the driver fails rather than wait for the bench's own time limit.
    let stuck: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      Promise.allSettled(ended).then(() => true),
      new Promise<false>((resolve) => (stuck = setTimeout(resolve, STOP_MS, false))),
    ]);
    clearTimeout(stuck);
    if (!stopped) {
      await Promise.all(threads.map((thread) => thread.terminate()));
      throw new Error(`a reading worker did not stop within ${STOP_MS / 1000} s of being told to`);
    }
  }
}

/** A worker's part: its own context and fd, `concurrency` loops, until the stop flag is set. */
async function work(setup: Setup): Promise<void> {
  const { counts, index, blockSize } = setup;
  const ctx = createContext({ backend: setup.backend, sqpoll: setup.sqpoll });
  const fd = fs.openSync(setup.file, fs.constants.O_RDONLY | (setup.direct ? fs.constants.O_DIRECT : 0));
  const next = randomOffsets(setup.size, blockSize, workerSeed(index));
  const stopAt = (counts.length / STRIDE - 1) * STRIDE;
  let ops = 0;
  let errors = 0;
  const loop = async () => {
    const buffer = allocAligned(blockSize);
    while (Atomics.load(counts, stopAt) === 0) {
      const n = await ctx.read(fd, buffer, next());
      if (n !== blockSize) Atomics.store(counts, index * STRIDE + 1, ++errors);
      Atomics.store(counts, index * STRIDE, ++ops);
    }
  };
  try {
    parentPort!.postMessage('ready');
    await Promise.all(Array.from({ length: setup.concurrency }, loop));
  } finally {
    await ctx.close();
    fs.closeSync(fd);
  }
}

if (!isMainThread && (workerData as Partial<Setup> | null)?.counts instanceof Int32Array) await work(workerData as Setup);
