/**
 * The benchmark orchestrator (`aiofs bench`). Each case makes its own deterministic data in a
 * scratch directory on a real filesystem; every driver of every case runs in a child process of
 * its own; fio runs with the same parameters where a case has an fio equivalent and fio is
 * installed. It prints each figure after its ratios to the baselines measured in the same run,
 * after a summary table with --markdown (what the README shows), or JSON; optionally an SVG
 * chart, and the project's own targets (--targets).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backends } from '../src/index.js';
import { CliError } from '../src/cli/errors.js';
import { stepProgress } from '../src/cli/progress.js';
import { parseSize } from '../src/cli/size.js';
import type { Case, Driver, Measurement, Missing, Row, Runtime, Settings } from './case.js';
import { cases } from './cases.js';
import { fioVersion } from './fio.js';
import { formatRate } from './format.js';
import { describeMachine } from './machine.js';
import { svgChart } from './plot.js';
import { containerSandbox, inSeccompFilter } from './sandbox.js';

const usage = `Usage: aiofs bench [CASE...] [options]

Measure aiofs on this machine against node:fs (and fio, when installed), each driver in a process
of its own. CASE is a case name, or the start of some (randread, smallfiles, direct); default: all
but the longer ones marked *, which run when named.
Cases: ${cases.map((c) => c.name + (c.extended ? '*' : '')).join(', ')}

Options:
  --backend NAME     aiofs backends to measure: all (default), auto, uring, aio, threads
  --seconds N        seconds per driver in the timed cases (default 1)
  --size SIZE        the random-read data file (default 1G)
  --lines N          lines of the text file of the lines case (default 6000000)
  --write-size SIZE  bytes the sequential-write case writes (default 1G)
  --dir DIR          where the data goes (default: the system temp dir; O_DIRECT needs a real filesystem)
  --drivers a,b      only these drivers (and fio-ENGINE rows)
  --runtime PATH     run the drivers on another JavaScript runtime (a bun or deno binary): its own
                     node:fs is then the baseline
  --sandbox docker   run everything (drivers, baselines, fio) under Docker 25+'s default seccomp
                     profile, which refuses io_uring: the figures a container gets (needs a C
                     compiler, libseccomp-dev and golang-github-docker-docker-dev, or
                     AIOFS_DOCKER_PROFILE naming Docker's profiles/seccomp/default.json)
  --rounds N         run every driver (and fio) N times, taking turns, and show the median and
                     how far the rounds of one driver differ (default 1)
  --json             the results as JSON on stdout instead of tables
  --markdown         begin with a summary table: a line per case, its ratio first, with the
                     machine, the date and the command (what the README shows)
  --targets          also check the aiofs project's own goals per case (met / missed; with
                     --rounds, also the ratio within each round)
  --plot FILE.svg    also draw a bar chart per case into FILE.svg
  --keep             keep the data directory
  -h, --help         show this help
`;

/** The command that runs a driver's child process: this Node, or --runtime (Deno needs `run -A`). */
function runtimeCommand(runtime: string | undefined): string[] {
  if (!runtime) return [process.execPath];
  return runtimeOf(runtime) === 'deno' ? [runtime, 'run', '-A'] : [runtime];
}

/** Which runtime --runtime names (by its binary's name; Node without it). */
function runtimeOf(runtime: string | undefined): Runtime {
  if (!runtime) return 'node';
  const name = path.basename(runtime);
  return name.startsWith('deno') ? 'deno' : name.startsWith('bun') ? 'bun' : 'node';
}

