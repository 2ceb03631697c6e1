/**
 * Random 4 KiB reads of one data file, cached or O_DIRECT, 1 or 32 at a time: the per-operation
 * cost, which is where a thread hop per call shows most. fio with the same parameters gives the
 * machine's limit.
 */
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AIOFile, allocAligned, createContext, type BackendName } from '../src/index.js';
import { allocAlignedUnsafe } from '../src/direct/aligned.js';
import { Op } from '../src/backend/op.js';
import { sqpollAvailability } from '../src/backend/uring.js';
import { loadNative } from '../src/native.js';
import * as aiofsPromises from '../src/promises/index.js';
import type { Case, Driver, Measurement, Row, Settings } from './case.js';
import { closedLoop, randomOffsets, workerSeed } from './closed-loop.js';
import { readInWorkers } from './in-workers.js';
import { fioRead, fioVersion } from './fio.js';

/** What a driver measures in a random-read case. */
export interface RandomReadParams {
  file: string;
  /** Bytes of the file that offsets are drawn from. */
  size: number;
  blockSize: number;
  concurrency: number;
  seconds: number;
  direct: boolean;
}


/**
 * The closed loop with xorshift offsets per worker; a read of anything but a full block is an
 * error. `bytes` reads the count from what the step resolves with (a number, `{ bytesRead }`, a
 * Buffer), so that every driver's operation is awaited the same way, as its user would: the
 * step returns the library's own promise, awaited once.
 */
function randomLoop<R>(
  params: RandomReadParams,
  step: (worker: number, next: () => number) => Promise<R>,
  bytes: (result: R) => number = (result) => result as number,
): Promise<Measurement> {
  return closedLoop(
    params.concurrency,
    params.seconds,
    (index) => {
      const next = randomOffsets(params.size, params.blockSize, workerSeed(index));
      return () => step(index, next);
    },
    (result) => bytes(result) === params.blockSize,
  );
}

/**
 * Each worker's buffer, page-aligned for every driver, cached or not, as fio's and the C
 * references' are: Buffer.allocUnsafe puts 4 KiB 16-48 bytes off a cache line, and the kernel's
 * copy of a cached read into such a buffer is about 4.5% slower, which would measure where the
 * allocator put the buffer rather than the path under test.
 */
function buffers(params: RandomReadParams): Buffer[] {
  return Array.from({ length: params.concurrency }, () => allocAligned(params.blockSize));
}

function openFlags(params: RandomReadParams): number {
  return fs.constants.O_RDONLY | (params.direct ? fs.constants.O_DIRECT : 0);
}

/**
 * A new page-aligned 4 KiB buffer per call, cut from 64 KiB blocks neither zeroed nor reused (as
 * AIOFile.read's and Buffer.allocUnsafe's are): the least a read that returns new memory can
 * cost, the reference for AIOFile.read (docs/benchmarks.md, "One read at a time").
 */
function newBuffers(blockSize: number): () => Buffer {
  const BLOCK = 64 * 1024;
  let block: Buffer = Buffer.alloc(0);
  let used = 0;
  return () => {
    if (used + blockSize > block.length) {
      block = allocAlignedUnsafe(Math.max(BLOCK, blockSize), 4096);
      used = 0;
    }
    used += blockSize;
    return block.subarray(used - blockSize, used);
  };
}

/**
 * About the memory a loop that drops each result touches between two collections of its young
 * garbage, which is when the memory of dropped results can be used again: a loop of 4 KiB
 * AIOFile.read here makes about 1,800 reads per scavenge, 7 MiB of results (node --trace-gc).
 * More than the CPU's cache holds (2 MiB of L2 per core here).
 */
const SPREAD_BYTES = 8 << 20;

/**
 * aiofs's IoContext.read on the same fd as everyone else. `fixed`: the workers' buffers are
 * slices of one registered buffer (READ_FIXED on uring). `newBuffer`: each read goes into memory
 * of its own, as a read that returns a new Buffer must. `spread`: each read goes into the next
 * 4 KiB of a SPREAD_BYTES ring written beforehand, the cost of memory out of the cache without
 * the allocation.
 */
