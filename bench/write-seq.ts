/**
 * Sequential 64 KiB writes of a new file (1 GiB by default) into the page cache, each awaited
 * before the next as a careful program does: aiofs Writer with write-behind (the default) and
 * without, against fs.createWriteStream waiting for 'drain'. Each run starts after a sync, so
 * that no run pays for the writeback of another's data; each driver reports its median of three.
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

const REPEATS = 3;

/**
 * Time writing the whole file, three times, each after deleting the last copy and a sync; the
 * median counts (the kernel's writeback makes single runs swing by 3x on a VM). A file of any
 * other size afterwards is an error.
 */
async function timed(params: WriteParams, write: (data: Buffer, blocks: number) => Promise<void>): Promise<Measurement> {
  const blocks = Math.ceil(params.size / BLOCK);
  const data = block();
  const times: number[] = [];
  let errors = 0;
  for (let i = 0; i < REPEATS; i++) {
    fs.rmSync(params.file, { force: true });
    execFileSync('sync');
    const start = performance.now();
    await write(data, blocks);
    times.push((performance.now() - start) / 1000);
    if (fs.statSync(params.file).size !== blocks * BLOCK) errors++;
  }
  fs.rmSync(params.file, { force: true });
  times.sort((a, b) => a - b);
  const seconds = times[Math.floor(REPEATS / 2)];
  const note = `runs: ${times.map((t) => ((blocks * BLOCK) / MiB / t).toFixed(0)).join(', ')} MiB/s`;
  return { amount: (blocks * BLOCK) / MiB, seconds, errors, note };
}

/** `await writer.write(block)` in a loop, then flush(): with write-behind (the default) or without. */
function aiofsWriter(writeBehind: boolean): Driver<WriteParams> {
  return {
    name: writeBehind ? 'aiofs-writer' : 'aiofs-writer-through',
    backend: 'auto',
    label: writeBehind ? 'aiofs Writer (write-behind, the default)' : 'aiofs Writer, writeBehind: 0 (each write awaited)',
    run: (params) =>
      timed(params, async (data, blocks) => {
        await using file = await AIOFile.open(params.file, 'wb');
        const writer = new Writer(file, writeBehind ? {} : { writeBehind: 0 });
        for (let i = 0; i < blocks; i++) await writer.write(data);
        await writer.flush();
      }),
  };
}

const drivers: readonly Driver<WriteParams>[] = [
  aiofsWriter(true),
  aiofsWriter(false),
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
  targets: [{ driver: 'aiofs-writer', baseline: 'node-writestream', ratio: 1.5 }],
};
