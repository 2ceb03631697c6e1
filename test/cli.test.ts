/** The aiofs command, run as a user would: help, usage errors, bench, cp, cat, serve. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { directUnsupported, othersCanRead, pattern, scratchDir, scratchPath } from './support/files.js';
import { containerSandbox } from './support/container.js';
import { oneCpu } from './support/sqpoll.js';
import { backends } from '../src/index.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const aiofs = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
const aiofsBytes = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { timeout: 60_000 });
const isRoot = process.getuid?.() === 0;
/** Where a child can be pinned to one CPU (taskset), or why not: asked once. */
const pin = oneCpu();

/** Well-formed XML, as far as an SVG of elements, attributes and text goes: every tag closed in order, one root. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const [, closing, name, , selfClosing] of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    assert.ok(!(closing && selfClosing), `</${name}/>`);
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes what it opened`);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  assert.deepEqual(stack, [], 'every element closed');
  assert.equal(roots, 1, 'one root element');
  const text = xml.replace(/<[^>]*>/g, '');
  assert.doesNotMatch(text.replace(/&(lt|gt|amp|apos|quot);/g, ''), /[&<>]/, 'text escaped');
}

it('prints help and version, and exits 2 on wrong usage', { timeout: 30_000 }, () => {
  const help = aiofs('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: aiofs <command>/);
  assert.match(aiofs('--version').stdout, /^\d+\.\d+\.\d+\n$/);
  for (const command of ['bench', 'cp', 'cat', 'serve', 'doctor']) {
    const own = aiofs(command, '--help');
    assert.equal(own.status, 0, command);
    assert.match(own.stdout, new RegExp(`Usage: aiofs ${command}`));
  }
  const wrong = aiofs('frobnicate');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /unknown command 'frobnicate'/);
  assert.equal(aiofs().status, 2);
  for (const args of [['cp', 'only-one'], ['cp', '--bogus', 'a', 'b'], ['cp', '--block', 'lots', 'a', 'b'], ['cat'], ['bench', 'no-such-case'], ['bench', '--seconds', '-1'], ['bench', '--backend', 'nope'], ['bench', '--rounds', '0'], ['bench', '--sandbox', 'podman'], ['serve', '--port', 'x'], ['serve', 'a', 'b'], ['serve', '--bogus']]) {
    const run = aiofs(...args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /Usage: aiofs/, args.join(' '));
  }
});

// `npx aiofs` in a clone runs the built file itself, which needs its execute bit (npm sets it only
// for a package installed as a dependency). The build step (npm run compile) sets it.
it('the built command is executable, as npx runs it in a clone', { timeout: 30_000, skip: process.platform === 'win32' && 'no execute bit on Windows' }, () => {
  fs.accessSync(cli, fs.constants.X_OK);
  const run = spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

const sandbox = containerSandbox();

it('bench --json measures every requested driver in its own process, and --plot draws every case', { timeout: 120_000 }, () => {
  const chart = scratchPath('chart.svg');
  const run = aiofs('bench', 'randread-qd1', 'smallfiles-stat', '--json', '--seconds', '0.3', '--size', '8M', '--drivers', 'aiofs-uring,aiofs-threads,node-fsread,fio-psync,aiofs-promises-uring,node-promises', '--plot', chart);
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.deepEqual(
    report.results.map((r: { case: string }) => r.case),
    ['randread-qd1', 'smallfiles-stat'],
  );
  const rows = report.results.flatMap((r: { rows: unknown[] }) => r.rows) as { driver: string; rate?: number; errors?: number; unavailable?: string }[];
  assert.deepEqual(
    rows.map((r) => r.driver),
    ['aiofs-uring', 'aiofs-threads', 'node-fsread', 'fio-psync', 'aiofs-promises-uring', 'node-promises'],
  );
  for (const row of rows) {
    if (row.unavailable) {
      assert.ok(row.driver.startsWith('fio') || row.driver.includes('uring'), `${row.driver}: ${row.unavailable}`);
      continue;
    }
    assert.ok(row.rate! > 0, row.driver);
    assert.equal(row.errors ?? 0, 0, row.driver);
  }
  assert.match(report.machine.node, /^v\d+/);
  // What decides how far one system call per read stays from C on this machine (docs/benchmarks.md).
  assert.match(report.machine['system call from JavaScript'], /^\d+\.\d\d us$/);
  if (process.platform === 'linux' && fs.existsSync('/sys/devices/system/cpu/vulnerabilities/meltdown')) {
    assert.match(report.machine['page-table isolation'], /^(off|on|on, with PCID|on, without PCID)$/);
  }
  const svg = fs.readFileSync(chart, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  for (const name of ['randread-qd1', 'smallfiles-stat', 'IOPS', 'ops/s']) assert.ok(svg.includes(name), name);
  assert.equal((svg.match(/<text/g) ?? []).length > 20, true);
  assertWellFormed(svg);
  assert.equal(svg.replace(/<[^>]*>/g, '').trim().length > 0, true);
});

interface BenchRow {
  driver: string;
  rate?: number;
  errors?: number;
  note?: string;
  unavailable?: string;
}

/**
 * Runs the named random-read drivers briefly, one at a time and 32 at a time, and checks that
 * each row is there in `order` and read only full blocks (a wrong slot or a lost completion shows
 * as an error). Only a machine without io_uring may leave a row out, and then it says so.
 */