function aiofs(
  backend: BackendName,
  variant: { sqpoll?: boolean; fixed?: boolean; waiter?: boolean; newBuffer?: boolean; spread?: boolean } = {},
): Driver<RandomReadParams> {
  const { sqpoll = false, fixed = false, waiter = false, newBuffer = false, spread = false } = variant;
  const suffix = sqpoll ? '-sqpoll' : fixed ? '-fixed' : waiter ? '-waiter' : newBuffer ? '-newbuffer' : spread ? '-spread' : '';
  return {
    name: `aiofs-${backend}${suffix}`,
    backend,
    label: `aiofs ctx.read, ${backend}${sqpoll ? ' + SQPOLL' : ''}${fixed ? ' + registered buffers' : ''}${waiter ? ', completions by a waiter thread' : ''}${newBuffer ? ', a new buffer per read' : ''}${spread ? `, a ${SPREAD_BYTES >> 20} MiB ring of buffers` : ''}`,
    // Bun's and Deno's path, on whatever runtime runs the drivers.
    ...(waiter && { env: { AIOFS_DELIVERY: 'thread' }, optional: true }),
    ...(spread && { optional: true }),
    async run(params) {
      const ctx = createContext({ backend, sqpoll });
      const fd = fs.openSync(params.file, openFlags(params));
      let bufs = buffers(params);
      if (fixed) {
        const whole = allocAligned(params.blockSize * params.concurrency);
        if (!(await ctx.registerBuffers([whole]))) throw new Error('the buffers could not be registered');
        bufs = bufs.map((_, i) => whole.subarray(i * params.blockSize, (i + 1) * params.blockSize));
      }
      try {
        if (newBuffer) {
          const allocate = newBuffers(params.blockSize);
          return await randomLoop(params, (_, next) => ctx.read(fd, allocate(), next()));
        }
        if (spread) {
          // Views made beforehand: the row is the memory's cost alone, with nothing allocated per read.
          const ring = allocAligned(SPREAD_BYTES).fill(1);
          const views = Array.from({ length: SPREAD_BYTES / params.blockSize }, (_, i) => ring.subarray(i * params.blockSize, (i + 1) * params.blockSize));
          let at = 0;
          return await randomLoop(params, (_, next) => {
            const view = views[at];
            at = at + 1 === views.length ? 0 : at + 1;
            return ctx.read(fd, view, next());
          });
        }
        return await randomLoop(params, (i, next) => ctx.read(fd, bufs[i], next()));
      } finally {
        await ctx.close();
        fs.closeSync(fd);
      }
    },
  };
}

/**
 * The least a promise per read costs over aiofs's own ring: the native engine (native/uring.c)
 * driven by a dozen lines of JavaScript, none of aiofs's. No argument checks, no request object,
 * no counters or latency samples, no queue, no abort, no guarantee at close, no fallback: what
 * ctx.read would cost if its bookkeeping were free, so the row says how much of the distance to
 * fio and the C reference is aiofs's JavaScript and how much a promise per read in Node.js.
 * One at a time each read is prepared, submitted and reaped in one native call (as ctx.read
 * does then); at depth the reads of a tick are prepared one by one and go to the kernel in one
 * submit made by a microtask, with an inline budget per turn of the event loop (as ctx.read's).
 */
