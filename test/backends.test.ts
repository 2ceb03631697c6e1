/** Backend selection, per-operation fallback, credentials and what a child process inherits. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { backends, createContext, IoContext } from '../src/index.js';
import { Op } from '../src/backend/backend.js';
import { createAioBackend } from '../src/backend/aio.js';
import type { EngineBackend } from '../src/backend/engine.js';
import { createUringBackend } from '../src/backend/uring.js';
import { forEachBackend } from './support/backends.js';
import { openFifo, openWith, pattern, scratchPath } from './support/files.js';
import { hostChangesRefused } from './support/host.js';
import { oneCpu } from './support/sqpoll.js';

const timeout = 30_000;
/** Where a child can be pinned to one CPU (taskset), or why not: asked once. */
const pin = oneCpu();
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const isRoot = process.getuid?.() === 0;

function whichBackend(env: Record<string, string | undefined>) {
  const run = spawnSync(process.execPath, [fixture('which-backend')], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as {
    backends: { name: string; available: boolean; reason?: string }[];
    auto: string;
    twice: string;
    explicit: Record<string, string>;
    warnings: string[];
  };
}

/** Write a sysctl for the duration of `body`, restoring it afterwards. */
function withSysctl<T>(settings: Record<string, string>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(settings).map((name) => [name, fs.readFileSync(name, 'utf8').trim()]));
  try {
    for (const [name, value] of Object.entries(settings)) fs.writeFileSync(name, value);
    return body();
  } finally {
    for (const [name, value] of Object.entries(saved)) fs.writeFileSync(name, value);
  }
}

function canWrite(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.W_OK);
    fs.writeFileSync(path, fs.readFileSync(path, 'utf8').trim());
    return true;
  } catch {
    return false;
  }
}

it('backends() lists uring, aio and threads, each available or with a reason', { timeout }, () => {
  const list = backends();
  assert.deepEqual(
    list.map((b) => b.name),
    ['uring', 'aio', 'threads'],
  );
  for (const info of list) {
    if (info.available) assert.equal(info.reason, undefined);
    else assert.match(info.reason ?? '', /\w/);
  }
  assert.equal(list.find((b) => b.name === 'threads')!.available, true);
});

it('every backend AIOFS_EXPECT_BACKENDS names is available (CI names those its machine has, so that a missing one fails the run rather than skip its tests)', { timeout, skip: !process.env.AIOFS_EXPECT_BACKENDS && 'AIOFS_EXPECT_BACKENDS is not set' }, () => {
  const expected = process.env.AIOFS_EXPECT_BACKENDS!.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of expected) {
    const info = backends().find((b) => b.name === name);
    assert.ok(info, `AIOFS_EXPECT_BACKENDS names '${name}', which is no backend`);
    assert.ok(info.available, `${name} backend unavailable: ${info.reason}`);
  }
});

it('auto picks the first available backend in the order uring, aio, threads', { timeout }, () => {
  const report = whichBackend({ AIOFS_BACKEND: undefined });
  const first = report.backends.find((b) => b.available)!.name;
  assert.equal(report.auto, first);
});

for (const info of backends()) {
  it(`AIOFS_BACKEND=${info.name} overrides auto`, { timeout, skip: !info.available && `${info.name} unavailable: ${info.reason}` }, () => {
    assert.equal(whichBackend({ AIOFS_BACKEND: info.name }).auto, info.name);
  });
}

it('an unknown AIOFS_BACKEND warns once and falls back to auto', { timeout }, () => {
  const report = whichBackend({ AIOFS_BACKEND: 'turbo' });
  assert.equal(report.auto, report.backends.find((b) => b.available)!.name);
  assert.equal(report.twice, report.auto);
  assert.equal(report.warnings.length, 1, report.warnings.join('\n'));
  assert.match(report.warnings[0], /AIOFS_BAD_BACKEND: AIOFS_BACKEND=turbo/);
});

