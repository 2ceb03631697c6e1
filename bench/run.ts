/**
 * The benchmark orchestrator. Each case makes its own deterministic data in a scratch directory
 * on a real filesystem; every driver of every case runs in a child process of its own; fio runs
 * with the same parameters where a case has an fio equivalent and fio is installed. It prints each
 * figure with its ratio to the baselines measured in the same run, and the project's targets as
 * met/MISSED lines.
 *
 *   node dist/bench/run.js [--seconds 3] [--size 1G] [--lines 6000000] [--write-size 1G]
 *                          [--dir DIR] [--cases a,b] [--drivers a,b] [--json] [--keep]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Case, Driver, Measurement, Row, Settings } from './case.js';
import { cases } from './cases.js';
import { fioVersion } from './fio.js';

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new Error(`bad size ${text}`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[match[2].toLowerCase() as '' | 'k'];
  return Math.floor(Number(match[1]) * unit);
}

function runDriver(c: Case, driver: Driver<unknown>, params: unknown, settings: Settings): Measurement {
  const child = fileURLToPath(new URL('./child.js', import.meta.url));
  const run = spawnSync(process.execPath, [child, c.name, driver.name, JSON.stringify(params)], {
    encoding: 'utf8',
    env: { ...process.env, ...driver.env },
    timeout: (settings.seconds + 300) * 1000,
  });
  if (run.status !== 0) {
    const lastLine = run.stderr.trim().split('\n').filter((line) => /Error|error:/.test(line)).pop();
    throw new Error(lastLine ?? `exit ${run.status ?? run.signal}`);
  }
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/** A rate for the table, whose header carries the unit: '812', '361.2 K', '1.24 M'. */
function formatRate(rate: number): string {
  if (rate < 1e4) return rate.toFixed(0);
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(1)} K`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      size: { type: 'string', default: '1G' },
      lines: { type: 'string', default: '6000000' },
      'write-size': { type: 'string', default: '1G' },
      dir: { type: 'string' },
      cases: { type: 'string' },
      drivers: { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const wantedCases = values.cases?.split(',');
  const wantedDrivers = values.drivers?.split(',');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'aiofs-bench-'));
  const settings: Settings = {
    dir,
    seconds: Number(values.seconds),
    size: parseSize(values.size!),
    lines: Number.parseInt(values.lines!, 10),
    writeSize: parseSize(values['write-size']!),
  };
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
  log(`# data in ${dir}`);

  const results: { case: Case; rows: Row[] }[] = [];
  try {
    for (const c of cases) {
      if (wantedCases && !wantedCases.includes(c.name)) continue;
      log(`# ${c.name}: preparing data`);
      const params = c.prepare(settings);
      const rows: Row[] = [];
      for (const driver of c.drivers) {
        if (wantedDrivers && !wantedDrivers.includes(driver.name)) continue;
        log(`# ${c.name}: ${driver.name}`);
        try {
          const m = runDriver(c, driver, params, settings);
          rows.push({ driver: driver.name, label: driver.label, rate: m.amount / m.seconds, errors: m.errors });
        } catch (error) {
          rows.push({ driver: driver.name, label: driver.label, unavailable: (error as Error).message });
        }
      }
      if (c.external) {
        log(`# ${c.name}: fio`);
        rows.push(...c.external(params, settings).filter((row) => !wantedDrivers || wantedDrivers.includes(row.driver)));
      }
      results.push({ case: c, rows });
    }
  } finally {
    if (values.keep) log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  if (values.json) {
    const report = {
      machine,
      settings: { ...settings, dir: undefined },
      results: results.map((r) => ({ case: r.case.name, title: r.case.title, unit: r.case.unit, rows: r.rows })),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const { case: c, rows } of results) {
    const base = new Map(rows.filter((r) => r.rate).map((r) => [r.driver, r.rate!]));
    const shownBaselines = c.baselines.filter((b) => base.has(b));
    const timing = c.unit === 'IOPS' ? `, ${settings.seconds} s each` : '';
    console.log(`\n## ${c.title} (${c.name}${timing})\n`);
    console.log(`| driver | ${c.unit} | ${shownBaselines.map((b) => `vs ${b}`).join(' | ')} |`);
    console.log(`|---|---:|${shownBaselines.map(() => '---:').join('|')}|`);
    for (const row of rows) {
      if (row.rate === undefined) {
        console.log(`| ${row.label} | n/a: ${row.unavailable} |${shownBaselines.map(() => ' |').join('')}`);
        continue;
      }
      const ratios = shownBaselines.map((b) => `${(row.rate! / base.get(b)!).toFixed(2)}x`);
      const errors = row.errors ? ` (${row.errors} wrong results!)` : '';
      console.log(`| ${row.label} | ${formatRate(row.rate)}${errors} | ${ratios.join(' | ')} |`);
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