function checkRandomReadRows(drivers: string[], order: string[], each: (row: BenchRow) => void = () => {}): void {
  const run = aiofs('bench', 'randread-qd1', 'randread-qd32', '--json', '--seconds', '0.3', '--size', '4M', '--drivers', drivers.join(','));
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { results: { case: string; rows: BenchRow[] }[] };
  assert.deepEqual(
    report.results.map((r) => r.case),
    ['randread-qd1', 'randread-qd32'],
  );
  for (const result of report.results) {
    assert.deepEqual(
      result.rows.map((r) => r.driver),
      order,
    );
    for (const row of result.rows) {
      if (row.unavailable) {
        assert.match(row.unavailable, /uring/i, row.driver);
        continue;
      }
      assert.ok(row.rate! > 0, `${result.case} ${row.driver}`);
      assert.equal(row.errors ?? 0, 0, `${result.case} ${row.driver}`);
      each(row);
    }
  }
}

it('bench: the reference rows (engine floor, a ring of buffers) read the same bytes, one at a time and 32 at a time, when named', { timeout: 120_000 }, () => {
  checkRandomReadRows(['aiofs-engine-floor', 'aiofs-uring', 'aiofs-uring-spread'], ['aiofs-uring', 'aiofs-uring-spread', 'aiofs-engine-floor']);
});

it('bench: the worker-thread rows read full blocks from two workers at once, with and without SQPOLL, when named', { timeout: 120_000 }, () => {
  checkRandomReadRows(['aiofs-uring-workers', 'aiofs-uring-sqpoll-workers'], ['aiofs-uring-workers', 'aiofs-uring-sqpoll-workers'], (row) =>
    // The CPU time is the whole process's: both workers and the polling thread.
    assert.match(row.note!, /us user \+ [\d.]+ us system per op, all threads/, row.driver),
  );
});

it('bench serve: the limits on node:http (bytes from memory, blocking calls) are measured; drivers of another runtime are left out on Node, not reported missing', { timeout: 120_000 }, () => {
  const run = aiofs('bench', 'serve-4k', '--json', '--seconds', '0.5', '--drivers', 'node-memory,node-sync,hono-static,bun-file');
  assert.equal(run.status, 0, run.stderr);
  const rows = JSON.parse(run.stdout).results[0].rows as { driver: string; rate?: number; errors?: number; unavailable?: string }[];
  assert.deepEqual(rows.map((r) => r.driver), ['node-memory', 'node-sync']);
  for (const row of rows) {
    if (row.unavailable) {
      assert.match(row.unavailable, /not installed here: a load generator/, row.driver);
      continue;
    }
    assert.ok(row.rate! > 0, row.driver);
    assert.equal(row.errors ?? 0, 0, row.driver);
  }
  assert.doesNotMatch(run.stderr, /hono|Bun/);
});

