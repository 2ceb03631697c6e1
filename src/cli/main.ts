#!/usr/bin/env node
/**
 * The `aiofs` command: `bench` (the benchmark suite, bench/run.ts, in a process of its own),
 * `cp`, `cat`, `serve` and `doctor`. Wrong usage prints the usage and exits 2; an I/O error prints
 * `aiofs: PATH: message` and exits 1.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cat, catUsage } from './cat.js';
import { CopyError, cp, cpUsage } from './cp.js';
import { doctor, doctorUsage } from './doctor.js';
import { CliError, describeError } from './errors.js';
import { serve, serveUsage } from './serve.js';
import { packageVersion } from './version.js';

const usage = `Usage: aiofs <command> [options]

Commands:
  bench [CASE...] [options]   measure aiofs on this machine against node:fs and fio
  cp SRC DST [options]        copy a file, several blocks in flight
  cat FILE...                 write files to standard output
  serve [DIR] [options]       serve a directory over HTTP (--port, --host)
  doctor [--json]             what aiofs can use here, and why not the rest

Options:
  -h, --help     show this help (aiofs CMD --help: the command's)
  -v, --version  print the version
`;


/** The benchmark runs in its own process: it spawns one per driver, and owns its options. */
function bench(args: string[]): Promise<number> {
  const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));
  const child = spawn(process.execPath, [runner, ...args], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const wantsHelp = rest.includes('-h') || rest.includes('--help');
  try {
    switch (command) {
      case '-h':
      case '--help':
        process.stdout.write(usage);
        return 0;
      case '-v':
      case '--version':
        process.stdout.write(`${packageVersion()}\n`);
        return 0;
      case 'bench':
        return await bench(rest);
      case 'cp':
        return await cp(rest);
      case 'cat':
        if (wantsHelp) {
          process.stdout.write(catUsage);
          return 0;
        }
        return await cat(rest);
      case 'serve':
        return await serve(rest);
      case 'doctor':
        if (wantsHelp) {
          process.stdout.write(doctorUsage);
          return 0;
        }
        return doctor(rest);
      case undefined:
        process.stderr.write(usage);
        return 2;
      default:
        process.stderr.write(`aiofs: unknown command '${command}'\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`aiofs: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`aiofs: ${(error as Error).message}\n\n${command === 'cp' ? cpUsage : command === 'doctor' ? doctorUsage : command === 'serve' ? serveUsage : usage}`);
      return 2;
    }
    if (error instanceof CopyError) {
      // A reader that went away (a FIFO's, a pipe's): quietly, status 141, as SIGPIPE ends GNU cp.
      if ((error.cause as NodeJS.ErrnoException)?.code === 'EPIPE') return 141;
      process.stderr.write(`aiofs: ${error.path === undefined ? '' : `${error.path}: `}${describeError(error.cause)}\n`);
      return 1;
    }
    const where = (error as NodeJS.ErrnoException).path;
    process.stderr.write(`aiofs: ${where ? `${where}: ` : ''}${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