/** What --runtime is: its name and version as it prints them. */
function runtimeVersion(runtime: string): string {
  const out = spawnSync(runtime, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (out.status !== 0) throw new CliError(`--runtime ${runtime} does not run (${out.error?.message ?? out.stderr.trim()})`, usage);
  const first = out.stdout.trim().split('\n')[0];
  return /^\d/.test(first) ? `${path.basename(runtime)} ${first}` : first;
}

/** Run one driver in a child process of its own; its last stdout line is a JSON Measurement. */
function runDriver(c: Case, driver: Driver<unknown>, params: unknown, settings: Settings, env: Record<string, string>, command: string[]): Promise<Measurement> {
  const child = fileURLToPath(new URL('./child.js', import.meta.url));
  const run = spawn(command[0], [...command.slice(1), child, c.name, driver.name, JSON.stringify(params)], {
    env: { ...process.env, ...env, ...driver.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: (settings.seconds + 300) * 1000,
  });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (chunk) => (stdout += chunk));
  run.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) =>
    run.on('close', (status, signal) => {
      if (status !== 0) {
        const lastLine = stderr.trim().split('\n').filter((line) => /Error|error:/.test(line)).pop();
        reject(new Error(lastLine ?? `exit ${status ?? signal}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    }),
  );
}


/**
 * One row per driver from several rounds: the median figure (the mean of the middle two for an
 * even count), the rounds' figures beside it, errors added up, the note of the first round. A
 * driver that failed in any round shows the first failure: a figure from the other rounds would
 * hide it.
 */
function medianRows(rounds: Row[][]): Row[] {
  if (rounds.length === 1) return rounds[0];
  return rounds[0].map((first) => {
    const all = rounds.map((rows) => rows.find((r) => r.driver === first.driver));
    const failed = all.findIndex((r) => !r || r.rate === undefined);
    if (failed >= 0) return all[failed] ?? { ...first, rate: undefined, unavailable: `no figure in round ${failed + 1}` };
    const rates = all.map((r) => r!.rate!);
    const sorted = [...rates].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    const rate = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    const errors = all.reduce((sum, r) => sum + (r!.errors ?? 0), 0);
    const note = [`median of ${rates.map(formatRate).join(', ')}`, first.note].filter(Boolean).join('; ');
    return { ...first, rate, errors, note, rounds: rates };
  });
}

/** Which aiofs drivers --backend keeps, and the environment the auto-backend ones then get. */
function backendFilter(choice: string): { keep: (driver: Driver<unknown>) => boolean; env: Record<string, string> } {
  const names = ['uring', 'aio', 'threads'];
  if (choice === 'all') return { keep: () => true, env: {} };
  const wanted = choice === 'auto' ? backends().find((b) => b.available)!.name : choice;
  if (!names.includes(wanted)) throw new CliError(`--backend must be one of all, auto, ${names.join(', ')}`, usage);
  return { keep: (driver) => !driver.backend || driver.backend === 'auto' || driver.backend === wanted, env: { AIOFS_BACKEND: wanted } };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      backend: { type: 'string', default: 'all' },
      seconds: { type: 'string', default: '1' },
      size: { type: 'string', default: '1G' },
      lines: { type: 'string', default: '6000000' },
      'write-size': { type: 'string', default: '1G' },
      dir: { type: 'string' },
      cases: { type: 'string' },
      drivers: { type: 'string' },
      runtime: { type: 'string' },
      sandbox: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      targets: { type: 'boolean', default: false },
      plot: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  if (values.sandbox !== undefined && values.sandbox !== 'docker') throw new CliError(`--sandbox takes docker (Docker 25+'s seccomp profile), not '${values.sandbox}'`, usage);
  // The whole run again inside the sandbox, where every child inherits it (the filter is the
  // process's): what backends() finds, the drivers, the baselines and fio all see what a
  // container sees. Inside is the marker set for that child and the kernel's word that a filter
  // applies, both.
  const sandboxed = values.sandbox === 'docker' && process.env.AIOFS_BENCH_SANDBOX === 'docker' && inSeccompFilter();
  if (values.sandbox === 'docker' && !sandboxed) {
    const sandbox = containerSandbox();
    if ('skip' in sandbox) throw new CliError(`--sandbox docker: ${sandbox.skip}`, usage);
    const [command, ...args] = sandbox.command([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
    const run = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, AIOFS_BENCH_SANDBOX: 'docker' } });
    if (run.error) throw new CliError(`--sandbox docker: ${run.error.message}`, usage);
    process.exitCode = run.signal ? 128 + (os.constants.signals[run.signal] ?? 0) : (run.status ?? 1);
    return;
  }
  const patterns = [...positionals, ...(values.cases?.split(',') ?? [])];
  const unknown = patterns.filter((p) => !cases.some((c) => c.name.startsWith(p)));
  if (unknown.length > 0) throw new CliError(`no case is named or starts with ${unknown.map((p) => `'${p}'`).join(', ')}`, usage);
  // A pattern that names a case exactly selects that case alone (direct-randread-qd1, not qd128 too).
  const matches = (name: string, p: string) => name === p || (!cases.some((c) => c.name === p) && name.startsWith(p));
  const selected = cases.filter((c) => (patterns.length === 0 ? !c.extended : patterns.some((p) => matches(c.name, p))));
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 3600)) throw new CliError('--seconds must be a number of seconds above 0', usage);
  const lines = Number(values.lines);
  if (!Number.isInteger(lines) || lines < 1) throw new CliError('--lines must be a whole number above 0', usage);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 99) throw new CliError('--rounds must be a whole number from 1 to 99', usage);
  const wantedDrivers = values.drivers?.split(',');
  const { keep, env } = backendFilter(values.backend!);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dir = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'aiofs-bench-'));
  const settings: Settings = {
    dir,
    seconds,
    size: parseSize(values.size!, '--size', usage),
    lines,
    writeSize: parseSize(values['write-size']!, '--write-size', usage),
  };
  const fio = fioVersion();
  const command = runtimeCommand(values.runtime);
  const runtime = runtimeOf(values.runtime);
  const machine = describeMachine(values.runtime && runtimeVersion(values.runtime), fio);
  if (sandboxed) machine.sandbox = "Docker 25+'s seccomp profile (io_uring refused)";
  log(`# ${Object.entries(machine).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  log(`# data in ${dir}`);

  const plan = selected.map((c) => ({
    case: c,
    drivers: c.drivers.filter((d) => keep(d as Driver<unknown>) && (d.runtimes?.includes(runtime) ?? true) && (wantedDrivers ? wantedDrivers.includes(d.name) : !d.optional)),
  }));
  // fio runs unless --drivers names none of its rows.
  const runFio = !wantedDrivers || wantedDrivers.some((d) => d.startsWith('fio-'));
  const steps = rounds * plan.reduce((sum, p) => sum + p.drivers.length + (p.case.external && runFio ? 1 : 0), 0);
  const progress = stepProgress(steps, 'aiofs bench');
  const tty = process.stderr.isTTY;
  let step = 0;
  const results: { case: Case; rows: Row[] }[] = [];
  /** What skipped drivers needed, by name: said once, after the tables. */
  const notInstalled = new Map<string, Missing>();
  try {
    for (const { case: c, drivers } of plan) {
      progress.update(step, `${c.name}: preparing data`);
      if (!tty) log(`# ${c.name}: preparing data`);
      const params = c.prepare(settingsFor(c, settings));
      const measured: Row[][] = [];
      for (let round = 1; round <= rounds; round++) {
        const of = rounds > 1 ? ` (round ${round} of ${rounds})` : '';
        const rows: Row[] = [];
        for (const driver of drivers) {
          progress.update(step, `${c.name}: ${driver.name}${of}`);
          if (!tty) log(`# ${c.name}: ${driver.name}${of}`);
          const missing = (driver as Driver<unknown>).missing?.() ?? [];
          if (missing.length) {
            for (const m of missing) notInstalled.set(m.name, m);
            rows.push({ driver: driver.name, label: driver.label, unavailable: `not installed here: ${missing.map((m) => m.name).join(', ')}` });
            progress.update(++step);
            continue;
          }
          try {
            const m = await runDriver(c, driver as Driver<unknown>, params, settings, env, command);
            rows.push({ driver: driver.name, label: driver.label, rate: m.value ?? m.amount / m.seconds, errors: m.errors, note: m.note });
          } catch (error) {
            rows.push({ driver: driver.name, label: driver.label, unavailable: (error as Error).message });
          }
          progress.update(++step);
        }
        if (c.external && runFio) {
          progress.update(step, `${c.name}: fio${of}`);
          if (!tty) log(`# ${c.name}: fio${of}`);
          rows.push(...c.external(params, settings).filter((row) => !wantedDrivers || wantedDrivers.includes(row.driver)));
          progress.update(++step);
        }
        measured.push(rows);
      }
      results.push({ case: c, rows: medianRows(measured) });
    }
  } finally {
    progress.stop();
    if (values.keep) log(`# kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  if (values.plot) {
    fs.writeFileSync(values.plot, svgChart(results, machine));
    log(`# chart written to ${values.plot}`);
  }
  if (notInstalled.size) log(installLine([...notInstalled.values()]));
  if (values.json) {
    const report = {
      machine,
      settings: { seconds: settings.seconds, rounds, size: settings.size, lines: settings.lines, writeSize: settings.writeSize },
      results: results.map((r) => ({ case: r.case.name, title: r.case.title, unit: r.case.unit, rows: r.rows })),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (values.markdown) console.log(summaryTable(results, machine, ['npx aiofs bench', ...process.argv.slice(2)].join(' ')));
  for (const { case: c, rows } of results) console.log(caseTable(c, rows, settings));
  if (values.targets) for (const { case: c, rows } of results) for (const line of targetLines(c, rows)) console.log(line);
  if (rounds === 1 && results.some((r) => r.case.timed))
    log('# one round: on a shared machine a figure can move 2x between minutes; --rounds 3 takes turns, shows medians and how far the rounds differ');
}

/** One line: what was not measured for want of what, and the commands that add it all. */
function installLine(missing: Missing[]): string {
  const npm = [...new Set(missing.flatMap((m) => m.npm ?? []))];
  const apt = [...new Set(missing.flatMap((m) => (m.apt ? [m.apt] : [])))];
  const how = [npm.length && `npm install --no-save ${npm.join(' ')}`, apt.length && `apt-get install ${apt.join(' ')}`].filter(Boolean);
  return `# not measured, not installed here: ${missing.map((m) => m.name).join(', ')}; to add them: ${how.join('; ')}`;
}

/** The settings case `c` runs with: --seconds raised to its minimum. */
function settingsFor(c: Case, settings: Settings): Settings {
  return c.minSeconds && settings.seconds < c.minSeconds ? { ...settings, seconds: c.minSeconds } : settings;
}

type Rates = Map<string, number>;

const ratesOf = (rows: Row[]): Rates => new Map(rows.filter((r) => r.rate).map((r) => [r.driver, r.rate!]));

/** How many times better `driver` did than `baseline` (for a cost, baseline / driver). */
const ratioOf = (c: Case, rates: Rates, driver: string, baseline: string): number | undefined => {
  const got = rates.get(driver);
  const against = rates.get(baseline);
  if (got === undefined || against === undefined) return undefined;
  return c.lowerIsBetter ? against / got : got / against;
};

/** One case: a row per driver, its ratios to the baselines that ran first, then its figure. */
function caseTable(c: Case, rows: Row[], settings: Settings): string {
  const rates = ratesOf(rows);
  const shown = c.baselines.filter((b) => rates.has(b));
  const timing = c.timed ? `, ${settingsFor(c, settings).seconds} s each` : '';
  const lines = [
    `\n## ${c.title} (${c.name}${timing})\n`,
    `| driver | ${shown.map((b) => `vs ${b}`).join(' | ')}${shown.length ? ' | ' : ''}${c.unit}${c.lowerIsBetter ? ' (lower is better)' : ''} |`,
    `|---|${shown.map(() => '---:|').join('')}---:|`,
  ];
  for (const row of rows) {
    const ratios = shown.map((b) => {
      const ratio = ratioOf(c, rates, row.driver, b);
      return ratio === undefined ? '' : `${ratio.toFixed(2)}x`;
    });
    const figure =
      row.rate === undefined
        ? `n/a: ${row.unavailable}`
        : `${formatRate(row.rate)}${row.errors ? ` (${row.errors} wrong results!)` : ''}${row.note ? ` (${row.note})` : ''}`;
    lines.push(`| ${row.label} | ${ratios.map((r) => `${r} | `).join('')}${figure} |`);
  }
  const spread = widestSpread(rows);
  if (spread) lines.push('', spread);
  return lines.join('\n');
}

/**
 * With --rounds: the row whose rounds differ most, as a line under its table. It tells the reader
 * how far this run's own noise goes: a ratio nearer than that to 1, or to a target, may land on
 * the other side in another run.
 */
function widestSpread(rows: Row[]): string | undefined {
  let widest: { row: Row; low: number; high: number } | undefined;
  for (const row of rows) {
    if (!row.rounds || row.rounds.length < 2) continue;
    const low = Math.min(...row.rounds);
    const high = Math.max(...row.rounds);
    if (low > 0 && (!widest || high / low > widest.high / widest.low)) widest = { row, low, high };
  }
  if (!widest) return undefined;
  const { row, low, high } = widest;
  return `The rounds of one driver differ by up to ${(high / low).toFixed(2)}x in this run (${row.label}: ${formatRate(low)} to ${formatRate(high)}).`;
}

/**
 * The README's table: a line per case, aiofs's headline driver against the first baseline that
 * ran (ratio first), and where the case has one, the limit (fio io_uring, or the first fio row).
 */
function summaryTable(results: { case: Case; rows: Row[] }[], machine: Record<string, string>, command: string): string {
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `Measured on ${date} with \`${command}\` (each driver in its own process, the same data for all; ratios within this run).`,
    `Machine: ${Object.entries(machine).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    '| case | aiofs vs the baseline | aiofs | the baseline (node:fs where it has one) | aiofs vs the limit |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const { case: c, rows } of results) {
    const rates = ratesOf(rows);
    const headline = rows.find((r) => r.driver === (c.headline ?? rows.find((x) => x.driver.startsWith('aiofs') && !c.baselines.includes(x.driver))?.driver));
    const baseline = rows.find((r) => r.driver === c.baselines.find((b) => rates.has(b)));
    const limit = rows.find((r) => r.driver === 'fio-io_uring' && r.rate) ?? rows.find((r) => r.driver.startsWith('fio-') && r.rate);
    const unit = `${c.unit}${c.lowerIsBetter ? ', lower is better' : ''}`;
    if (!headline?.rate) {
      lines.push(`| ${c.title} (${unit}) | n/a | ${headline?.unavailable ?? 'no aiofs driver ran'} | | |`);
      continue;
    }
    const ratio = baseline ? ratioOf(c, rates, headline.driver, baseline.driver) : undefined;
    const limitRatio = limit ? ratioOf(c, rates, headline.driver, limit.driver) : undefined;
    lines.push(
      `| ${c.title} (${unit}) | ${ratio === undefined ? '' : `**${ratio.toFixed(2)}x**`} | ${formatRate(headline.rate)} (${headline.label}) | ${
        baseline?.rate === undefined ? '' : `${formatRate(baseline.rate)} (${baseline.label})`
      } | ${limitRatio === undefined ? '' : `${limitRatio.toFixed(2)}x ${limit!.label}`} |`,
    );
  }
  const spread = widestSpread(results.flatMap((r) => r.rows));
  if (spread) lines.push('', spread);
  return lines.join('\n');
}

/**
 * `--targets`: the project's goals for the case, met or missed, by the ratio of the medians. With
 * --rounds, also the ratio within each round (the two drivers ran minutes apart at most, so a
 * slow spell of the machine weighs on both) and in how many rounds the goal was met: a verdict
 * that not every round gives is not settled by this run.
 */
function targetLines(c: Case, rows: Row[]): string[] {
  const rates = ratesOf(rows);
  return c.targets.flatMap((t) => {
    const ratio = ratioOf(c, rates, t.driver, t.baseline);
    if (ratio === undefined) return [];
    const line = `target ${c.name}: ${t.driver} >= ${t.ratio}x ${c.lowerIsBetter ? 'lower than ' : ''}${t.baseline}: ${ratio.toFixed(2)}x ${ratio >= t.ratio ? 'met' : 'MISSED'}`;
    const driverRounds = rows.find((r) => r.driver === t.driver)?.rounds;
    const baselineRounds = rows.find((r) => r.driver === t.baseline)?.rounds;
    if (!driverRounds || !baselineRounds || driverRounds.length !== baselineRounds.length) return [line];
    const byRound = driverRounds.map((got, i) => (c.lowerIsBetter ? baselineRounds[i] / got : got / baselineRounds[i]));
    const met = byRound.filter((r) => r >= t.ratio).length;
    return [`${line} (by round: ${byRound.map((r) => `${r.toFixed(2)}x`).join(', ')}; met in ${met} of ${byRound.length})`];
  });
}

main().catch((error: unknown) => {
  if (error instanceof CliError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`aiofs bench: ${(error as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  throw error;
});
