/**
 * The things a benchmark compares: aiofs on each backend and what Node users have today. Each
 * driver runs in its own child process (bench/child.ts), so that no driver warms up, loads or
 * slows another; the orchestrator (bench/run.ts) only spawns them and compares their figures.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { allocAligned, createContext, type BackendName } from '../src/index.js';

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

export interface Measurement {
  ops: number;
  seconds: number;
  errors: number;
}

export interface Driver {
  name: string;
  /** A short description for the table. */
  label: string;
  /** Extra environment for its child process. */
  env?: Record<string, string>;
  randomRead(params: RandomReadParams): Promise<Measurement>;
}

/** xorshift32: the same offsets for every driver, no Math.random in the hot loop. */
function offsets(params: RandomReadParams, seed: number): () => number {
  const blocks = Math.floor(params.size / params.blockSize);
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % blocks) * params.blockSize;
  };
}

/**
 * Run `concurrency` loops of `step` for `seconds` after a short warm-up, counting operations.
 * `step` returns the bytes one operation moved; anything but a full block counts as an error.
 */
async function closedLoop(params: RandomReadParams, step: (worker: number, next: () => number) => Promise<number>): Promise<Measurement> {
  let ops = 0;
  let errors = 0;
  let counting = false;
  let stop = false;
  const worker = async (index: number) => {
    const next = offsets(params, 0x9e3779b9 + index * 7919);
    while (!stop) {
      const n = await step(index, next);
      if (!counting) continue;
      ops++;
      if (n !== params.blockSize) errors++;
    }
  };
  const loops = Array.from({ length: params.concurrency }, (_, i) => worker(i));
  await new Promise((resolve) => setTimeout(resolve, 300));
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, params.seconds * 1000));
  const seconds = (performance.now() - start) / 1000;
  const counted = ops;
  stop = true;
  await Promise.all(loops);
  return { ops: counted, seconds, errors };
}

function buffers(params: RandomReadParams): Buffer[] {
  return Array.from({ length: params.concurrency }, () =>
    params.direct ? allocAligned(params.blockSize) : Buffer.allocUnsafe(params.blockSize),
  );
}

function openFlags(params: RandomReadParams): number {
  return fs.constants.O_RDONLY | (params.direct ? fs.constants.O_DIRECT : 0);
}

function aiofs(backend: BackendName, sqpoll = false): Driver {
  return {
    name: `aiofs-${backend}${sqpoll ? '-sqpoll' : ''}`,
    label: `aiofs ctx.read, ${backend}${sqpoll ? ' + SQPOLL' : ''}`,
    async randomRead(params) {
      const ctx = createContext({ backend, sqpoll });
      const fd = fs.openSync(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await closedLoop(params, (i, next) => ctx.read(fd, bufs[i], next()));
      } finally {
        await ctx.close();
        fs.closeSync(fd);
      }
    },
  };
}

function fileHandle(uvIoUring: boolean): Driver {
  return {
    name: `node-filehandle${uvIoUring ? '-uvuring' : ''}`,
    label: `fs/promises FileHandle.read${uvIoUring ? ', UV_USE_IO_URING=1' : ''}`,
    env: uvIoUring ? { UV_USE_IO_URING: '1' } : { UV_USE_IO_URING: '0' },
    async randomRead(params) {
      const handle = await fsp.open(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await closedLoop(params, async (i, next) => (await handle.read(bufs[i], 0, params.blockSize, next())).bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

function fsRead(uvIoUring: boolean): Driver {
  return {
    name: `node-fsread${uvIoUring ? '-uvuring' : ''}`,
    label: `fs.read callback${uvIoUring ? ', UV_USE_IO_URING=1' : ''}`,
    env: uvIoUring ? { UV_USE_IO_URING: '1' } : { UV_USE_IO_URING: '0' },
    async randomRead(params) {
      const fd = fs.openSync(params.file, openFlags(params));
      const bufs = buffers(params);
      try {
        return await closedLoop(
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

export const drivers: readonly Driver[] = [
  aiofs('uring'),
  aiofs('uring', true),
  aiofs('aio'),
  aiofs('threads'),
  fileHandle(false),
  fsRead(false),
  fileHandle(true),
  fsRead(true),
];

export function driverNamed(name: string): Driver {
  const driver = drivers.find((d) => d.name === name);
  if (!driver) throw new Error(`unknown driver ${name}`);
  return driver;
}
