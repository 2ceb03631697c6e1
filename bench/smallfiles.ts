/**
 * Many small files: 10,000 files of 4 KiB, 64 calls in flight, the whole-file calls a web server
 * or a build tool makes (readFile, writeFile, stat, open+read+close): aiofs/promises against
 * node:fs/promises, which pays a thread hop for each open, fstat, read and close.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import path from 'node:path';
import type { Case, Driver, Measurement, Settings } from './case.js';
import { closedLoop } from './closed-loop.js';

export interface SmallFilesParams {
  dir: string;
  count: number;
  size: number;
  concurrency: number;
  seconds: number;
}

type Operation = 'readfile' | 'writefile' | 'stat' | 'open-read-close';
type FsPromises = typeof nodefs;

const FILES = 10_000;
const SIZE = 4096;

function files(settings: Settings): string {
  const dir = path.join(settings.dir, 'smallfiles');
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir);
  const content = Buffer.alloc(SIZE);
  for (let i = 0; i < FILES; i++) {
    content.writeUInt32LE(i, 0);
    fs.writeFileSync(path.join(dir, `f${i}`), content);
  }
  execFileSync('sync'); // no writeback left for the first driver to compete with
  return dir;
}

/** The closed loop over the files, taken round-robin by all workers together. */
function filesLoop(params: SmallFilesParams, step: (file: string, index: number) => Promise<boolean>): Promise<Measurement> {
  const names = Array.from({ length: params.count }, (_, i) => path.join(params.dir, `f${i}`));
  let next = 0;
  return closedLoop(
    params.concurrency,
    params.seconds,
    () => () => {
      const index = next++ % names.length;
      return step(names[index], index);
    },
    (ok) => ok,
  );
}

function run(fsys: FsPromises, operation: Operation, params: SmallFilesParams): Promise<Measurement> {
  const content = Buffer.alloc(params.size);
  const buffers = new Map<number, Buffer>();
  switch (operation) {
    case 'readfile':
      return filesLoop(params, async (file, i) => {
        const data = await fsys.readFile(file);
        return data.length === params.size && data.readUInt32LE(0) === i;
      });
    case 'writefile':
      return filesLoop(params, async (file, i) => {
        content.writeUInt32LE(i, 0);
        await fsys.writeFile(file, content);
        return true;
      });
    case 'stat':
      return filesLoop(params, async (file) => (await fsys.stat(file)).size === params.size);
    case 'open-read-close':
      return filesLoop(params, async (file, i) => {
        const handle = await fsys.open(file, 'r');
        try {
          const buffer = buffers.get(i % params.concurrency) ?? Buffer.alloc(params.size);
          buffers.set(i % params.concurrency, buffer);
          const { bytesRead } = await handle.read(buffer, 0, params.size, 0);
          return bytesRead === params.size;
        } finally {
          await handle.close();
        }
      });
  }
}

function drivers(operation: Operation): Driver<SmallFilesParams>[] {
  const aiofs = (backend: 'uring' | 'aio' | 'threads'): Driver<SmallFilesParams> => ({
    name: `aiofs-promises-${backend}`,
    backend,
    label: `aiofs/promises, ${backend}`,
    env: { AIOFS_BACKEND: backend },
    run: async (params) => run((await import('../src/promises/index.js')).default as unknown as FsPromises, operation, params),
  });
  const node = (uvIoUring: boolean): Driver<SmallFilesParams> => ({
    name: `node-promises${uvIoUring ? '-uvuring' : ''}`,
    label: `node:fs/promises${uvIoUring ? ', UV_USE_IO_URING=1' : ''}`,
    env: { UV_USE_IO_URING: uvIoUring ? '1' : '0' },
    run: (params) => run(nodefs, operation, params),
  });
  return [aiofs('uring'), aiofs('aio'), aiofs('threads'), node(false), node(true)];
}

const titles: Record<Operation, string> = { readfile: 'readFile', writefile: 'writeFile', stat: 'stat', 'open-read-close': 'open + read + close' };
const targets: Record<Operation, number> = { readfile: 2.5, writefile: 2, stat: 2.5, 'open-read-close': 0 };

export const smallFilesCases: Case<SmallFilesParams>[] = (['readfile', 'writefile', 'stat', 'open-read-close'] as const).map(
  (operation) => ({
    name: `smallfiles-${operation}`,
    title: `${titles[operation]} of 10,000 files of 4 KiB, 64 concurrent`,
    unit: 'ops/s',
    timed: true,
    prepare: (settings) => ({ dir: files(settings), count: FILES, size: SIZE, concurrency: 64, seconds: settings.seconds }),
    drivers: drivers(operation),
    baselines: ['node-promises', 'node-promises-uvuring'],
    targets: targets[operation] ? [{ driver: 'aiofs-promises-uring', baseline: 'node-promises', ratio: targets[operation] }] : [],
  }),
);
