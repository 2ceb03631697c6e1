/**
 * What the benchmark says of the machine it ran on: the versions, the CPUs and memory, and what a
 * system call costs there (src/cli/host.ts), which decides how far one read at a time can come to
 * fio.
 */
import os from 'node:os';
import { pageTableIsolation, syscallMicroseconds } from '../src/cli/host.js';

/** The machine record of a run, in the order it is printed. `runtime` names a runtime other than Node. */
export function describeMachine(runtime: string | undefined, fio: string | undefined): Record<string, string> {
  const isolation = pageTableIsolation();
  return {
    ...(runtime && { runtime }),
    node: process.version,
    libuv: process.versions.uv,
    kernel: os.release(),
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    'system call from JavaScript': `${syscallMicroseconds().toFixed(2)} us`,
    ...(isolation && { 'page-table isolation': isolation }),
    fio: fio ?? 'not installed (apt-get install fio to compare with the physical limit)',
  };
}
