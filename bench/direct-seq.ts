/**
 * O_DIRECT sequential 1 MiB transfers through Reader and Writer, 8 in flight, against fio with
 * the same engine, block size and depth (`--direct=1 --bs=1M --iodepth=8`): the device is the
 * limit here, and the question is whether aiofs's layers keep it as busy as fio does. The write
 * case overwrites a file laid out beforehand, as fio does, so that neither pays for allocation.
 * Node's baseline is what it offers: FileHandle on an O_DIRECT fd, one aligned 1 MiB buffer at a time.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AIOFile, allocAligned, createContext, Reader, Writer, type BackendName } from '../src/index.js';
import type { Case, Driver, Row, Settings } from './case.js';
import { timedPasses } from './closed-loop.js';
import { fioRead, fioVersion } from './fio.js';
import { dataFile } from './randread.js';

export interface DirectSeqParams {
  file: string;
  size: number;
  seconds: number;
}

const MiB = 2 ** 20;
const BLOCK = MiB;
const DEPTH = 8;

/** Passes over the whole file for the run's seconds (no warm-up: the page cache plays no part). */
const timed = (params: DirectSeqParams, pass: () => Promise<number>) => timedPasses(params.seconds, params.size, pass, false);

/**
 * An aiofs driver on a context of its own: the case's file opened direct in `mode`, and `pass`
 * moving the whole file once per timed pass.
 */
function aiofsDriver(kind: 'reader' | 'writer', backend: BackendName, label: string, mode: 'rb' | 'r+b', pass: (file: AIOFile, params: DirectSeqParams) => Promise<number>): Driver<DirectSeqParams> {
  return {
    name: `aiofs-${kind}-${backend}`,
    backend,
    label: `${label}, ${backend}`,
    async run(params) {
      const context = createContext({ backend });
      try {
        await using file = await AIOFile.open(params.file, mode, { direct: true, context });
        return await timed(params, () => pass(file, params));
      } finally {
        await context.close();
      }
    },
  };
}

const reader = (backend: BackendName) =>
  aiofsDriver('reader', backend, `aiofs Reader, direct, 1 MiB chunks, ${DEPTH} in flight`, 'rb', async (file) => {
    let n = 0;
    for await (const chunk of new Reader(file, { chunkSize: BLOCK, readAhead: DEPTH - 1 })) n += chunk.length;
    return n;
  });

const writer = (backend: BackendName) =>
  aiofsDriver('writer', backend, `aiofs Writer, direct, 1 MiB blocks, ${DEPTH} in flight`, 'r+b', async (file, params) => {
    const block = Buffer.alloc(BLOCK, 0x5a);
    const w = new Writer(file, { blockSize: BLOCK, writeBehind: DEPTH * BLOCK });
    for (let at = 0; at < params.size; at += BLOCK) await w.write(at + BLOCK <= params.size ? block : block.subarray(0, params.size - at));
    await w.flush();
    return params.size;
  });

/** Node's way: FileHandle read or write on an O_DIRECT fd, one aligned block at a time. */
function fileHandle(write: boolean): Driver<DirectSeqParams> {
  return {
    name: 'node-filehandle',
    label: `fs/promises FileHandle.${write ? 'write' : 'read'}, O_DIRECT, 1 MiB, one at a time`,
    env: { UV_USE_IO_URING: '0' },
    async run(params) {
      const flags = (write ? fs.constants.O_WRONLY : fs.constants.O_RDONLY) | fs.constants.O_DIRECT;
      const handle = await fsp.open(params.file, flags);
      const block = allocAligned(BLOCK);
      try {
        return await timed(params, async () => {
          let n = 0;
          for (let at = 0; at < params.size; at += BLOCK) {
            n += write ? (await handle.write(block, 0, BLOCK, at)).bytesWritten : (await handle.read(block, 0, BLOCK, at)).bytesRead;
          }
          return n;
        });
      } finally {
        await handle.close();
      }
    },
  };
}

/** A file of `size` bytes laid out on disk (written, not sparse), for the write case to overwrite. */
function laidOutFile(settings: Settings): string {
  const file = path.join(settings.dir, `direct-write-${settings.size}`);
  if (fs.existsSync(file) && fs.statSync(file).size === settings.size) return file;
  const zeros = Buffer.alloc(MiB);
  const fd = fs.openSync(file, 'w');
  for (let at = 0; at < settings.size; at += zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, settings.size - at));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return file;
}

function fioRows(params: DirectSeqParams, rw: 'read' | 'write'): Row[] {
  return ['io_uring', 'libaio'].map((engine): Row => {
    const row = { driver: `fio-${engine}`, label: `fio ${engine}, ${rw}, 1 MiB, iodepth ${DEPTH}` };
    if (!fioVersion()) return { ...row, unavailable: 'fio is not installed (apt-get install fio)' };
    try {
      const { bytesPerSecond } = fioRead({ rw, file: params.file, size: params.size, engine, depth: DEPTH, blockSize: BLOCK, direct: true, seconds: params.seconds });
      return { ...row, rate: bytesPerSecond / MiB };
    } catch (error) {
      return { ...row, unavailable: (error as Error).message };
    }
  });
}

const targets = [
  { driver: 'aiofs-reader-uring', baseline: 'fio-io_uring', ratio: 0.9 },
  { driver: 'aiofs-reader-aio', baseline: 'fio-libaio', ratio: 0.9 },
];

export const directSeqCases: Case<DirectSeqParams>[] = [
  {
    name: 'direct-seqread',
    title: `O_DIRECT sequential read, 1 MiB, ${DEPTH} in flight`,
    unit: 'MiB/s',
    timed: true,
    extended: true,
    prepare: (settings) => ({ file: dataFile(settings), size: settings.size, seconds: settings.seconds }),
    drivers: [reader('uring'), reader('aio'), reader('threads'), fileHandle(false)],
    external: (params) => fioRows(params, 'read'),
    baselines: ['node-filehandle', 'fio-io_uring', 'fio-libaio'],
    targets,
  },
  {
    name: 'direct-seqwrite',
    title: `O_DIRECT sequential write over a laid-out file, 1 MiB, ${DEPTH} in flight`,
    unit: 'MiB/s',
    timed: true,
    extended: true,
    prepare: (settings) => ({ file: laidOutFile(settings), size: settings.size, seconds: settings.seconds }),
    drivers: [writer('uring'), writer('aio'), writer('threads'), fileHandle(true)],
    external: (params) => fioRows(params, 'write'),
    baselines: ['node-filehandle', 'fio-io_uring', 'fio-libaio'],
    targets: targets.map((t) => ({ ...t, driver: t.driver.replace('reader', 'writer') })),
  },
];
