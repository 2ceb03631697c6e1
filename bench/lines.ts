/**
 * Counting the lines of a large cached text file (6 million lines, about 400 MB by default):
 * LineReader one line at a time and a batch at a time, against what Node offers for the job,
 * FileHandle.readLines() and readline over createReadStream.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { AIOFile, LineReader } from '../src/index.js';
import type { Case, Driver, Measurement, Settings } from './case.js';

export interface LinesParams {
  file: string;
  lines: number;
}

/**
 * Lines of 20 to 112 characters cut from a fixed text with xorshift: the same file on every
 * machine, mostly ASCII with a two-byte character in every 16th line, as real logs and CSVs are.
 */
function textFile(settings: Settings): string {
  const file = path.join(settings.dir, `lines-${settings.lines}`);
  if (fs.existsSync(file)) return file;
  const words = Buffer.from('lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore '.repeat(4));
  const accent = Buffer.from('é');
  const out = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'w');
  let used = 0;
  let x = 0x2545f491;
  for (let line = 0; line < settings.lines; line++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const length = 20 + ((x >>> 0) % 93);
    if (used + length + 3 > out.length) {
      fs.writeSync(fd, out, 0, used);
      used = 0;
    }
    used += words.copy(out, used, (x >>> 8) & 0xff, ((x >>> 8) & 0xff) + length);
    if (line % 16 === 0) used += accent.copy(out, used);
    out[used++] = 0x0a;
  }
  fs.writeSync(fd, out, 0, used);
  fs.fsyncSync(fd); // no writeback left for the first driver to compete with
  fs.closeSync(fd);
  return file;
}

/** Time one pass over the file; a count other than the number of lines written is an error. */
async function timed(params: LinesParams, count: () => Promise<number>): Promise<Measurement> {
  const start = performance.now();
  const lines = await count();
  const seconds = (performance.now() - start) / 1000;
  return { amount: lines, seconds, errors: lines === params.lines ? 0 : 1 };
}

const drivers: readonly Driver<LinesParams>[] = [
  {
    name: 'aiofs-linereader',
    backend: 'auto',
    label: 'aiofs LineReader, for await of lines',
    run: (params) =>
      timed(params, async () => {
        await using file = await AIOFile.open(params.file);
        let count = 0;
        for await (const _ of new LineReader(file)) count++;
        return count;
      }),
  },
  {
    name: 'aiofs-linereader-batches',
    backend: 'auto',
    label: 'aiofs LineReader.batches()',
    run: (params) =>
      timed(params, async () => {
        await using file = await AIOFile.open(params.file);
        let count = 0;
        for await (const batch of new LineReader(file).batches()) count += batch.length;
        return count;
      }),
  },
  {
    name: 'node-readlines',
    label: 'fs/promises FileHandle.readLines()',
    run: (params) =>
      timed(params, async () => {
        const handle = await fsp.open(params.file);
        let count = 0;
        for await (const _ of handle.readLines()) count++;
        return count;
      }),
  },
  {
    name: 'node-readline-stream',
    label: 'readline over fs.createReadStream',
    run: (params) =>
      timed(params, async () => {
        let count = 0;
        for await (const _ of readline.createInterface({ input: fs.createReadStream(params.file), crlfDelay: Infinity })) count++;
        return count;
      }),
  },
];

export const linesCase: Case<LinesParams> = {
  name: 'lines',
  title: 'count the lines of a cached text file',
  unit: 'lines/s',
  timed: false,
  prepare: (settings) => ({ file: textFile(settings), lines: settings.lines }),
  drivers,
  baselines: ['node-readlines', 'node-readline-stream'],
  headline: 'aiofs-linereader-batches',
  targets: [
    { driver: 'aiofs-linereader', baseline: 'node-readlines', ratio: 2 },
    { driver: 'aiofs-linereader-batches', baseline: 'node-readlines', ratio: 3 },
  ],
};
