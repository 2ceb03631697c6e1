/**
 * What the benchmark says of the machine it ran on: the versions, the CPUs and memory, and the
 * two facts that decide how far any JavaScript program doing one system call per operation stays
 * from C (docs/benchmarks.md, "One read at a time"): what a system call costs a JavaScript
 * program here, and whether the kernel isolates its page tables without PCID, so that every
 * kernel entry empties the TLB of the program's mappings.
 */
import fs from 'node:fs';
import os from 'node:os';

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

const ROUNDS = 5;
const CALLS = 20_000;

/**
 * The time one system call adds to a loop of JavaScript, in microseconds: `process.ppid` makes a
 * getppid(2) at every read, `process.pid` is a number Node keeps; the difference of the two
 * loops, median of ROUNDS alternating rounds of CALLS each (about 0.3 s where a call costs 2 us).
 */
export function syscallMicroseconds(): number {
  const loop = (key: 'pid' | 'ppid'): number => {
    let sum = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sum += process[key];
    const ns = Number(process.hrtime.bigint() - start);
    return sum === -1 ? 0 : ns / CALLS; // `sum` is read, so the loop is not optimised away
  };
  loop('pid');
  loop('ppid');
  const differences: number[] = [];
  for (let round = 0; round < ROUNDS; round++) differences.push(loop('ppid') - loop('pid'));
  differences.sort((a, b) => a - b);
  return Math.max(0, differences[ROUNDS >> 1]) / 1000;
}

/**
 * Linux: whether the kernel isolates its page tables (PTI, the Meltdown mitigation) and, if so,
 * whether the CPU's PCID lets the TLB keep the program's entries across kernel entries. Undefined
 * where the kernel does not say (other systems, older kernels).
 */
export function pageTableIsolation(): string | undefined {
  let meltdown: string;
  try {
    meltdown = fs.readFileSync('/sys/devices/system/cpu/vulnerabilities/meltdown', 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/\bPTI\b/.test(meltdown)) return 'off';
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    return 'on';
  }
  return flags.split(/\s+/).includes('pcid') ? 'on, with PCID' : 'on, without PCID';
}
