/**
 * Sequential reads of the cached data file, over and over for --seconds: aiofs Reader with its
 * default 64 KiB chunks, with 1 MiB chunks and with 64 KiB chunks read into the same memory
 * again (reuseChunks), against fs.createReadStream (64 KiB) and fio
 * reading the same file sequentially in 64 KiB blocks: the memory copy is the limit here.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { AIOFile, Reader } from '../src/index.js';
import type { Case, Driver, Row } from './case.js';
import { timedPasses } from './closed-loop.js';
import { fioRead, fioVersion } from './fio.js';
import { dataFile } from './randread.js';

export interface SeqReadParams {
  file: string;
  size: number;
  seconds: number;
}

const MiB = 2 ** 20;

/** Read the whole file again and again for the run's seconds, after a warm-up pass. */
const timed = (params: SeqReadParams, pass: () => Promise<number>) => timedPasses(params.seconds, params.size, pass, true);

function reader(chunkSize: number, reuseChunks = false): Driver<SeqReadParams> {
  return {
    name: `${chunkSize === 1 << 16 ? 'aiofs-reader' : `aiofs-reader-${chunkSize / MiB}m`}${reuseChunks ? '-reuse' : ''}`,
    label: `aiofs Reader, ${chunkSize >= MiB ? `${chunkSize / MiB} MiB` : `${chunkSize / 1024} KiB`} chunks${reuseChunks ? ', reuseChunks' : ''}`,
    backend: 'auto',
    async run(params) {
      await using file = await AIOFile.open(params.file, 'rb');
      return await timed(params, async () => {
        let n = 0;
        for await (const chunk of new Reader(file, { chunkSize, reuseChunks })) n += chunk.length;
        return n;
      });
    },
  };
}

const drivers: readonly Driver<SeqReadParams>[] = [
  reader(1 << 16),
  reader(MiB),
  // fio reads every block into the same memory; this is the Reader doing the same.
  reader(1 << 16, true),
  {
    name: 'node-readstream',
    label: 'fs.createReadStream (64 KiB)',
    run: (params) =>
      timed(params, async () => {
        let n = 0;
        const stream = fs.createReadStream(params.file);
        stream.on('data', (chunk) => (n += chunk.length));
        await once(stream, 'close');
        return n;
      }),
  },
];

export const seqReadCase: Case<SeqReadParams> = {
  name: 'seqread',
  title: 'sequential read of the cached data file',
  unit: 'MiB/s',
  timed: true,
  prepare: (settings) => ({ file: dataFile(settings), size: settings.size, seconds: settings.seconds }),
  drivers,
  external(params): Row[] {
    const row = { driver: 'fio-psync', label: 'fio psync, 64 KiB blocks' };
    if (!fioVersion()) return [{ ...row, unavailable: 'fio is not installed (apt-get install fio)' }];
    try {
      const { bytesPerSecond } = fioRead({ rw: 'read', file: params.file, size: params.size, engine: 'psync', depth: 1, blockSize: 1 << 16, direct: false, seconds: params.seconds });
      return [{ ...row, rate: bytesPerSecond / MiB }];
    } catch (error) {
      return [{ ...row, unavailable: (error as Error).message }];
    }
  },
  baselines: ['node-readstream', 'fio-psync'],
  targets: [],
};
