/**
 * Sequential 64 KiB writes of a new file (1 GiB by default) into the page cache: aiofs Writer
 * against fs.createWriteStream, each waiting for one write before the next as a careful program
 * does, and Writer with several writes in flight. Each driver starts after a sync, so that no
 * driver pays for the writeback of another's data.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { AIOFile, Writer } from '../src/index.js';
import type { Case, Driver, Measurement } from './case.js';

export interface WriteParams {
  file: string;
  size: number;
  blockSize: number;
}

const BLOCK = 1 << 16;
const MiB = 2 ** 20;

function block(): Buffer {
  const bytes = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i < BLOCK; i++) bytes[i] = (i * 131 + (i >>> 9)) & 0xff;
  return bytes;
}

/** Time writing the whole file; a file of any other size afterwards is an error. */
async function timed(params: WriteParams, write: (data: Buffer, blocks: number) => Promise<void>): Promise<Measurement> {
  fs.rmSync(params.file, { force: true });
  execFileSync('sync');
  const blocks = Math.ceil(params.size / BLOCK);
  const data = block();
  const start = performance.now();
  await write(data, blocks);
  const seconds = (performance.now() - start) / 1000;
  const size = fs.statSync(params.file).size;
  fs.rmSync(params.file, { force: true });
  return { amount: (blocks * BLOCK) / MiB, seconds, errors: size === blocks * BLOCK ? 0 : 1 };
}

function aiofsWriter(inFlight: number): Driver<WriteParams> {
  return {
    name: inFlight === 1 ? 'aiofs-writer' : `aiofs-writer-x${inFlight}`,
    backend: 'auto',
    label: inFlight === 1 ? 'aiofs Writer, one write at a time' : `aiofs Writer, ${inFlight} writes in flight`,
    run: (params) =>
      timed(params, async (data, blocks) => {
        await using file = await AIOFile.open(params.file, 'wb');
        const writer = new Writer(file);
        for (let i = 0; i < blocks; i++) {
          const written = writer.write(data);
          if (inFlight === 1) await written;
          else if ((i + 1) % inFlight === 0) await writer.flush();
        }
        await writer.flush();
      }),
  };
}

const drivers: readonly Driver<WriteParams>[] = [
  aiofsWriter(1),
  aiofsWriter(8),
  {
    name: 'node-writestream',
    label: 'fs.createWriteStream, waiting for drain',
    run: (params) =>
      timed(params, async (data, blocks) => {
        const stream = fs.createWriteStream(params.file);
        for (let i = 0; i < blocks; i++) {
          if (!stream.write(data)) await once(stream, 'drain');
        }
        stream.end();
        await once(stream, 'close');
      }),
  },
];

export const writeCase: Case<WriteParams> = {
  name: 'write-seq',
  title: 'sequential 64 KiB writes of a new file',
  unit: 'MiB/s',
  timed: false,
  prepare: (settings) => ({ file: path.join(settings.dir, 'written'), size: settings.writeSize, blockSize: BLOCK }),
  drivers,
  baselines: ['node-writestream'],
  targets: [],
};