it("bench --sandbox docker runs everything under Docker 25+'s seccomp profile: uring refused with its reason, aio measured, the machine line says so", { timeout: 120_000, skip: 'skip' in sandbox ? sandbox.skip : false }, () => {
  const run = aiofs('bench', 'randread-qd1', '--sandbox', 'docker', '--json', '--seconds', '0.3', '--size', '4M', '--drivers', 'aiofs-uring,aiofs-aio,node-filehandle');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.match(report.machine.sandbox, /Docker 25\+/);
  const rows = report.results[0].rows as { driver: string; rate?: number; unavailable?: string }[];
  assert.match(rows.find((r) => r.driver === 'aiofs-uring')!.unavailable!, /seccomp\/container policy \(EPERM\)/);
  for (const name of ['aiofs-aio', 'node-filehandle']) assert.ok(rows.find((r) => r.driver === name)!.rate! > 0, name);
});

it('bench --sandbox docker refuses a profile that is none in a line, and AIOFS_BENCH_SANDBOX alone sandboxes nothing', { timeout: 120_000 }, () => {
  const bad = scratchPath('bad-profile.json');
  for (const text of ['{bad', '{}']) {
    fs.writeFileSync(bad, text);
    const run = spawnSync(process.execPath, [cli, 'bench', 'randread-qd1', '--sandbox', 'docker'], { encoding: 'utf8', env: { ...process.env, AIOFS_DOCKER_PROFILE: bad } });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /is no Docker seccomp profile/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  }
  const run = spawnSync(process.execPath, [cli, 'bench', 'randread-qd1', '--json', '--seconds', '0.2', '--size', '4M', '--drivers', 'aiofs-threads'], { encoding: 'utf8', env: { ...process.env, AIOFS_BENCH_SANDBOX: 'docker' } });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).machine.sandbox, undefined);
});

it('bench --rounds runs every driver that many times and shows the median', { timeout: 120_000 }, () => {
  const run = aiofs('bench', 'randread-qd1', '--json', '--seconds', '0.2', '--size', '4M', '--rounds', '3', '--drivers', 'aiofs-threads,node-fsread');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { settings: { rounds: number }; results: { rows: { driver: string; rate: number; rounds: number[] }[] }[] };
  assert.equal(report.settings.rounds, 3);
  const rows = report.results[0].rows;
  assert.deepEqual(
    rows.map((r) => r.driver),
    ['aiofs-threads', 'node-fsread'],
  );
  for (const row of rows) {
    assert.equal(row.rounds.length, 3, row.driver);
    assert.equal(row.rate, [...row.rounds].sort((a, b) => a - b)[1], `${row.driver}: the median round`);
  }
  for (const driver of ['aiofs-threads', 'node-fsread']) assert.match(run.stderr, new RegExp(`${driver} \\(round 3 of 3\\)`), `${driver} ran a third time`);
});