function engineFloor(): Driver<RandomReadParams> {
  return {
    name: 'aiofs-engine-floor',
    backend: 'uring',
    label: 'native ring, a bare promise per read (no aiofs JavaScript)',
    optional: true,
    async run(params) {
      const createUring = loadNative().createUring;
      if (!createUring) throw new Error('no io_uring engine in this build');
      const capacity = 256;
      // The kernel's completion queue holds twice the entries: as many (slot, result) pairs.
      const completions = new Int32Array(2 * 2 * capacity);
      const settle: (((result: number) => void) | undefined)[] = new Array(capacity).fill(undefined);
      const free = Array.from({ length: capacity }, (_, i) => i);
      const deliver = (count: number) => {
        for (let i = 0; i < count; i++) {
          const slot = completions[2 * i];
          const resolve = settle[slot]!;
          settle[slot] = undefined;
          free.push(slot);
          resolve(completions[2 * i + 1]);
        }
      };
      const engine = createUring(capacity, false, 0, 0, completions, deliver);
      if (typeof engine === 'number') throw new Error(`io_uring_setup failed: errno ${-engine}`);
      const resolved = Promise.resolve();
      let flushScheduled = false;
      let inlineFlushes = 0;
      const flush = () => {
        flushScheduled = false;
        engine.submit();
        for (let count; (count = engine.reap()) > 0; ) deliver(count);
      };
      const alone = (fd: number, buffer: Buffer, offset: number): Promise<number> => {
        const slot = free.pop()!;
        const count = engine.submitRw(Op.Read, fd, buffer, offset, slot);
        if (count === 1 && completions[0] === slot) {
          free.push(slot);
          if (++inlineFlushes < 256) return Promise.resolve(completions[1]);
          // Reads settled inside the call resume their caller in microtasks: let the loop turn.
          inlineFlushes = 0;
          const result = completions[1];
          return new Promise((resolve) => setImmediate(resolve, result));
        }
        const promise = new Promise<number>((resolve) => (settle[slot] = resolve));
        if (count > 0) deliver(count);
        return promise;
      };
      const batched = (fd: number, buffer: Buffer, offset: number): Promise<number> => {
        const slot = free.pop()!;
        engine.prepRw(Op.Read, fd, buffer, offset, slot);
        if (!flushScheduled) {
          flushScheduled = true;
          if (++inlineFlushes < 256) void resolved.then(flush);
          else {
            inlineFlushes = 0;
            setImmediate(flush);
          }
        }
        return new Promise<number>((resolve) => (settle[slot] = resolve));
      };
      const read = params.concurrency === 1 ? alone : batched;
      const fd = fs.openSync(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await randomLoop(params, (i, next) => read(fd, bufs[i], next()));
      } finally {
        engine.close();
        fs.closeSync(fd);
      }
    },
  };
}

/** Worker threads in the driver's process, each reading through a context of its own. */
const READING_WORKERS = 2;

/**
 * ctx.read from READING_WORKERS worker threads at once, each with its own uring context, each as
 * many reads at a time as the case: the rows that show what the contexts of one process share.
 * With `sqpoll`, the workers' rings share the process's polling threads once it has its limit of
 * them (one on two CPUs, docs/backends.md).
 */
function aiofsInWorkers(sqpoll: boolean): Driver<RandomReadParams> {
  return {
    name: `aiofs-uring${sqpoll ? '-sqpoll' : ''}-workers`,
    backend: 'uring',
    label: `aiofs ctx.read, uring${sqpoll ? ' + SQPOLL' : ''}, ${READING_WORKERS} worker threads with a context each (the case's depth each)`,
    optional: true,
    run: (params) => readInWorkers(READING_WORKERS, params, { backend: 'uring', sqpoll }),
  };
}

