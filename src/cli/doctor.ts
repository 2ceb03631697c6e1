/**
 * `aiofs doctor [--json]`: what aiofs can use on this machine and why not the rest: the runtime,
 * the addon loaded (path, where it came from, C library, how completions arrive) or why none
 * loaded, each backend with its reason, what 'auto' picks, and the kernel settings that decide
 * whether the kernel engines run (io_uring_disabled, the AIO context limit, the memlock limit),
 * what a system call costs here (host.ts), which bounds one operation at a time, and whether a
 * context with sqpoll, which makes none, gets its polling thread here.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { backends } from '../index.js';
import { sqpollAvailability } from '../backend/uring.js';
import { libcFamily, nativeInfo, runtime } from '../native.js';
import { registration } from '../register/state.js';
import { packageVersion } from './version.js';
import { pageTableIsolation, syscallMicroseconds } from './host.js';

export const doctorUsage = `Usage: aiofs doctor [--json]

Print what aiofs can use on this machine: the runtime, the native addon, each backend (and why
one is unavailable), the kernel settings that matter, what a system call costs here, and
whether a context with sqpoll gets a kernel thread polling its ring.

Options:
  --json   one JSON object instead of text
`;

function readProc(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The soft memlock limit in bytes ('unlimited'), from /proc/self/limits. */
function memlockLimit(): string | undefined {
  const line = readProc('/proc/self/limits')
    ?.split('\n')
    .find((l) => l.startsWith('Max locked memory'));
  const soft = line?.split(/\s{2,}/)[1];
  if (soft === undefined) return undefined;
  return soft === 'unlimited' ? soft : `${Number(soft)} bytes`;
}

const uringDisabled: Record<string, string> = {
  '0': '0 (io_uring allowed)',
  '1': '1 (io_uring only for the io_uring_group and privileged processes)',
  '2': '2 (io_uring disabled for everyone)',
};

export function doctorReport() {
  const { name, version } = runtime();
  const list = backends();
  const disabled = readProc('/proc/sys/kernel/io_uring_disabled');
  return {
    aiofs: packageVersion(),
    runtime: `${name} ${version}`,
    platform: `${process.platform}-${process.arch}${process.platform === 'linux' ? `-${libcFamily() ?? 'unknown libc'}` : ''}`,
    kernel: `${os.type()} ${os.release()}`,
    addon: nativeInfo(),
    backends: list,
    auto: list.find((b) => b.available)?.name,
    limits: {
      io_uring_disabled: disabled === undefined ? undefined : (uringDisabled[disabled] ?? disabled),
      aio: (() => {
        const max = readProc('/proc/sys/fs/aio-max-nr');
        const used = readProc('/proc/sys/fs/aio-nr');
        return max === undefined ? undefined : `${used} of ${max} AIO events in use (fs.aio-nr of fs.aio-max-nr)`;
      })(),
      memlock: memlockLimit(),
    },
    sqpoll: sqpollAvailability(),
    register: registration() ?? { active: false, reason: 'not loaded in this process' },
    syscall: {
      microseconds: Math.round(syscallMicroseconds() * 100) / 100,
      pageTableIsolation: pageTableIsolation(),
    },
  };
}

export function doctor(args: string[]): number {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: false });
  const report = doctorReport();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const lines = [`aiofs     ${report.aiofs}`, `runtime   ${report.runtime} on ${report.platform}, ${report.kernel}`];
  const addon = report.addon;
  lines.push(
    addon.error
      ? `addon     not loaded: ${addon.error}`
      : `addon     ${addon.path} (${addon.source === 'prebuilt' ? `prebuilt, ${addon.libc ?? process.platform}` : addon.source === 'env' ? 'AIOFS_NATIVE' : 'built from source'}; completions by ${addon.delivery === 'thread' ? 'a waiter thread' : 'polling the event loop'})`,
  );
  for (const b of report.backends) lines.push(`backend   ${b.name.padEnd(8)}${b.available ? 'available' : `unavailable: ${b.reason}`}`);
  lines.push(`auto      ${report.auto ?? 'none'}${process.env.AIOFS_BACKEND ? ` (AIOFS_BACKEND=${process.env.AIOFS_BACKEND} overrides it)` : ''}`);
  const limits = report.limits;
  if (limits.io_uring_disabled !== undefined) lines.push(`limit     kernel.io_uring_disabled = ${limits.io_uring_disabled}`);
  if (limits.aio !== undefined) lines.push(`limit     ${limits.aio}`);
  if (limits.memlock !== undefined) lines.push(`limit     memlock (ulimit -l) = ${limits.memlock}: registered buffers count against it`);
  const { microseconds, pageTableIsolation: isolation } = report.syscall;
  lines.push(
    `syscall   ${microseconds.toFixed(2)} us from JavaScript${isolation === undefined ? '' : `, page-table isolation ${isolation}`}: ` +
      'each operation awaited alone pays one and operations started together share one',
  );
  lines.push(
    report.sqpoll.available
      ? 'sqpoll    available: reads and writes on a context with sqpoll (AIOFS_SQPOLL=1 for the default one) make no system call while its kernel thread polls, at the cost of a CPU'
      : `sqpoll    unavailable: ${report.sqpoll.reason}`,
  );
  const { register } = report;
  lines.push(
    register.active
      ? `register  active: aiofs runs node:fs/promises' ${register.promises.join(', ')} and node:fs's ${register.callbacks.join(', ')}`
      : `register  not active (${register.reason}): node --import aiofs/register, or NODE_OPTIONS='--import aiofs/register', puts aiofs behind node:fs`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
