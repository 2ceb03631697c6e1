/**
 * The benchmark orchestrator. It makes its own deterministic data file on a real filesystem,
 * runs every driver of every case in a child process of its own, runs fio with the same
 * parameters when fio is installed, and prints each figure with its ratio to the Node baselines
 * measured in the same run, plus the project's targets as pass/miss lines.
 *
 *   node dist/bench/run.js [--seconds 3] [--size 1G] [--dir DIR] [--cases a,b] [--drivers a,b] [--json] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { drivers, type Measurement, type RandomReadParams } from './drivers.js';
import { fioRandomRead, fioVersion } from './fio.js';

interface Target {
  driver: string;
  baseline: string;
  ratio: number;
}

interface Case {
  name: string;
  title: string;
  concurrency: number;
  direct: boolean;
  fioEngines: string[];
  /** Only these drivers (default: all). */
  drivers?: string[];
  targets: Target[];
}

/** O_DIRECT random reads: the device's limit, so the yardstick is fio with the same engine. */
function directRandomRead(concurrency: number): Case {
  return {
    name: `direct-randread-qd${concurrency}`,
    title: `O_DIRECT 4 KiB random read, ${concurrency === 1 ? '1 at a time' : `${concurrency} concurrent`}`,
    concurrency,
    direct: true,
    fioEngines: ['io_uring', 'libaio'],
    drivers: ['aiofs-uring', 'aiofs-aio', 'aiofs-threads', 'node-filehandle', 'node-fsread'],
    targets: [
      { driver: 'aiofs-uring', baseline: 'fio-io_uring', ratio: 0.9 },
      { driver: 'aiofs-aio', baseline: 'fio-libaio', ratio: 0.9 },
    ],
  };
}

const cases: Case[] = [
  {
    name: 'randread-qd1',
    title: 'cached 4 KiB random read, 1 at a time',
    concurrency: 1,
    direct: false,
    fioEngines: ['psync', 'io_uring'],
    targets: [{ driver: 'aiofs-uring', baseline: 'node-filehandle', ratio: 10 }],
  },
  {
    name: 'randread-qd32',
    title: 'cached 4 KiB random read, 32 concurrent',
    concurrency: 32,
    direct: false,
    fioEngines: ['psync', 'io_uring', 'libaio'],
    targets: [
      { driver: 'aiofs-uring', baseline: 'node-filehandle', ratio: 5 },
      { driver: 'aiofs-uring', baseline: 'node-fsread', ratio: 2 },
      { driver: 'aiofs-uring', baseline: 'node-filehandle-uvuring', ratio: 1.5 },
    ],
  },
  directRandomRead(1),
  directRandomRead(32),
];

const baselines = ['node-filehandle', 'node-fsread', 'node-filehandle-uvuring'];

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[match[2].toLowerCase() as '' | 'k'];
  return Math.floor(Number(match[1]) * unit);
}

/** Deterministic incompressible bytes (AES-CTR keystream), written once and left in the page cache. */
function makeDataFile(file: string, size: number): void {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < size; written += zeros.length) {
    const chunk = cipher.update(zeros);
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
  }
  fs.closeSync(fd);
}

interface Row {
  driver: string;
  label: string;
  iops?: number;
  errors?: number;
  unavailable?: string;
}

function runDriver(name: string, env: Record<string, string> | undefined, params: RandomReadParams): Measurement {
  const child = fileURLToPath(new URL('./child.js', import.meta.url));
  const run = spawnSync(process.execPath, [child, name, JSON.stringify(params)], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: (params.seconds + 60) * 1000,
  });
  if (run.status !== 0) {
    const lastLine = run.stderr.trim().split('\n').filter((line) => /Error|error:/.test(line)).pop();
    throw new Error(lastLine ?? `exit ${run.status ?? run.signal}`);
  }
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