it('bench --markdown begins with the summary table, ratio first; target lines only with --targets', { timeout: 120_000 }, () => {
  const args = ['bench', 'randread-qd1', '--markdown', '--seconds', '0.2', '--size', '4M', '--drivers', 'aiofs-threads,node-filehandle,node-fsread'];
  const run = aiofs(...args);
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.match(lines[0], /^Measured on \d{4}-\d{2}-\d{2} with `npx aiofs bench randread-qd1 --markdown .*`/);
  assert.match(lines[1], /^Machine: node v\d+/);
  const row = lines.find((line) => line.startsWith('| cached 4 KiB random read, 1 at a time (IOPS) |'));
  assert.ok(row, run.stdout);
  // The ratio of the headline driver to the first baseline comes first, then both figures.
  assert.match(row!, /^\| [^|]+ \| \*\*\d+\.\d\dx\*\* \| [\d.]+ K? ?\(aiofs ctx\.read, threads\) \| [\d.]+ K? ?\(fs\/promises FileHandle\.read\) \|/);
  // The per-case table follows, its ratios before the figure; no target lines.
  assert.match(run.stdout, /\| driver \| vs node-filehandle \| vs node-fsread \| IOPS \|/);
  assert.match(run.stdout, /us user \+ [\d.]+ us system per op/);
  assert.doesNotMatch(run.stdout, /^target /m);
  // One round: no spread to tell, and a word on stderr that one round is not enough here.
  assert.doesNotMatch(run.stdout, /The rounds of one driver/);
  assert.match(run.stderr, /^# one round: .* --rounds 3 /m);
  const checked = aiofs('bench', 'randread-qd1', '--targets', '--seconds', '0.2', '--size', '4M', '--drivers', 'aiofs-uring,aiofs-promises-filehandle');
  assert.equal(checked.status, 0, checked.stderr);
  assert.match(checked.stdout, /^target randread-qd1: aiofs-promises-filehandle >= 0\.9x aiofs-uring: \d+\.\d\dx (met|MISSED)$/m);
});

it('bench --rounds says how far the rounds of one driver differ, and --targets gives the ratio within each round', { timeout: 120_000 }, () => {
  const run = aiofs('bench', 'randread-qd1', '--targets', '--markdown', '--rounds', '2', '--seconds', '0.2', '--size', '4M', '--drivers', 'aiofs-uring,aiofs-promises-filehandle');
  assert.equal(run.status, 0, run.stderr);
  // Under the summary table and under the case's table.
  assert.doesNotMatch(run.stderr, /# one round/);
  const spreads = run.stdout.match(/^The rounds of one driver differ by up to (\d+\.\d\d)x in this run \((aiofs[^:]+): [\d.]+(?: [KM])? to [\d.]+(?: [KM])?\)\.$/gm);
  assert.equal(spreads?.length, 2, run.stdout);
  const target = /^target randread-qd1: aiofs-promises-filehandle >= 0\.9x aiofs-uring: (\d+\.\d\d)x (met|MISSED) \(by round: (\d+\.\d\d)x, (\d+\.\d\d)x; met in (\d) of 2\)$/m.exec(run.stdout);
  assert.ok(target, run.stdout);
  const byRound = [Number(target[3]), Number(target[4])];
  // The printed ratios are rounded to 0.01: one printed as 0.90x may be just under the target.
  const met = Number(target[5]);
  assert.ok(met >= byRound.filter((r) => r >= 0.905).length && met <= byRound.filter((r) => r >= 0.895).length, target[0]);
  // Of two rounds the median is their mean: the ratio of the medians lies between the rounds' ratios, give or take rounding.
  assert.ok(Number(target[1]) >= Math.min(...byRound) - 0.01 && Number(target[1]) <= Math.max(...byRound) + 0.01, target[0]);
});

it('bench cp times aiofs cp, cp and fs.copyFile as commands, source cached and not', { timeout: 120_000 }, () => {
  const run = aiofs('bench', 'cp', '--json', '--size', '4M');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { results: { case: string; rows: { driver: string; rate?: number; errors?: number; unavailable?: string }[] }[] };
  assert.deepEqual(
    report.results.map((r) => r.case),
    ['cp-uncached', 'cp-cached'],
  );
  for (const { case: name, rows } of report.results) {
    assert.deepEqual(
      rows.map((r) => r.driver),
      ['aiofs-cp', 'gnu-cp', 'node-copyfile'],
    );
    for (const row of rows) {
      // GNU dd and cp are Linux tools; elsewhere the row says why it has no figure.
      if (row.unavailable && process.platform !== 'linux') continue;
      assert.equal(row.unavailable, undefined, `${name} ${row.driver}`);
      assert.ok(row.rate! > 0, `${name} ${row.driver}`);
      assert.equal(row.errors, 0, `${name} ${row.driver}: copies of the wrong size`);
    }
  }
});

it('bench --backend threads runs the threads drivers and the baselines only', { timeout: 120_000 }, () => {
  const run = aiofs('bench', 'randread-qd1', '--json', '--seconds', '0.2', '--size', '4M', '--backend', 'threads', '--drivers', 'aiofs-uring,aiofs-threads,node-fsread');
  assert.equal(run.status, 0, run.stderr);
  const rows = JSON.parse(run.stdout).results[0].rows as { driver: string }[];
  assert.deepEqual(
    rows.map((r) => r.driver),
    ['aiofs-threads', 'node-fsread'],
  );
});

it('bench: pinned to one CPU, the SQPOLL rows say sqpoll is unavailable and why, and the others measure', { timeout: 120_000, skip: pin.skip || (!backends()[0].available && 'uring unavailable') }, () => {
  const { cpu } = pin as { cpu: string };
  const drivers = ['aiofs-uring', 'aiofs-uring-sqpoll', 'aiofs-uring-sqpoll-workers', 'aiofs-promises-filehandle-sqpoll'];
  const run = spawnSync('taskset', ['-c', cpu, process.execPath, cli, 'bench', 'randread-qd1', '--json', '--seconds', '0.2', '--size', '4M', '--drivers', drivers.join(',')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const rows = JSON.parse(run.stdout).results[0].rows as { driver: string; rate?: number; unavailable?: string }[];
  assert.deepEqual(rows.map((r) => r.driver), drivers);
  assert.ok(rows[0].rate! > 0, JSON.stringify(rows[0]));
  for (const row of rows.slice(1)) assert.match(row.unavailable ?? '', /sqpoll is unavailable here: this thread may run on one CPU only/, row.driver);
});

/** Copies a 3 MiB file with each set of options; the copy must be the same bytes and mode. */
function copiesExactly(variants: string[][]): { src: string; data: Buffer } {
  const src = scratchPath('src');
  const data = pattern(3 * (1 << 20) + 12345);
  fs.writeFileSync(src, data, { mode: 0o640 });
  fs.chmodSync(src, 0o640);
  for (const options of variants) {
    const dst = scratchPath('dst');
    const run = aiofs('cp', ...options, src, dst);
    assert.equal(run.status, 0, `${options}: ${run.stderr}`);
    assert.ok(fs.readFileSync(dst).equals(data), `${options}: bytes`);
    assert.equal(fs.statSync(dst).mode & 0o777, 0o640, `${options}: mode`);
  }
  return { src, data };
}

const noDirect = await directUnsupported(scratchDir());

it('cp --direct copies byte for byte', { timeout: 60_000, skip: noDirect && `O_DIRECT unsupported here: ${noDirect}` }, () => {
  copiesExactly([['--direct'], ['--direct', '--block', '8K']]);
});

it('cp copies a file of more blocks than are in flight at once, byte for byte (20 MiB: 80 blocks of 256 KiB, 32 in flight)', { timeout: 60_000 }, () => {
  const src = scratchPath('many-blocks');
  const data = pattern(20 * (1 << 20) + 777, 3);
  fs.writeFileSync(src, data);
  for (const options of [[], ['--block', '100K']]) {
    const dst = scratchPath('many-blocks-copy');
    const run = aiofs('cp', ...options, src, dst);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(fs.readFileSync(dst).equals(data), `${options}: bytes`);
  }
});

it('cp copies byte for byte, keeps the mode, and copies into a directory', { timeout: 60_000 }, () => {
  const { src, data } = copiesExactly([[], ['--block', '64K'], ['--block', '1000'], ['--block', '3M']]);
  const empty = scratchPath('empty');
  fs.writeFileSync(empty, '');
  assert.equal(aiofs('cp', empty, `${empty}-copy`).status, 0);
  assert.equal(fs.statSync(`${empty}-copy`).size, 0);
  const dir = scratchPath('into');
  fs.mkdirSync(dir);
  assert.equal(aiofs('cp', src, dir).status, 0);
  assert.ok(fs.readFileSync(path.join(dir, path.basename(src))).equals(data));
});

it('cp gives a new file the permission bits GNU cp gives it: no setuid, setgid or sticky bit', { timeout: 60_000 }, () => {
  for (const mode of [0o4755, 0o2755, 0o1755, 0o6777, 0o640]) {
    const src = scratchPath('special');
    fs.writeFileSync(src, 'x');
    fs.chmodSync(src, mode);
    const [ours, gnu] = [scratchPath('ours'), scratchPath('gnu')];
    assert.equal(aiofs('cp', src, ours).status, 0);
    assert.equal(spawnSync('cp', [src, gnu]).status, 0);
    assert.equal((fs.statSync(ours).mode & 0o7777).toString(8), (fs.statSync(gnu).mode & 0o7777).toString(8), `from ${mode.toString(8)}`);
  }
});

it('cp reports a missing source, an unwritable destination, and leaves no partial file', { timeout: 60_000 }, () => {
  const missing = scratchPath('missing');
  const run = aiofs('cp', missing, scratchPath('x'));
  assert.equal(run.status, 1);
  assert.equal(run.stderr, `aiofs: ${missing}: ENOENT: no such file or directory, stat\n`);
  const src = scratchPath('src');
  fs.writeFileSync(src, pattern(1000));
  const nowhere = path.join(scratchPath('no-dir'), 'dst');
  const unwritable = aiofs('cp', src, nowhere);
  assert.equal(unwritable.status, 1);
  assert.match(unwritable.stderr, new RegExp(`^aiofs: ${nowhere}: ENOENT`));
  assert.equal(aiofs('cp', src, src).status, 1, 'a file onto itself');
  assert.ok(fs.readFileSync(src).equals(pattern(1000)), 'the source is untouched');
});

it('cp removes the partial destination when the copy fails midway (a file size limit)', { timeout: 60_000 }, () => {
  const src = scratchPath('big');
  fs.writeFileSync(src, pattern(1 << 20));
  const dst = scratchPath('partial');
  const run = spawnSync('bash', ['-c', 'ulimit -f 64 && exec "$0" "$@"', process.execPath, cli, 'cp', src, dst], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`^aiofs: ${dst}: EFBIG`));
  assert.equal(fs.existsSync(dst), false);
});

it('cat writes files in order, reports a missing one and goes on, and stops quietly on EPIPE', { timeout: 60_000 }, () => {
  const a = scratchPath('a');
  const b = scratchPath('b');
  fs.writeFileSync(a, pattern(700_000, 1));
  fs.writeFileSync(b, 'tail\n');
  const both = aiofsBytes('cat', a, b);
  assert.equal(both.status, 0);
  assert.ok(both.stdout.equals(Buffer.concat([pattern(700_000, 1), Buffer.from('tail\n')])));
  const missing = scratchPath('missing');
  const partly = aiofs('cat', missing, b);
  assert.equal(partly.status, 1);
  assert.equal(partly.stdout, 'tail\n');
  assert.equal(partly.stderr, `aiofs: ${missing}: ENOENT: no such file or directory, open\n`);
  const piped = spawnSync('bash', ['-c', `"$0" "$1" cat "$2" | head -c 10 > /dev/null; echo "\${PIPESTATUS[0]}"`, process.execPath, cli, a], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(piped.stderr, '');
  assert.equal(piped.stdout.trim(), '141');
});

it('cat and cp refuse what the identity may not read', { timeout: 60_000, skip: !isRoot && 'needs root to drop to another identity' }, (t) => {
  if (!othersCanRead(cli)) return t.skip('this checkout is in a directory other users cannot enter, so aiofs cannot run as nobody');
  const secret = scratchPath('secret');
  fs.writeFileSync(secret, 's', { mode: 0o600 });
  const dir = path.dirname(secret);
  fs.chmodSync(dir, 0o755);
  const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, 'cat', secret], { encoding: 'utf8', timeout: 60_000 });
  if (run.error) return t.skip('setpriv (util-linux) is not installed, so there is no unprivileged identity to run as');
  assert.equal(run.status, 1);
  assert.equal(run.stderr, `aiofs: ${secret}: EACCES: permission denied, open\n`);
});

it('doctor says what runs here and why the rest does not, as text and as JSON', { timeout: 30_000 }, () => {
  const text = aiofs('doctor');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^runtime {3}Node\.js v\d+/m);
  assert.match(text.stdout, /^addon {5}\S+aiofs\.node \((built from source|prebuilt|AIOFS_NATIVE)/m);
  for (const name of ['uring', 'aio', 'threads']) assert.match(text.stdout, new RegExp(`^backend {3}${name} +(available|unavailable: .+)$`, 'm'));
  assert.match(text.stdout, /^auto {6}(uring|aio|threads)/m);
  assert.match(text.stdout, /^syscall {3}\d+\.\d\d us from JavaScript(, page-table isolation [^:]+)?: /m);
  assert.match(text.stdout, /^sqpoll {4}(available: |unavailable: .+)/m);
  const version = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  assert.match(text.stdout, new RegExp(`^aiofs {5}${version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(text.stdout, /^register  not active \(not loaded in this process\): node --import aiofs\/register/m);
  // Loaded, it says what it replaced; turned off, why not.
  const registered = spawnSync(process.execPath, ['--import', 'aiofs/register', cli, 'doctor', '--json'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(registered.status, 0, registered.stderr);
  const { register } = JSON.parse(registered.stdout) as { register: { active: boolean; promises: string[]; callbacks: string[] } };
  assert.equal(register.active, true);
  assert.ok(register.promises.includes('readFile') && register.callbacks.includes('read'), JSON.stringify(register));
  const off = spawnSync(process.execPath, ['--import', 'aiofs/register', cli, 'doctor'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, AIOFS_REGISTER: '0' } });
  assert.match(off.stdout, /^register  not active \(AIOFS_REGISTER=0\)/m);
  const json = aiofs('doctor', '--json');
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.ok(fs.existsSync(report.addon.path), report.addon.path);
  assert.deepEqual(report.backends.map((b: { name: string }) => b.name), ['uring', 'aio', 'threads']);
  for (const b of report.backends) assert.ok(b.available || b.reason, JSON.stringify(b));
  if (process.platform === 'linux') assert.match(report.limits.memlock, /bytes|unlimited/);
  assert.ok(Number.isFinite(report.syscall.microseconds) && report.syscall.microseconds >= 0, JSON.stringify(report.syscall));
  assert.ok(report.sqpoll.available === true || (report.sqpoll.available === false && report.sqpoll.reason), JSON.stringify(report.sqpoll));
  // Pinned to one CPU, sqpoll is ignored, and doctor says why.
  if (report.sqpoll.available && pin.skip === false) {
    const pinned = spawnSync('taskset', ['-c', pin.cpu, process.execPath, cli, 'doctor', '--json'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.deepEqual(JSON.parse(pinned.stdout).sqpoll, { available: false, reason: 'this thread may run on one CPU only, and a polling thread would take that CPU from the program (taskset, cpuset)' });
  }
  const wrong = aiofs('doctor', '--bogus');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /Usage: aiofs doctor/);
});

it('serve: one line once listening, the files over HTTP, a clean exit on SIGTERM and SIGINT', { timeout: 60_000 }, async () => {
  const dir = scratchPath('served');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello over http\n');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const child = spawn(process.execPath, [cli, 'serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const match = /^aiofs: serving (.+) on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line);
      assert.ok(match, line);
      assert.equal(match[1], dir);
      const base = `http://127.0.0.1:${match[2]}`;
      const ok = await fetch(`${base}/hello.txt`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'hello over http\n');
      assert.equal((await fetch(`${base}/missing`)).status, 404);
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code, killedBy] = await exited;
      assert.equal(code, 0, `after ${signal}: ${killedBy}`);
    } finally {
      child.kill('SIGKILL');
    }
  }
});

it('serve: a DIR that is missing, or not a directory, is an error saying which, exit 1', { timeout: 30_000 }, () => {
  const missing = aiofs('serve', path.join(scratchDir(), 'no-such-dir'), '--port', '0');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^aiofs: .*no-such-dir: no such file or directory\n$/);
  const file = path.join(scratchDir(), 'a-file');
  fs.writeFileSync(file, 'x');
  const notDir = aiofs('serve', file, '--port', '0');
  assert.equal(notDir.status, 1);
  assert.match(notDir.stderr, /^aiofs: .*a-file: not a directory\n$/);
});

it("cp: a copy onto itself is refused in GNU cp's words, naming both files once, exit 1", { timeout: 30_000 }, () => {
  const file = path.join(scratchDir(), 'itself');
  fs.writeFileSync(file, 'keep me');
  const run = aiofs('cp', file, file);
  assert.equal(run.status, 1);
  assert.equal(run.stderr, `aiofs: '${file}' and '${file}' are the same file\n`);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
});