it('file descriptors all in use at the first operation (EMFILE for a moment) cost that operation at most: auto and an explicit backend recover once they are free', { timeout, skip: process.platform !== 'linux' && 'EMFILE for a moment at the first operation: tested on Linux' }, () => {
  const file = scratchPath('emfile');
  fs.writeFileSync(file, 'read me');
  const expected = backends().find((b) => b.available)!.name;
  const run = (env: Record<string, string | undefined>) => {
    const child = spawnSync('bash', ['-c', 'ulimit -n 256 && exec "$@"', 'emfile', process.execPath, fixture('fds-exhausted'), file], {
      env: { ...process.env, AIOFS_BACKEND: undefined, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.status, 0, child.stderr);
    return JSON.parse(child.stdout) as { first: { ok?: string; backend?: string; error?: string }; later: { ok?: string; backend?: string; error?: string }; warnings: string[] };
  };
  // The first operation fails as node:fs would (EMFILE), and nothing of it is kept: a later one,
  // once fds are free, runs on the backend this machine has, auto or asked for, with no warning
  // about a broken install.
  for (const name of ['auto', 'uring', 'aio'] as const) {
    if (name !== 'auto' && !backends().find((b) => b.name === name)?.available) continue;
    const report = run(name === 'auto' ? {} : { AIOFS_BACKEND: name });
    assert.match(report.first.error ?? '', /EMFILE|just now|just then/, JSON.stringify(report));
    assert.equal(report.later.ok, 'read me', JSON.stringify(report));
    assert.equal(report.later.backend, name === 'auto' ? expected : name, JSON.stringify(report));
    assert.deepEqual(report.warnings, [], JSON.stringify(report));
  }
});

function defaultContextWith(env: Record<string, string | undefined>) {
  const run = spawnSync(process.execPath, [fixture('default-context-sqpoll')], {
    env: { ...process.env, AIOFS_BACKEND: undefined, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { backend: string; same: boolean; pollers: number; warnings: string[] };
}

const uringInfo = backends().find((b) => b.name === 'uring')!;

it('AIOFS_SQPOLL=1 gives the default context a kernel thread polling its submission queue; unset or 0, none', { timeout, skip: !uringInfo.available && `uring unavailable: ${uringInfo.reason}` }, () => {
  const polled = defaultContextWith({ AIOFS_SQPOLL: '1' });
  assert.deepEqual(polled, { backend: 'uring', same: true, pollers: 1, warnings: [] });
  for (const value of [undefined, '0']) {
    assert.deepEqual(defaultContextWith({ AIOFS_SQPOLL: value }), { backend: 'uring', same: true, pollers: 0, warnings: [] }, String(value));
  }
});

it('an AIOFS_SQPOLL other than 1 or 0 warns once, and the default context runs without a polling thread', { timeout, skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const report = defaultContextWith({ AIOFS_SQPOLL: 'yes' });
  assert.equal(report.same, true);
  assert.equal(report.pollers, 0);
  assert.equal(report.warnings.length, 1, report.warnings.join('\n'));
  assert.match(report.warnings[0], /AIOFS_BAD_SQPOLL: AIOFS_SQPOLL=yes/);
});

it('at a limit of one (AIOFS_SQPOLL_THREADS=1), contexts with sqpoll share one polling thread, across worker threads, kept while any of them is open', { timeout, skip: !uringInfo.available && `uring unavailable: ${uringInfo.reason}` }, () => {
  // A limit of one thread, whatever this machine's CPUs would give by default.
  const run = spawnSync(process.execPath, [fixture('sqpoll-shared')], {
    env: { ...process.env, AIOFS_BACKEND: undefined, AIOFS_SQPOLL_THREADS: '1' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  // One thread for the worker's context and the main thread's two; the main thread's contexts
  // still read the right bytes once the worker that made the thread has closed its context and
  // exited; and the thread ends once the last context is closed.
  assert.deepEqual(JSON.parse(run.stdout), { afterWorker: 1, withMain: 1, correct: true, afterExit: 1, afterClose: 0 });
});

function sqpollLimitWith(
  env: Record<string, string | undefined>,
  prefix: string[] = [],
): { counts: number[]; correct: boolean; afterClose: number; warnings: string[] } {
  const [command, ...args] = [...prefix, process.execPath, fixture('sqpoll-limit')];
  const run = spawnSync(command, args, {
    env: { ...process.env, AIOFS_BACKEND: undefined, AIOFS_SQPOLL_THREADS: undefined, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

it('SQPOLL contexts get a polling thread each up to AIOFS_SQPOLL_THREADS, then share; by default up to half the CPUs', { timeout, skip: !uringInfo.available && `uring unavailable: ${uringInfo.reason}` }, () => {
  // Three contexts made in turn: a thread each up to the limit, then a share of one.
  for (const [limit, counts] of [
    ['1', [1, 1, 1]],
    ['2', [1, 2, 2]],
    ['3', [1, 2, 3]],
  ] as const) {
    assert.deepEqual(sqpollLimitWith({ AIOFS_SQPOLL_THREADS: limit }), { counts, correct: true, afterClose: 0, warnings: [] }, `limit ${limit}`);
  }
  // Unset: half the CPUs this process may run on, at least one.
  const limit = Math.max(1, Math.floor(os.availableParallelism() / 2));
  const counts = [1, 2, 3].map((made) => Math.min(made, limit));
  assert.deepEqual(sqpollLimitWith({}), { counts, correct: true, afterClose: 0, warnings: [] }, `default limit ${limit}`);
  // Anything but a whole number from 1 to 1024 warns once, and the default applies.
  for (const bad of ['0', 'lots', '2.5', '1025']) {
    const report = sqpollLimitWith({ AIOFS_SQPOLL_THREADS: bad });
    assert.deepEqual(report.counts, counts, bad);
    assert.equal(report.warnings.length, 1, report.warnings.join('\n'));
    assert.match(report.warnings[0], new RegExp(`^AIOFS_BAD_SQPOLL_THREADS: AIOFS_SQPOLL_THREADS=${bad.replace('.', '\\.')} is not a whole number from 1 to 1024`));
  }
});

it('a context asking for sqpoll in a process pinned to one CPU runs without a polling thread, and warns once', { timeout, skip: (!uringInfo.available && `uring unavailable: ${uringInfo.reason}`) || pin.skip }, () => {
  const { cpu } = pin as { cpu: string };
  // The polling thread could only run when the program does not (one read at a time was 4x
  // slower so): three contexts, no thread, the right bytes, one warning, whatever the limit.
  for (const limit of [undefined, '3']) {
    const report = sqpollLimitWith({ AIOFS_SQPOLL_THREADS: limit }, ['taskset', '-c', cpu]);
    assert.deepEqual({ ...report, warnings: report.warnings.length }, { counts: [0, 0, 0], correct: true, afterClose: 0, warnings: 1 }, `limit ${limit}`);
    assert.match(report.warnings[0], /^AIOFS_SQPOLL_ONE_CPU: sqpoll is ignored: this thread may run on one CPU only/);
  }
});

it('a context whose polling thread the kernel refuses (EPERM before Linux 5.11) runs on a ring without one, and warns once', { timeout, skip: !uringInfo.available && `uring unavailable: ${uringInfo.reason}` }, () => {
  const run = spawnSync(process.execPath, [fixture('sqpoll-refused')], {
    env: { ...process.env, AIOFS_BACKEND: undefined, AIOFS_SQPOLL_THREADS: undefined },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), {
    backends: ['uring', 'uring'],
    threads: 0,
    correct: true,
    warnings: ['AIOFS_SQPOLL_REFUSED: sqpoll is ignored: the kernel refused the polling thread (EPERM: before Linux 5.11 it needs CAP_SYS_ADMIN); the context submits with system calls'],
  });
});

it(
  'without io_uring (kernel.io_uring_disabled) and without AIO (fs.aio-max-nr), auto falls back and explicit requests say why',
  {
    timeout,
    skip:
      hostChangesRefused() ||
      (!(isRoot && canWrite('/proc/sys/kernel/io_uring_disabled') && canWrite('/proc/sys/fs/aio-max-nr')) && 'needs root and writable sysctls') ||
      (!backends().every((b) => b.available) && 'needs all three backends available to start with'),
  },
  () => {
    const noUring = withSysctl({ '/proc/sys/kernel/io_uring_disabled': '2' }, () => whichBackend({ AIOFS_BACKEND: undefined }));
    assert.equal(noUring.auto, 'aio');
    assert.match(noUring.backends[0].reason!, /io_uring_disabled.*EPERM/);
    assert.match(noUring.explicit.uring, /^ERR_AIOFS_BACKEND_UNAVAILABLE: .*'uring' backend is not available.*EPERM/);

    const neither = withSysctl({ '/proc/sys/kernel/io_uring_disabled': '2', '/proc/sys/fs/aio-max-nr': '0' }, () =>
      whichBackend({ AIOFS_BACKEND: undefined }),
    );
    assert.equal(neither.auto, 'threads');
    assert.match(neither.backends[1].reason!, /aio-max-nr = 0/);
    assert.match(neither.explicit.aio, /^ERR_AIOFS_BACKEND_UNAVAILABLE: .*aio-max-nr/);
    assert.equal(neither.explicit.threads, 'ok');
  },
);

it('re-runs on the thread pool an operation the ring refuses (as for an opcode the kernel lacks)', { timeout, skip: !backends()[0].available && 'uring unavailable' }, async () => {
  let backend: EngineBackend | undefined;
  const ctx = new IoContext(
    (sink) => (backend = createUringBackend({ entries: 8, sqpoll: false, sqThreadIdle: 0, refuseOps: [Op.Read, Op.Fsync] }, sink)),
  );
  const content = pattern(5000);
  const { fd } = openWith(content);
  const buffer = Buffer.alloc(5000);
  assert.equal(await ctx.read(fd, buffer, 0), 5000);
  assert.ok(buffer.equals(content));
  assert.equal(await ctx.fsync(fd), 0);
  assert.equal(await ctx.write(fd, Buffer.from('x'), 0), 1);
  assert.equal(backend!.fallbacks, 2);
  await ctx.close();
  fs.closeSync(fd);
});

it('aio hands a read that would block (a FIFO) to the thread pool instead of blocking the loop', { timeout, skip: !backends()[1].available && 'aio unavailable' }, async () => {
  let backend: EngineBackend | undefined;
  const ctx = new IoContext((sink) => (backend = createAioBackend(8, sink)));
  const fifo = openFifo();
  const read = ctx.read(fifo, Buffer.alloc(5), 0);
  let ticked = false;
  await new Promise((resolve) => setTimeout(resolve, 20)).then(() => (ticked = true));
  assert.equal(ticked, true);
  fs.writeSync(fifo, Buffer.from('hello'));
  assert.equal(await read, 5);
  assert.ok(backend!.fallbacks >= 1);
  await ctx.close();
  fs.closeSync(fifo);
});

forEachBackend('special files', (name) => {
  it('reads procfs and FIFOs like node:fs does', { timeout }, async () => {
    const ctx = createContext({ backend: name });
    const fd = fs.openSync('/proc/version', 'r');
    const buffer = Buffer.alloc(4096);
    const n = await ctx.read(fd, buffer, 0);
    assert.equal(buffer.subarray(0, n).toString(), fs.readFileSync('/proc/version', 'utf8'));
    fs.closeSync(fd);
    const fifo = openFifo();
    fs.writeSync(fifo, Buffer.from('through a pipe'));
    const piped = Buffer.alloc(14);
    assert.equal(await ctx.read(fifo, piped, 12345), 14);
    assert.equal(piped.toString(), 'through a pipe');
    fs.closeSync(fifo);
    await ctx.close();
  });

  it('leaks no ring, eventfd or AIO context into a child process', { timeout }, async () => {
    const ctx = createContext({ backend: name });
    const { fd } = openWith(pattern(10));
    await ctx.read(fd, Buffer.alloc(10), 0);
    const child = spawnSync('sh', ['-c', 'ls -l /proc/$$/fd'], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.doesNotMatch(child.stdout, /io_uring|eventfd|\[aio\]/);
    await ctx.close();
    fs.closeSync(fd);
  });
});

it(
  'retires a ring created under other credentials after the process drops privileges',
  { timeout, skip: (!isRoot && 'needs root to change identity') || (!backends()[0].available && 'uring unavailable') },
  () => {
    const { file } = openWith(pattern(10));
    fs.chmodSync(file, 0o644);
    // A directory the new identity may enter, so that only each file's own mode decides.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-credentials-'));
    fs.chmodSync(dir, 0o755);
    const readable = path.join(dir, 'readable');
    const secret = path.join(dir, 'secret');
    fs.writeFileSync(readable, 'r', { mode: 0o644 });
    fs.writeFileSync(secret, 's', { mode: 0o600 });
    try {
      for (const mode of ['plain', 'sqpoll']) {
        const args = [fixture('credentials'), file, readable, secret, mode];
        const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
        assert.equal(run.status, 0, run.stderr);
        const expected = { euid: 65534, before: 4, after: 4, again: 4, rebuilds: 1, openReadable: 'opened', openSecret: 'EACCES' };
        assert.deepEqual(JSON.parse(run.stdout), expected, mode);
        assert.equal(fs.readFileSync(secret, 'utf8'), 's', `${mode}: the secret file is untouched`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
