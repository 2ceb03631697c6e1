/** Concurrency, memory safety, closing, cancellation, workers and process exit. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import fs from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AbortError, createContext, getDefaultContext } from '../src/index.js';
import { deliveryMode } from '../src/native.js';
import { forEachBackend } from './support/backends.js';
import { openFifo, openWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;
const gc = (globalThis as { gc?: () => void }).gc;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

forEachBackend('IoContext lifecycle', (backend) => {
  it('keeps at most its capacity in flight and queues the rest: 10,000 reads on a 256-entry context', { timeout }, async () => {
    const ctx = createContext({ backend, entries: 256 });
    const content = pattern(40_000 * 4);
    const { fd } = openWith(content);
    const buffers = Array.from({ length: 10_000 }, () => Buffer.alloc(4));
    const reads = buffers.map((buffer, i) => ctx.read(fd, buffer, i * 16));
    const stats = ctx.stats();
    assert.ok(stats.inFlight > 0 && stats.inFlight <= (backend === 'threads' ? 256 : 512), `inFlight ${stats.inFlight}`);
    // The first may have completed already: a page-cache hit submitted alone settles at once.
    assert.equal(stats.inFlight + stats.queued + stats.completed, 10_000);
    assert.ok(stats.completed <= 1, `completed ${stats.completed}`);
    let maxInFlight = 0;
    const watch = setInterval(() => (maxInFlight = Math.max(maxInFlight, ctx.stats().inFlight)), 0);
    const results = await Promise.all(reads);
    clearInterval(watch);
    assert.ok(maxInFlight <= stats.inFlight);
    assert.ok(results.every((n) => n === 4));
    buffers.forEach((buffer, i) => assert.ok(buffer.equals(content.subarray(i * 16, i * 16 + 4)), `read ${i}`));
    const { classes, ...totals } = ctx.stats();
    assert.deepEqual(totals, { submitted: 10_000, completed: 10_000, inFlight: 0, queued: 0 });
    assert.equal(classes.default.completed, 10_000);
    await ctx.close();
    fs.closeSync(fd);
  });

  it('holds buffers the caller dropped until their reads complete, through garbage collections', { timeout, skip: !gc && 'needs --expose-gc' }, async () => {
    const ctx = createContext({ backend });
    const fifo = openFifo();
    const collectedEarly: number[] = [];
    let completed = 0;
    const registry = new FinalizationRegistry<number>((i) => {
      if (completed < 64) collectedEarly.push(i);
    });
    const reads = Array.from({ length: 64 }, (_, i) => {
      const buffer = Buffer.alloc(32);
      registry.register(buffer, i);
      return ctx.read(fifo, buffer, 0).then((n) => {
        completed++;
        return n;
      });
    });
    for (let round = 0; round < 5; round++) {
      Array.from({ length: 10_000 }, () => new ArrayBuffer(1024)); // pressure
      gc!();
      await tick();
    }
    assert.deepEqual(collectedEarly, []);
    fs.writeSync(fifo, Buffer.alloc(64 * 32, 1));
    assert.deepEqual(await Promise.all(reads), Array(64).fill(32));
    await ctx.close();
    fs.closeSync(fifo);
  });

  it('does not starve the event loop: a tight await loop of cached reads lets a timer fire', { timeout }, async () => {
    const ctx = createContext({ backend });
    const { fd } = openWith(pattern(4096));
    const buffer = Buffer.alloc(4096);
    let fired = false;
    setTimeout(() => (fired = true), 5);
    let reads = 0;
    while (!fired && reads < 2_000_000) {
      await ctx.read(fd, buffer, 0);
      reads++;
    }
    assert.equal(fired, true, `the timer never fired during ${reads} reads`);
    await ctx.close();
    fs.closeSync(fd);
  });

  it('close() waits for operations in flight, and refuses new ones meanwhile', { timeout }, async () => {
    const ctx = createContext({ backend });
    const fifo = openFifo();
    const pending = [ctx.read(fifo, Buffer.alloc(8), 0), ctx.read(fifo, Buffer.alloc(8), 0)];
    let closed = false;
    const closing = ctx.close().then(() => (closed = true));
    await tick();
    await tick();
    assert.equal(closed, false);
    await assert.rejects(ctx.read(fifo, Buffer.alloc(1), 0), { code: 'ERR_INVALID_STATE' });
    fs.writeSync(fifo, Buffer.alloc(16, 2));
    assert.deepEqual(await Promise.all(pending), [8, 8]);
    await closing;
    assert.equal(closed, true);
    fs.closeSync(fifo);
  });

  it('works with await using', { timeout }, async () => {
    const { fd } = openWith(pattern(10));
    let escaped;
    {
      await using ctx = createContext({ backend });
      escaped = ctx;
      assert.equal(await ctx.read(fd, Buffer.alloc(10), 0), 10);
    }
    assert.equal(escaped.closed, true);
    fs.closeSync(fd);
  });

  it('runs two contexts side by side on one file', { timeout }, async () => {
    const a = createContext({ backend });
    const b = createContext({ backend, entries: 8 });
    const content = pattern(1 << 16);
    const { fd } = openWith(content);
    const checks = Array.from({ length: 200 }, async (_, i) => {
      const buffer = Buffer.alloc(256);
      await (i % 2 ? a : b).read(fd, buffer, i * 256);
      assert.ok(buffer.equals(content.subarray(i * 256, i * 256 + 256)));
    });
    await Promise.all(checks);
    await Promise.all([a.close(), b.close()]);
    fs.closeSync(fd);
  });

  it('aborts before submission: an already aborted signal rejects without I/O', { timeout }, async () => {
    const ctx = createContext({ backend });
    const { fd } = openWith(pattern(10));
    const reason = new Error('changed my mind');
    const error = await ctx.read(fd, Buffer.alloc(1), 0, { signal: AbortSignal.abort(reason) }).catch((e) => e);
    assert.ok(error instanceof AbortError);
    assert.equal(error.name, 'AbortError');
    assert.equal(error.code, 'ABORT_ERR');
    assert.equal(error.cause, reason);
    assert.equal(ctx.stats().submitted, 0);
    await ctx.close();
    fs.closeSync(fd);
  });

  it('aborts a queued operation at once', { timeout }, async () => {
    const ctx = createContext({ backend, entries: 1 });
    const fifo = openFifo();
    const blockers = Array.from({ length: 40 }, () => ctx.read(fifo, Buffer.alloc(1), 0));
    assert.ok(ctx.stats().queued > 0);
    const controller = new AbortController();
    const queuedBefore = ctx.stats().queued;
    const victim = ctx.read(fifo, Buffer.alloc(1), 0, { signal: controller.signal });
    controller.abort();
    await assert.rejects(victim, { name: 'AbortError' });
    assert.equal(ctx.stats().queued, queuedBefore);
    fs.writeSync(fifo, Buffer.alloc(40, 3));
    assert.deepEqual(await Promise.all(blockers), Array(40).fill(1));
    await ctx.close();
    fs.closeSync(fifo);
  });

  it('aborts a submitted operation when the kernel confirms, else resolves with its result', { timeout }, async () => {
    const ctx = createContext({ backend });
    const fifo = openFifo();
    const controller = new AbortController();
    const buffer = Buffer.alloc(4);
    const read = ctx.read(fifo, buffer, 0, { signal: controller.signal });
    const outcome = read.then(
      (n) => n,
      (e: unknown) => e,
    );
    await tick();
    assert.equal(ctx.stats().inFlight, 1);
    controller.abort();
    await tick();
    fs.writeSync(fifo, Buffer.from('data'));
    if (backend !== 'uring') {
      // On threads, and on aio (whose FIFO reads finish on the thread pool), a started read
      // cannot be taken back: it completes with the data.
      assert.equal(await outcome, 4);
    } else {
      const error = await outcome;
      assert.ok(error instanceof AbortError, String(error));
      // The data the cancelled read did not take is still in the pipe.
      const rest = Buffer.alloc(4);
      assert.equal(await ctx.read(fifo, rest, 0), 4);
      assert.equal(rest.toString(), 'data');
    }
    await ctx.close();
    fs.closeSync(fifo);
  });

  it('ignores an abort after completion and leaves no listener behind', { timeout }, async () => {
    const ctx = createContext({ backend });
    const { fd } = openWith(pattern(10));
    const controller = new AbortController();
    assert.equal(await ctx.read(fd, Buffer.alloc(10), 0, { signal: controller.signal }), 10);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    controller.abort();
    await ctx.close();
    fs.closeSync(fd);
  });

  it('runs in a worker_thread on that worker’s own event loop', { timeout }, async () => {
    const { file } = openWith(Buffer.alloc(64));
    const worker = new Worker(fixture('worker-io'), { workerData: { backend, file, mode: 'roundtrip' } });
    const [message] = await Promise.all([
      new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)),
      new Promise((resolve) => worker.once('exit', resolve)),
    ]);
    assert.equal(message, `written by a worker on ${backend}`);
  });

  it('survives a worker terminated with operations in flight', { timeout }, async () => {
    const { file } = openWith(pattern(8192));
    const fifo = backend === 'threads' ? undefined : scratchPath('fifo');
    if (fifo) spawnSync('mkfifo', [fifo]);
    const worker = new Worker(fixture('worker-io'), { workerData: { backend, file, fifo, mode: 'hang' } });
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await tick();
    assert.equal(await worker.terminate(), 1);
    const ctx = createContext({ backend });
    const fd = fs.openSync(file, 'r');
    assert.equal(await ctx.read(fd, Buffer.alloc(10), 0), 10);
    await ctx.close();
    fs.closeSync(fd);
  });

  it('keeps the process alive while its only pending work is a read in the kernel', { timeout }, async () => {
    const fifo = scratchPath('fifo');
    spawnSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [fixture('waits-for-pipe'), backend, fifo], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    while (!stdout.includes('waiting\n') && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
    // Long enough for a process with nothing keeping it alive to be gone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(child.exitCode, null, `gone before its read completed: ${stderr}`);
    // Non-blocking: a FIFO nobody reads any more refuses (ENXIO) rather than blocking the test.
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(writer, 'through a pipe');
    fs.closeSync(writer);
    const [status] = await exited;
    assert.equal(status, 0, stderr);
    assert.equal(stdout, 'waiting\nthrough a pipe\n');
  });

  const engineFds = backend !== 'threads' && process.platform === 'linux';
  const loopWatches = deliveryMode() === 'poll';
  const skipWatch = !engineFds ? 'no engine fd on this backend' : !loopWatches && "completions come through a waiter thread, not the loop's epoll set";
  it("has the loop watch the engine's fd only while a completion is due", { timeout, skip: skipWatch }, async () => {
    const before = new Set(anonFds());
    const ctx = createContext({ backend });
    const { fd } = openWith(pattern(1 << 20));
    const buffer = Buffer.alloc(4096);
    const cachedReads = async () => {
      for (let i = 0; i < 1000; i++) {
        assert.equal(await ctx.read(fd, buffer, (i * 4096) % (1 << 20)), 4096);
        if (i % 100 === 0) await tick();
      }
      // Turns of the loop that wait in epoll: libuv applies what was started or stopped there.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await cachedReads();
    const ours = anonFds().filter((entry) => !before.has(entry));
    assert.ok(ours.length > 0, 'the engine made an fd');
    const watched = () => {
      const inSets = watchedFds();
      return ours.some((entry) => inSets.has(Number(entry.split(' ')[0])));
    };
    assert.equal(watched(), false, 'watched with nothing in flight');
    const pipe = openFifo();
    const read = ctx.read(pipe, Buffer.alloc(5), 0);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      // aio hands a read that would block to the thread pool: then no completion is due from the kernel.
      assert.equal(watched(), backend === 'uring', backend === 'uring' ? 'not watched with a read in the kernel' : 'watched with nothing in the kernel');
    } finally {
      // Even when the check failed: a read left in flight would keep the test process alive.
      fs.writeSync(pipe, Buffer.from('hello'));
    }
    assert.equal(await read, 5);
    await cachedReads();
    assert.equal(watched(), false, 'still watched once the read completed');
    await ctx.close();
    fs.closeSync(fd);
    fs.closeSync(pipe);
  });

  for (const how of ['exit', 'throw']) {
    const skip = backend !== 'uring' && `process exit joins libuv's threads, and one blocked in a FIFO read (${backend} runs those on the pool) never returns`;
    it(`lets the process ${how} promptly with reads in flight`, { timeout, skip }, () => {
      const fifo = scratchPath('fifo');
      spawnSync('mkfifo', [fifo]);
      const child = spawnSync(process.execPath, [fixture('exit-in-flight'), backend, fifo, how], { timeout: 20_000, encoding: 'utf8' });
      assert.equal(child.signal, null, 'not killed by a signal or the timeout');
      assert.equal(child.status, how === 'exit' ? 7 : 1, child.stderr);
      if (how === 'throw') assert.match(child.stderr, /deliberate/);
    });
  }
});

it('getDefaultContext() returns one shared context, and a new one after it is closed', { timeout }, async () => {
  const ctx = getDefaultContext();
  assert.equal(getDefaultContext(), ctx);
  await ctx.close();
  const next = getDefaultContext();
  assert.notEqual(next, ctx);
  assert.equal(next.closed, false);
});

/** This process's anonymous-inode fds (io_uring rings, eventfds, epoll sets) as "fd target". */
function anonFds(): string[] {
  const found: string[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${name}`);
      if (target.startsWith('anon_inode:')) found.push(`${name} ${target}`);
    } catch {
      // closed since the listing (the listing's own directory fd)
    }
  }
  return found;
}

/** The fds in any of this process's epoll sets, from the kernel's fdinfo of each set. */
function watchedFds(): Set<number> {
  const fds = new Set<number>();
  for (const entry of anonFds()) {
    if (!entry.endsWith('[eventpoll]')) continue;
    const info = fs.readFileSync(`/proc/self/fdinfo/${entry.split(' ')[0]}`, 'utf8');
    for (const match of info.matchAll(/^tfd:\s*(\d+)/gm)) fds.add(Number(match[1]));
  }
  return fds;
}