function formatIops(iops: number): string {
  return iops >= 1e6 ? `${(iops / 1e6).toFixed(2)} M` : `${(iops / 1e3).toFixed(1)} K`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      size: { type: 'string', default: '1G' },
      dir: { type: 'string' },
      cases: { type: 'string' },
      drivers: { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const size = parseSize(values.size!);
  const wantedCases = values.cases?.split(',');
  const wantedDrivers = values.drivers?.split(',');
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const dir = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'aiofs-bench-'));
  const file = path.join(dir, 'data');
  log(`# making ${values.size} of data in ${dir}`);
  makeDataFile(file, size);
  const fio = fioVersion();
  const machine = {
    node: process.version,
    libuv: process.versions.uv,
    kernel: os.release(),
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    fio: fio ?? 'not installed (apt-get install fio to compare with the physical limit)',
  };
  log(`# ${Object.entries(machine).map(([k, v]) => `${k}: ${v}`).join(', ')}`);

  const results: { case: Case; rows: Row[] }[] = [];
  try {
    for (const c of cases) {
      if (wantedCases && !wantedCases.includes(c.name)) continue;
      const params: RandomReadParams = { file, size, blockSize: 4096, concurrency: c.concurrency, seconds, direct: c.direct };
      const rows: Row[] = [];
      for (const driver of drivers) {
        if (wantedDrivers && !wantedDrivers.includes(driver.name)) continue;
        if (c.drivers && !c.drivers.includes(driver.name)) continue;
        log(`# ${c.name}: ${driver.name}`);
        try {
          const m = runDriver(driver.name, driver.env, params);
          rows.push({ driver: driver.name, label: driver.label, iops: m.ops / m.seconds, errors: m.errors });
        } catch (error) {
          rows.push({ driver: driver.name, label: driver.label, unavailable: (error as Error).message });
        }
      }
      for (const engine of c.fioEngines) {
        const name = `fio-${engine}`;
        if (wantedDrivers && !wantedDrivers.includes(name)) continue;
        const label = `fio ${engine}, iodepth ${c.concurrency}`;
        if (!fio) {
          rows.push({ driver: name, label, unavailable: 'fio is not installed' });
          continue;
        }
        log(`# ${c.name}: ${name}`);
        try {
          const iops = fioRandomRead({ file, size, engine, depth: c.concurrency, blockSize: 4096, direct: c.direct, seconds });
          rows.push({ driver: name, label, iops });
        } catch (error) {
          rows.push({ driver: name, label, unavailable: (error as Error).message });
        }
      }
      results.push({ case: c, rows });
    }
  } finally {
    if (values.keep) log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ machine, seconds, size, results: results.map((r) => ({ case: r.case.name, title: r.case.title, rows: r.rows })) }, null, 2)}\n`);
    return;
  }
  for (const { case: c, rows } of results) {
    const base = new Map(rows.filter((r) => r.iops).map((r) => [r.driver, r.iops!]));
    const caseBaselines = c.direct ? ['node-filehandle', 'fio-io_uring', 'fio-libaio'] : baselines;
    const shownBaselines = caseBaselines.filter((b) => base.has(b));
    console.log(`\n## ${c.title} (${c.name}, ${seconds} s each)\n`);
    console.log(`| driver | IOPS | ${shownBaselines.map((b) => `vs ${b}`).join(' | ')} |`);
    console.log(`|---|---:|${shownBaselines.map(() => '---:').join('|')}|`);
    for (const row of rows) {
      if (row.iops === undefined) {
        console.log(`| ${row.label} | n/a: ${row.unavailable} |${shownBaselines.map(() => ' |').join('')}`);
        continue;
      }
      const ratios = shownBaselines.map((b) => `${(row.iops! / base.get(b)!).toFixed(2)}x`);
      const errors = row.errors ? ` (${row.errors} short reads!)` : '';
      console.log(`| ${row.label} | ${formatIops(row.iops)}${errors} | ${ratios.join(' | ')} |`);
    }
    for (const t of c.targets) {
      const got = base.get(t.driver);
      const against = base.get(t.baseline);
      if (got === undefined || against === undefined) continue;
      const ratio = got / against;
      console.log(`\ntarget ${t.driver} >= ${t.ratio}x ${t.baseline}: ${ratio.toFixed(2)}x ${ratio >= t.ratio ? 'met' : 'MISSED'}`);
    }
  }
}

main();
