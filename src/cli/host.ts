/**
 * What a system call costs on this machine: the two facts that decide how far any JavaScript
 * program doing one system call per operation stays from C (docs/benchmarks.md, "One read at a
 * time"). `aiofs doctor` and the machine line of `aiofs bench` print them.
 */
import fs from 'node:fs';

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