/** FileHandle.read on a handle `open` gives: node:fs/promises' or aiofs/promises'. */
function handleDriver(
  driver: Pick<Driver<RandomReadParams>, 'name' | 'label' | 'env' | 'backend' | 'optional'>,
  open: (file: string, flags: number) => Promise<Pick<fsp.FileHandle, 'read' | 'close'>>,
): Driver<RandomReadParams> {
  return {
    ...driver,
    async run(params) {
      const handle = await open(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await randomLoop(params, (i, next) => handle.read(bufs[i], 0, params.blockSize, next()), (result) => result.bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

function fileHandle(uvIoUring: boolean): Driver<RandomReadParams> {
  return handleDriver(
    {
      name: `node-filehandle${uvIoUring ? '-uvuring' : ''}`,
      label: `fs/promises FileHandle.read${uvIoUring ? ', UV_USE_IO_URING=1' : ''}`,
      env: uvIoUring ? { UV_USE_IO_URING: '1' } : { UV_USE_IO_URING: '0' },
    },
    (file, flags) => fsp.open(file, flags),
  );
}

/** aiofs/promises' FileHandle.read: the drop-in's path, its reference counting included. */
function aiofsFileHandle(sqpoll = false): Driver<RandomReadParams> {
  return handleDriver(
    {
      name: `aiofs-promises-filehandle${sqpoll ? '-sqpoll' : ''}`,
      backend: 'uring',
      label: `aiofs/promises FileHandle.read, uring${sqpoll ? ' + SQPOLL (AIOFS_SQPOLL=1)' : ''}`,
      env: { AIOFS_BACKEND: 'uring', AIOFS_SQPOLL: sqpoll ? '1' : '0' },
      optional: sqpoll,
    },
    (file, flags) => aiofsPromises.open(file, flags),
  );
}

/**
 * AIOFile on the uring backend: `readInto` fills the worker's buffer as ctx.read does; `read`
 * returns a new Buffer per call, as aiofile's read does.
 */
function aiofile(method: 'read' | 'readInto'): Driver<RandomReadParams> {
  return {
    name: `aiofs-aiofile-${method === 'read' ? 'read' : 'readinto'}`,
    backend: 'uring',
    label: `aiofs AIOFile.${method}, uring`,
    env: { AIOFS_BACKEND: 'uring' },
    async run(params) {
      const file = await AIOFile.open(params.file, 'rb', { direct: params.direct });
      const bufs = buffers(params);
      try {
        return method === 'read'
          ? await randomLoop(params, (_, next) => file.read(params.blockSize, next()), (bytes) => bytes.length)
          : await randomLoop(params, (i, next) => file.readInto(bufs[i], next()));
      } finally {
        await file.close();
      }
    },
  };
}

function fsRead(uvIoUring: boolean): Driver<RandomReadParams> {
  return {
    name: `node-fsread${uvIoUring ? '-uvuring' : ''}`,
    label: `fs.read callback${uvIoUring ? ', UV_USE_IO_URING=1' : ''}`,
    env: uvIoUring ? { UV_USE_IO_URING: '1' } : { UV_USE_IO_URING: '0' },
    async run(params) {
      const fd = fs.openSync(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await randomLoop(
          params,
          (i, next) =>
            new Promise((resolve, reject) =>
              fs.read(fd, bufs[i], 0, params.blockSize, next(), (error, n) => (error ? reject(error) : resolve(n))),
            ),
        );
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/**
 * A SQPOLL driver that fails, saying why, where a context would not get its polling thread (one
 * CPU only, or the kernel refuses it): its figures would be the plain ring's under a SQPOLL label.
 */
function needsSqpoll(driver: Driver<RandomReadParams>): Driver<RandomReadParams> {
  return {
    ...driver,
    run(params) {
      const { available, reason } = sqpollAvailability();
      if (!available) throw new Error(`sqpoll is unavailable here: ${reason}`);
      return driver.run(params);
    },
  };
}

const drivers: readonly Driver<RandomReadParams>[] = [
  aiofs('uring'),
  needsSqpoll(aiofs('uring', { sqpoll: true })),
  aiofs('uring', { fixed: true }),
  aiofs('uring', { waiter: true }),
  aiofs('uring', { newBuffer: true }),
  aiofs('uring', { spread: true }),
  aiofs('aio'),
  aiofs('threads'),
  engineFloor(),
  aiofsInWorkers(false),
  needsSqpoll(aiofsInWorkers(true)),
  aiofsFileHandle(),
  needsSqpoll(aiofsFileHandle(true)),
  aiofile('readInto'),
  aiofile('read'),
  fileHandle(false),
  fsRead(false),
  fileHandle(true),
  fsRead(true),
];

/** Deterministic incompressible bytes (AES-CTR keystream), written once per run, synced, and left in the page cache. */
export function dataFile(settings: Settings): string {
  const file = path.join(settings.dir, `randread-${settings.size}`);
  if (fs.existsSync(file)) return file;
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < settings.size; written += zeros.length) {
    const chunk = cipher.update(zeros);
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, settings.size - written));
  }
  // Written back before any driver runs: the first one must not compete with 1 GiB of writeback.
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return file;
}

function randomRead(options: {
  concurrency: number;
  direct: boolean;
  fioEngines: string[];
  drivers?: string[];
  baselines: string[];
  targets: Case['targets'];
}): Case<RandomReadParams> {
  const { concurrency, direct } = options;
  const kind = direct ? 'O_DIRECT' : 'cached';
  return {
    name: `${direct ? 'direct-' : ''}randread-qd${concurrency}`,
    title: `${kind} 4 KiB random read, ${concurrency === 1 ? '1 at a time' : `${concurrency} concurrent`}`,
    unit: 'IOPS',
    timed: true,
    prepare: (settings) => ({ file: dataFile(settings), size: settings.size, blockSize: 4096, concurrency, seconds: settings.seconds, direct }),
    // AIOFile's rows, and the new-buffer row they are read against, matter one at a time (the
    // cost per call against ctx.read's), not at depth.
    drivers: drivers.filter((d) =>
      options.drivers
        ? options.drivers.includes(d.name)
        : d.name !== 'aiofs-uring-fixed' && (concurrency === 1 || !(d.name.startsWith('aiofs-aiofile') || d.name === 'aiofs-uring-newbuffer')),
    ),
    extended: concurrency > 32,
    external(params) {
      const fio = fioVersion();
      return options.fioEngines.map((name): Row => {
        // 'io_uring-sqpoll': io_uring with a kernel thread polling its submission queue, the
        // limit for aiofs's `sqpoll: true`.
        const sqpoll = name.endsWith('-sqpoll');
        const engine = sqpoll ? name.slice(0, -'-sqpoll'.length) : name;
        const row = { driver: `fio-${name}`, label: `fio ${engine}${sqpoll ? ' + SQPOLL' : ''}, iodepth ${concurrency}` };
        if (!fio) return { ...row, unavailable: 'fio is not installed (apt-get install fio)' };
        try {
          return { ...row, rate: fioRead({ ...params, engine, depth: concurrency, sqpoll }).iops };
        } catch (error) {
          return { ...row, unavailable: (error as Error).message };
        }
      });
    },
    baselines: options.baselines,
    targets: options.targets,
  };
}

const nodeBaselines = ['node-filehandle', 'node-fsread', 'node-filehandle-uvuring'];

export const randomReadCases: Case<RandomReadParams>[] = [
  randomRead({
    concurrency: 1,
    direct: false,
    fioEngines: ['psync', 'io_uring', 'io_uring-sqpoll', 'libaio'],
    baselines: nodeBaselines,
    targets: [
      { driver: 'aiofs-uring', baseline: 'fio-io_uring', ratio: 0.85 },
      // Where io_uring is refused (a container: docs/backends.md), aio against fio's libaio.
      { driver: 'aiofs-aio', baseline: 'fio-libaio', ratio: 0.85 },
      { driver: 'aiofs-uring-sqpoll', baseline: 'fio-io_uring-sqpoll', ratio: 0.85 },
      { driver: 'aiofs-promises-filehandle', baseline: 'aiofs-uring', ratio: 0.9 },
      { driver: 'aiofs-aiofile-readinto', baseline: 'aiofs-uring', ratio: 0.9 },
      // A new Buffer per read lands in memory no cache holds: docs/benchmarks.md, "One read at a
      // time". The second line holds it to ctx.read paying the same.
      { driver: 'aiofs-aiofile-read', baseline: 'aiofs-uring', ratio: 0.9 },
      { driver: 'aiofs-aiofile-read', baseline: 'aiofs-uring-newbuffer', ratio: 0.9 },
    ],
  }),
  randomRead({
    concurrency: 32,
    direct: false,
    fioEngines: ['psync', 'io_uring', 'io_uring-sqpoll', 'libaio'],
    baselines: nodeBaselines,
    targets: [
      { driver: 'aiofs-uring', baseline: 'fio-io_uring', ratio: 1 },
      { driver: 'aiofs-uring', baseline: 'node-filehandle', ratio: 5 },
      { driver: 'aiofs-uring', baseline: 'node-fsread', ratio: 2 },
    ],
  }),
  ...[1, 32, 128].map((concurrency) =>
    randomRead({
      concurrency,
      direct: true,
      fioEngines: ['io_uring', 'libaio'],
      drivers: ['aiofs-uring', 'aiofs-uring-fixed', 'aiofs-aio', 'aiofs-threads', 'node-filehandle', 'node-fsread'],
      baselines: ['node-filehandle', 'fio-io_uring', 'fio-libaio'],
      targets: [
        { driver: 'aiofs-uring', baseline: 'fio-io_uring', ratio: 0.9 },
        { driver: 'aiofs-aio', baseline: 'fio-libaio', ratio: 0.9 },
      ],
    }),
  ),
];
