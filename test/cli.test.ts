/** The aiofs command, run as a user would: help, version, usage errors, and a short benchmark. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const aiofs = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

it('prints help and version, and exits 2 on wrong usage', { timeout: 20_000 }, () => {
  const help = aiofs('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: aiofs <command>/);
  assert.match(aiofs('--version').stdout, /^\d+\.\d+\.\d+\n$/);
  const wrong = aiofs('frobnicate');
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /unknown command 'frobnicate'/);
  assert.equal(aiofs().status, 2);
});

it('bench --json measures every requested driver in its own process', { timeout: 120_000 }, () => {
  const run = aiofs('bench', '--json', '--seconds', '0.3', '--size', '8M', '--cases', 'randread-qd1', '--drivers', 'aiofs-uring,aiofs-threads,node-fsread,fio-psync');
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout);
  assert.equal(report.results.length, 1);
  const rows = report.results[0].rows as { driver: string; rate?: number; errors?: number; unavailable?: string }[];
  assert.deepEqual(
    rows.map((r) => r.driver),
    ['aiofs-uring', 'aiofs-threads', 'node-fsread', 'fio-psync'],
  );
  for (const row of rows) {
    if (row.unavailable) {
      assert.ok(row.driver.startsWith('fio') || row.driver === 'aiofs-uring', `${row.driver}: ${row.unavailable}`);
      continue;
    }
    assert.ok(row.rate! > 0, row.driver);
    assert.equal(row.errors ?? 0, 0, row.driver);
  }
  assert.match(report.machine.node, /^v\d+/);
});
