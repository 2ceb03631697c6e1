#!/usr/bin/env node
/**
 * The `aiofs` command. For now it has one job, `aiofs bench`, which runs the benchmark suite
 * (bench/run.ts) on this machine; every option after `bench` is passed to it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const usage = `Usage: aiofs <command> [options]

Commands:
  bench [--seconds N] [--size 1G] [--lines 6000000] [--write-size 1G] [--dir DIR]
        [--cases a,b] [--drivers a,b] [--json] [--keep]
        measure aiofs on this machine against node:fs and fio, each driver in its own process;
        cases: randread-qd1, randread-qd32, direct-randread-qd1, direct-randread-qd32, lines,
        write-seq

Options:
  -h, --help     show this help
  -v, --version  print the version
`;

const [command, ...rest] = process.argv.slice(2);
if (command === '-h' || command === '--help') {
  process.stdout.write(usage);
} else if (command === '-v' || command === '--version') {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else if (command === 'bench') {
  const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
  const run = spawnSync(process.execPath, [runner, ...rest], { stdio: 'inherit' });
  process.exitCode = run.status ?? 1;
} else {
  process.stderr.write(command === undefined ? usage : `aiofs: unknown command '${command}'\n\n${usage}`);
  process.exitCode = 2;
}
