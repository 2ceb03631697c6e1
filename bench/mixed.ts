/**
 * A mixed load on O_DIRECT: a bulk scan (32 reads of 256 KiB outstanding, sequential) and 4
 * interactive readers (4 KiB at random offsets, one at a time each) share one context whose
 * in-flight cap (8) the scan alone exceeds. The figure is the interactive reads' p99 latency,
 * with one FIFO queue and with priority classes (interactive 1000 shares, bulk 100).
 */
import fs from 'node:fs';
import { allocAligned, createContext } from '../src/index.js';
import type { Case, Driver, Measurement } from './case.js';
import { randomOffsets, workerSeed } from './closed-loop.js';
import { dataFile } from './randread.js';

export interface MixedParams {
  file: string;
  size: number;
  seconds: number;
}

const BULK_DEPTH = 32;
const BULK_BLOCK = 256 << 10;
const INTERACTIVE_WORKERS = 4;
const BLOCK = 4096;

async function mixed(params: MixedParams, withClasses: boolean): Promise<Measurement> {
  const context = createContext({
    entries: 4, // an in-flight cap of 8: about the depth this device needs (see docs/benchmarks.md)
    ...(withClasses ? { classes: { interactive: { shares: 1000 }, bulk: { shares: 100 } } } : {}),
  });
  const fd = fs.openSync(params.file, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const bulkOptions = withClasses ? { class: 'bulk' } : undefined;
  const interactiveOptions = withClasses ? { class: 'interactive' } : undefined;
  let stop = false;
  let counting = false;
  let errors = 0;
  const latencies: number[] = [];
  let scan = 0;
  let bulkBytes = 0;
  const bulk = async () => {
    const buffer = allocAligned(BULK_BLOCK);
    while (!stop) {
      const offset = scan;
      scan = (scan + BULK_BLOCK) % (params.size - BULK_BLOCK);
      const n = await context.read(fd, buffer, offset, bulkOptions);
      if (n !== BULK_BLOCK) errors++;
      if (counting) bulkBytes += n;
    }
  };
  const interactive = async (index: number) => {
    const buffer = allocAligned(BLOCK);
    const next = randomOffsets(params.size, BLOCK, workerSeed(index));
    while (!stop) {
      const start = performance.now();
      const n = await context.read(fd, buffer, next(), interactiveOptions);
      if (counting) {
        latencies.push(performance.now() - start);
        if (n !== BLOCK) errors++;
      }
    }
  };
  const workers = [
    ...Array.from({ length: BULK_DEPTH }, bulk),
    ...Array.from({ length: INTERACTIVE_WORKERS }, (_, i) => interactive(i)),
  ];
  await new Promise((resolve) => setTimeout(resolve, 300));
  counting = true;
  await new Promise((resolve) => setTimeout(resolve, params.seconds * 1000));
  counting = false;
  stop = true;
  await Promise.all(workers);
  await context.close();
  fs.closeSync(fd);
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)] ?? NaN;
  const note = `bulk scan ${(bulkBytes / 2 ** 20 / params.seconds).toFixed(0)} MiB/s, ${latencies.length} interactive reads`;
  return { amount: latencies.length, seconds: params.seconds, errors, value: p99, note };
}

const drivers: readonly Driver<MixedParams>[] = [
  { name: 'aiofs-fifo', label: 'aiofs, one FIFO queue', backend: 'auto', run: (params) => mixed(params, false) },
  { name: 'aiofs-classes', label: 'aiofs, classes interactive 1000 / bulk 100', backend: 'auto', run: (params) => mixed(params, true) },
];

export const mixedCase: Case<MixedParams> = {
  name: 'mixed-p99',
  title: 'interactive 4 KiB reads beside a bulk scan, O_DIRECT: p99 latency',
  unit: 'ms (p99)',
  timed: true,
  lowerIsBetter: true,
  prepare: (settings) => ({ file: dataFile(settings), size: settings.size, seconds: settings.seconds }),
  drivers,
  baselines: ['aiofs-fifo'],
  headline: 'aiofs-classes',
  targets: [{ driver: 'aiofs-classes', baseline: 'aiofs-fifo', ratio: 3 }],
};
