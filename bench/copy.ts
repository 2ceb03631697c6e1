/**
 * Copying one file (the random-read data file, 1 GiB by default) to a new file on the same
 * filesystem with a command, timed from spawn to exit as a user at a shell sees it: `aiofs cp`
 * against GNU cp and against a Node script calling fs.promises.copyFile (what Node users have;
 * libuv copies with copy_file_range). Every command pays its own start, Node's included.
 *
 * Two cases: the source in the page cache (read once before each copy), and not (only its pages
 * evicted, with `dd iflag=nocache count=0`, so that Node and the tools stay cached: dropping every
 * cache would charge the Node commands for reloading a 99 MB binary). Each copy starts after the
 * last one is removed and a sync; each driver reports its median of five; a copy of another
 * size is an error. Linux (GNU dd and cp); elsewhere the drivers report why they did not run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Case, Driver, Measurement, Settings } from './case.js';
import { dataFile } from './randread.js';

export interface CopyParams {
  src: string;
  dst: string;
  size: number;
  cached: boolean;
}

const REPEATS = 5;
const MiB = 2 ** 20;
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Read the whole source once, which leaves it in the page cache. */
function warmSource(src: string): void {
  const buffer = Buffer.allocUnsafe(MiB);
  const fd = fs.openSync(src, 'r');
  try {
    for (let at = 0; fs.readSync(fd, buffer, 0, buffer.length, at) > 0; at += buffer.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Drop the source's cached pages, and only those. GNU dd: with count=0, iflag=nocache drops the whole file (POSIX_FADV_DONTNEED). */
function evictSource(src: string): void {
  execFileSync('dd', [`if=${src}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/**
 * Run `command` five times, each onto a fresh destination; the median copy counts. A cached
 * source is read once first (every copy reads it again, which keeps it cached); an uncached one
 * is evicted before each copy.
 */
function timedCopies(params: CopyParams, command: string, args: string[]): Measurement {
  const times: number[] = [];
  let errors = 0;
  if (params.cached) warmSource(params.src);
  for (let i = 0; i < REPEATS; i++) {
    fs.rmSync(params.dst, { force: true });
    execFileSync('sync');
    if (!params.cached) evictSource(params.src);
    const start = performance.now();
    const run = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    times.push((performance.now() - start) / 1000);
    if (run.error) throw run.error;
    if (run.status !== 0) throw new Error(`${command} exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`);
    if (fs.statSync(params.dst).size !== params.size) errors++;
  }
  fs.rmSync(params.dst, { force: true });
  times.sort((a, b) => a - b);
  const seconds = times[Math.floor(REPEATS / 2)];
  return { amount: params.size / MiB, seconds, errors, note: `runs: ${times.map((t) => `${t.toFixed(2)} s`).join(', ')}` };
}

const copyFileScript = "require('node:fs').promises.copyFile(process.argv[1], process.argv[2])";

const drivers: readonly Driver<CopyParams>[] = [
  {
    name: 'aiofs-cp',
    backend: 'auto',
    label: 'aiofs cp SRC DST (defaults)',
    run: async (params) => timedCopies(params, process.execPath, [cli, 'cp', params.src, params.dst]),
  },
  {
    name: 'gnu-cp',
    label: 'cp SRC DST (coreutils: copy_file_range)',
    run: async (params) => timedCopies(params, 'cp', [params.src, params.dst]),
  },
  {
    name: 'node-copyfile',
    label: 'node -e fs.promises.copyFile(SRC, DST)',
    run: async (params) => timedCopies(params, process.execPath, ['-e', copyFileScript, params.src, params.dst]),
  },
];

function copyCase(cached: boolean): Case<CopyParams> {
  const name = cached ? 'cp-cached' : 'cp-uncached';
  return {
    name,
    title: `copy the data file with a command, source ${cached ? 'in the page cache' : 'not cached'}`,
    unit: 'MiB/s',
    timed: false,
    extended: true,
    prepare: (settings: Settings) => ({ src: dataFile(settings), dst: path.join(settings.dir, `${name}-copy`), size: settings.size, cached }),
    drivers,
    baselines: ['gnu-cp', 'node-copyfile'],
    targets: [{ driver: 'aiofs-cp', baseline: 'gnu-cp', ratio: 1 }],
  };
}

export const copyCases: readonly Case<CopyParams>[] = [copyCase(false), copyCase(true)];
