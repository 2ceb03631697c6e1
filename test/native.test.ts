/**
 * The native core's contracts as JavaScript sees them. The numbers both sides must agree on,
 * compared through the addon's `constants` export: operation codes (native/engine.h,
 * src/backend/backend.ts) and limits (native/limits.h, src/limits.ts), so a change on one side
 * only fails here, not as a wrong operation in the field. And the engine contract (engine.h):
 * submit() says how many the kernel took, pending() how many it has not, with or without SQPOLL.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { Op } from '../src/backend/backend.js';
import { CURRENT_POSITION, IOV_MAX, MAX_REGISTERED_BUFFERS, MAX_RW_COUNT } from '../src/limits.js';
import { noCachestat } from './support/kernel.js';
import { backends } from '../src/index.js';
import { loadNative, nativeInfo, type NativeEngine } from '../src/native.js';

const { EBADF, EINVAL } = os.constants.errno;

const constants = nativeInfo().error === undefined ? loadNative().constants : undefined;
const skip = constants ? false : `no native constants here: ${nativeInfo().error ?? 'not a Linux build'}`;

/** engine.h's names for the operations op.ts names otherwise. */
const cName: Record<keyof typeof Op, string> = {
  Read: 'READ',
  Write: 'WRITE',
  Readv: 'READV',
  Writev: 'WRITEV',
  Fsync: 'FSYNC',
  Fdatasync: 'FDATASYNC',
  Open: 'OPENAT',
  Close: 'CLOSE',
  Stat: 'STATX',
  Rename: 'RENAMEAT',
  Unlink: 'UNLINKAT',
  Mkdir: 'MKDIRAT',
  Symlink: 'SYMLINKAT',
  Link: 'LINKAT',
  Fallocate: 'FALLOCATE',
  Ftruncate: 'FTRUNCATE',
  Splice: 'SPLICE',
  Poll: 'POLL',
  Openat2: 'OPENAT2',
};

it('operation codes agree, one for one', { skip }, () => {
  const fromJs = Object.fromEntries(Object.entries(Op).map(([name, code]) => [cName[name as keyof typeof Op], code]));
  assert.deepEqual(constants!.ops, fromJs);
});

it('limits agree', { skip }, () => {
  assert.deepEqual(
    { maxRwCount: constants!.maxRwCount, iovMax: constants!.iovMax, maxRegistered: constants!.maxRegistered, currentPosition: constants!.currentPosition },
    { maxRwCount: MAX_RW_COUNT, iovMax: IOV_MAX, maxRegistered: MAX_REGISTERED_BUFFERS, currentPosition: CURRENT_POSITION },
  );
});

const uring = backends().find((b) => b.name === 'uring')!;
const uringSkip = uring.available ? false : `uring unavailable: ${uring.reason}`;

for (const sqpoll of [false, true]) {
  it(`an io_uring engine${sqpoll ? ' with SQPOLL' : ''}: submit() counts what it handed over, pending() what it holds`, { timeout: 10_000, skip: uringSkip }, async () => {
    const addon = loadNative();
    const completions = new Int32Array(2 * 64); // (user, result) pairs: room for the completion queue of 8 entries
    let reaped = 0;
    let settle: () => void;
    const allDone = new Promise<void>((resolve) => (settle = resolve));
    const engine = addon.createUring!(8, sqpoll, 50, 0, completions, (count) => {
      reaped += count;
      if (reaped === 4) settle();
    });
    if (typeof engine === 'number') return assert.fail(`io_uring refused: ${engine}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-engine-'));
    const file = path.join(dir, 'data');
    fs.writeFileSync(file, Buffer.alloc(4 * 4096, 1));
    const fd = fs.openSync(file, 'r');
    const buffers = Array.from({ length: 4 }, () => Buffer.alloc(4096));
    try {
      buffers.forEach((buffer, i) => assert.equal(engine.prepRw(Op.Read, fd, buffer, i * 4096, i), 0));
      assert.equal(engine.pending(), 4);
      assert.equal(engine.submit(), 4);
      assert.equal(engine.pending(), 0);
      assert.equal(engine.submit(), 0, 'nothing left to hand over');
      // Completions arrive through the loop, or in a reap made now: either counts.
      reaped += engine.reap();
      if (reaped < 4) await allDone;
      assert.ok(buffers.every((buffer) => buffer.every((byte) => byte === 1)));
    } finally {
      assert.equal(engine.close(), 0);
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

it('an io_uring engine with SQPOLL: submitRw and flush return with the completion the kernel thread posts soon after, and without one that waits', { timeout: 20_000, skip: uringSkip || (os.availableParallelism() < 2 && 'the polling thread needs a CPU of its own') }, async () => {
  const addon = loadNative();
  const completions = new Int32Array(2 * 64);
  let delivered: ((count: number) => void) | undefined;
  // The engine holds its handler weakly while nothing is in flight (engine.ts keeps its own):
  // the test keeps this one to the end, or a collection between two reads could take it.
  const onCompletions = (count: number) => delivered?.(count);
  const engine = addon.createUring!(8, true, 1000, 0, completions, onCompletions);
  if (typeof engine === 'number') return assert.fail(`io_uring refused: ${engine}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-sqpoll-'));
  const file = path.join(dir, 'data');
  const data = Buffer.from(Array.from({ length: 16 * 4096 }, (_, i) => (i * 7 + (i >> 12)) & 0xff));
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r');
  const pipe = addon.makePipe!(1 << 16);
  if (typeof pipe === 'number') return assert.fail(`pipe refused: ${pipe}`);
  const [readEnd, writeEnd] = pipe;
  /** One completion of slot `user`: the one submitRw reaped, or the next the event loop delivers. */
  const completion = async (reaped: number, user: number): Promise<number> => {
    if (reaped === 0) assert.equal(await new Promise<number>((resolve) => (delivered = resolve)), 1);
    else assert.equal(reaped, 1);
    assert.equal(completions[0], user);
    return completions[1];
  };
  try {
    // Without waiting for the kernel thread, hardly any completion would be there when the reap
    // comes, nanoseconds after the reads were handed over (at most 2 in 1,000 here); waiting,
    // most are. The VM's host may stop the polling thread's CPU for a while, so
    // the reads go in blocks of 200, until one where a quarter came back at once (at most 25).
    const mostlyAtOnce = async (step: (i: number) => Promise<boolean>): Promise<void> => {
      let best = 0;
      for (let block = 0, i = 0; block < 25 && best < 50; block++) {
        let atOnce = 0;
        for (const end = i + 200; i < end; i++) if (await step(i)) atOnce++;
        best = Math.max(best, atOnce);
      }
      assert.ok(best >= 50, `at best ${best} of 200 came back at once`);
    };
    // Cached reads, one at a time: submitRw waits for the completion.
    const buffer = Buffer.alloc(4096);
    await mostlyAtOnce(async (i) => {
      const offset = ((i * 5) % 16) * 4096;
      const reaped = engine.submitRw(Op.Read, fd, buffer, offset, 1);
      assert.equal(await completion(reaped, 1), 4096);
      assert.ok(buffer.equals(data.subarray(offset, offset + 4096)), `read ${i}`);
      return reaped === 1;
    });
    // A tick's batch: flush() waits for the first of its completions, which the reap after it finds.
    const batch = Array.from({ length: 4 }, () => Buffer.alloc(4096));
    const at = (round: number, i: number) => ((round + i) % 16) * 4096;
    await mostlyAtOnce(async (round) => {
      batch.forEach((b, i) => assert.equal(engine.prepRw(Op.Read, fd, b, at(round, i), 10 + i), 0));
      assert.equal(engine.flush(), 4);
      const first = engine.reap();
      let reaped = first;
      while (reaped < 4) reaped += await new Promise<number>((resolve) => (delivered = resolve));
      batch.forEach((b, i) => assert.ok(b.equals(data.subarray(at(round, i), at(round, i) + 4096)), `batch ${round}, read ${i}`));
      return first > 0;
    });
    // A read of an empty pipe waits for a writer: submitRw gives up on it within its bound, and
    // the event loop delivers it once written, every time.
    const small = Buffer.alloc(8);
    for (let i = 0; i < 8; i++) {
      const start = process.hrtime.bigint();
      const reaped = engine.submitRw(Op.Read, readEnd, small, 0, 2);
      assert.ok(process.hrtime.bigint() - start < 200_000_000n, 'submitRw held the thread');
      assert.equal(reaped, 0);
      setTimeout(() => fs.writeSync(writeEnd, `late ${i}`), 5);
      assert.equal(await completion(reaped, 2), 6);
      assert.equal(small.toString('latin1', 0, 6), `late ${i}`);
    }
  } finally {
    assert.equal(engine.close(), 0);
    assert.equal(typeof onCompletions, 'function');
    assert.equal(addon.closeFd!(readEnd), 0);
    assert.equal(addon.closeFd!(writeEnd), 0);
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** An io_uring engine of 8 entries (no SQPOLL) reporting into `completions`, or the test fails. */
function uringEngine(completions: Int32Array): NativeEngine {
  const engine = loadNative().createUring!(8, false, 0, 0, completions, () => {});
  if (typeof engine === 'number') return assert.fail(`io_uring refused: ${engine}`);
  return engine;
}

it('io_uring engines past the 16 ring fds a thread may register each read correctly, closed and made again', { timeout: 10_000, skip: uringSkip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-engines-'));
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, Buffer.from(Array.from({ length: 64 }, (_, i) => i)));
  const fd = fs.openSync(file, 'r');
  try {
    for (let round = 0; round < 2; round++) {
      const engines = Array.from({ length: 24 }, () => {
        const completions = new Int32Array(2 * 16);
        return { engine: uringEngine(completions), completions };
      });
      engines.forEach(({ engine, completions }, i) => {
        const buffer = Buffer.alloc(4);
        // A page-cache hit completes inside the call: one completion, for slot 3.
        assert.equal(engine.submitRw(Op.Read, fd, buffer, i, 3), 1, `engine ${i}`);
        assert.deepEqual([completions[0], completions[1]], [3, 4]);
        assert.deepEqual([...buffer], [i, i + 1, i + 2, i + 3]);
      });
      for (const { engine } of engines) assert.equal(engine.close(), 0);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('submitRw refuses with -EINVAL a view of a detached buffer and an offset that is no integer in range (-1 is the file\'s own position); an empty view reads nothing', { timeout: 10_000, skip: uringSkip }, () => {
  const completions = new Int32Array(2 * 16);
  const engine = uringEngine(completions);
  const fd = fs.openSync(process.execPath, 'r');
  try {
    const detached = (view: ArrayBufferView) => {
      structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
      return view;
    };
    assert.equal(engine.submitRw(Op.Read, fd, detached(new Uint8Array(4096)), 0, 1), -EINVAL);
    assert.equal(engine.submitRw(Op.Read, fd, detached(new DataView(new ArrayBuffer(64))), 0, 1), -EINVAL);
    for (const offset of ['1', {}, null, undefined, 1.5, -2, -1n, 2 ** 54, -2n, 2n ** 64n]) {
      assert.equal(engine.submitRw(Op.Read, fd, Buffer.alloc(8), offset as number, 1), -EINVAL, String(offset));
    }
    assert.equal(engine.submitRw(Op.Read, fd, new Uint8Array(0), 0, 1), 1);
    assert.deepEqual([completions[0], completions[1]], [1, 0]);
    assert.equal(engine.submitRw(Op.Read, fd, Buffer.alloc(8), 2n, 2), 1);
    assert.deepEqual([completions[0], completions[1]], [2, 8]);
  } finally {
    assert.equal(engine.close(), 0);
    fs.closeSync(fd);
  }
});

it('prepMeta takes a path as a string (written as UTF-8, as Buffer.from writes it) or as bytes; a NUL inside, a path past PATH_MAX or anything else is -errno, never a throw', { timeout: 10_000, skip: uringSkip }, async () => {
  const { ENAMETOOLONG } = os.constants.errno;
  const AT_FDCWD = -100;
  const completions = new Int32Array(2 * 16);
  let wake = () => {};
  const engine = loadNative().createUring!(8, false, 0, 0, completions, () => wake());
  if (typeof engine === 'number') return assert.fail(`io_uring refused: ${engine}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-paths-'));
  // A lone surrogate: node:fs names the file with U+FFFD's three bytes.
  const name = path.join(dir, 'caf\u00e9-\ud800');
  fs.writeFileSync(name, 'x'.repeat(77));
  /** statx of `target` through the engine: its result and the size it wrote. */
  const statx = async (target: unknown): Promise<[number, number]> => {
    const buffer = Buffer.alloc(256);
    const ret = engine.prepMeta(Op.Stat, AT_FDCWD, target as string, AT_FDCWD, null, 0, 0x7ff, 0, 0, buffer, 1);
    if (ret < 0) return [ret, 0];
    const done = new Promise<void>((resolve) => (wake = resolve));
    assert.equal(engine.submit(), 1);
    if (engine.reap() === 0) await done;
    return [completions[1], buffer.readUInt32LE(40)];
  };
  try {
    assert.deepEqual(await statx(name), [0, 77]);
    assert.deepEqual(await statx(Buffer.from(name)), [0, 77]);
    assert.deepEqual(await statx(`${name}\0tail`), [-EINVAL, 0]);
    assert.deepEqual(await statx(Buffer.from(`${name}\0tail`)), [-EINVAL, 0]);
    assert.deepEqual(await statx('/' + 'a'.repeat(5000)), [-ENAMETOOLONG, 0]);
    assert.deepEqual(await statx('/' + '\u00e9'.repeat(2100)), [-ENAMETOOLONG, 0], 'measured in bytes, not characters');
    for (const bad of [42, {}, Symbol('p'), 1n]) assert.deepEqual(await statx(bad), [-EINVAL, 0], String(bad));
  } finally {
    assert.equal(engine.close(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it("an engine's own methods, kept after the engine was closed and collected, answer -EBADF", { timeout: 10_000, skip: uringSkip || (!globalThis.gc && 'needs --expose-gc') }, async () => {
  let engine: NativeEngine | undefined = uringEngine(new Int32Array(2 * 16));
  const { submitRw, prepRw, prepRwv, prepFsync, prepMeta, submit, flush, pending, reap } = engine;
  assert.equal(engine.close(), 0);
  engine = undefined;
  for (let i = 0; i < 3; i++) {
    globalThis.gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const buffer = Buffer.alloc(16);
  assert.equal(submitRw(Op.Read, 0, buffer, 0, 0), -EBADF);
  assert.equal(prepRw(Op.Read, 0, buffer, 0, 0), -EBADF);
  assert.equal(prepRwv(Op.Readv, 0, [buffer], 0, 0), -EBADF);
  assert.equal(prepFsync(0, false, 0), -EBADF);
  assert.equal(prepMeta(Op.Close, 0, null, 0, null, 0, 0, 0, 0, null, 0), -EBADF);
  assert.equal(submit(), -EBADF);
  assert.equal(flush(), -EBADF);
  assert.equal(pending(), 0);
  assert.equal(reap(), 0);
});

it('pipes and duplicates: made, owned and closed by the addon; bad input is -errno, never a throw', { timeout: 10_000, skip }, () => {
  const addon = loadNative();
  const pipe = addon.makePipe!(1 << 20);
  if (typeof pipe === 'number') return assert.fail(`pipe refused: ${pipe}`);
  const [readEnd, writeEnd, capacity] = pipe;
  assert.ok(capacity >= 4096, `capacity ${capacity}`);
  assert.equal(fs.writeSync(writeEnd, 'through the pipe'), 16);
  const back = Buffer.alloc(16);
  assert.equal(fs.readSync(readEnd, back), 16);
  assert.equal(back.toString(), 'through the pipe');
  const dup = addon.dupFd!(writeEnd);
  assert.ok(dup >= 0 && dup !== writeEnd);
  for (const fd of [readEnd, writeEnd, dup]) assert.equal(addon.closeFd!(fd), 0, `the addon closes its own fd ${fd}`);
  assert.throws(() => fs.fstatSync(dup), { code: 'EBADF' });
  // An fd the addon did not make is left alone (1), for node:fs to close.
  const mine = fs.openSync(os.devNull, 'r');
  assert.equal(addon.closeFd!(mine), 1);
  fs.fstatSync(mine);
  fs.closeSync(mine);
  for (const bad of [-1, 2 ** 31, 'x', undefined, {}]) {
    assert.ok((addon.dupFd!(bad as never) as number) < 0, `dupFd(${String(bad)})`);
    assert.ok((addon.closeFd!(bad as never) as number) < 0, `closeFd(${String(bad)})`);
  }
  for (const bad of [-1, 2 ** 31, 'x', undefined]) assert.ok((addon.makePipe!(bad as never) as number) < 0, `makePipe(${String(bad)})`);
});

it('corkFd: TCP_CORK set and cleared on a TCP socket; anything else is -errno, never a throw', { timeout: 10_000, skip }, async () => {
  const addon = loadNative();
  const server = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  try {
    await once(client, 'connect');
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    assert.equal(addon.corkFd!(fd, true), 0);
    assert.equal(addon.corkFd!(fd, false), 0);
    const file = fs.openSync(os.devNull, 'r');
    assert.equal(addon.corkFd!(file, true), -os.constants.errno.ENOTSOCK);
    fs.closeSync(file);
    for (const bad of [-1, 2 ** 31, 'x', undefined]) assert.ok((addon.corkFd!(bad as never, true) as number) < 0, `corkFd(${String(bad)})`);
    assert.ok((addon.corkFd!(fd, 'yes' as never) as number) < 0, 'a flag that is not a boolean');
  } finally {
    client.destroy();
    server.close();
  }
});

it('drainPipe: pipe to a non-blocking socket at once; -EAGAIN when full or empty, -EINVAL when it could wait, never a throw', { timeout: 10_000, skip }, async () => {
  const addon = loadNative();
  const { EAGAIN, EINVAL, EBADF } = os.constants.errno;
  let received = Buffer.alloc(0);
  const server = net.createServer((socket) => {
    socket.pause(); // takes nothing until resumed: the client's socket fills
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    server.emit('peer', socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const peer = once(server, 'peer');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const pipe = addon.makePipe!(1 << 20);
  if (typeof pipe === 'number') return assert.fail(`pipe refused: ${pipe}`);
  const [readEnd, writeEnd, capacity] = pipe;
  const file = fs.openSync(os.devNull, 'r');
  try {
    await once(client, 'connect');
    const [socket] = (await peer) as [net.Socket];
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    assert.equal(addon.drainPipe!(readEnd, fd, 100), -EAGAIN, 'an empty pipe');
    const text = Buffer.from('spliced without waiting');
    assert.equal(fs.writeSync(writeEnd, text), text.length);
    assert.equal(addon.drainPipe!(readEnd, fd, 1 << 20), text.length);
    // Fill the pipe again and again until the socket refuses: -EAGAIN, not a wait.
    const chunk = Buffer.alloc(Math.min(capacity, 1 << 16), 5);
    let moved = 0;
    let full = false;
    for (let i = 0; i < 10_000 && !full; i++) {
      fs.writeSync(writeEnd, chunk);
      for (let left = chunk.length; left > 0; ) {
        const result = addon.drainPipe!(readEnd, fd, left);
        if (result === -EAGAIN) {
          full = true;
          break;
        }
        assert.ok(result > 0 && result <= left, `moved ${result} of ${left}`);
        left -= result;
        moved += result;
      }
    }
    assert.ok(full, 'a full socket answers -EAGAIN');
    // What could wait is refused without a system call that waits.
    assert.equal(addon.drainPipe!(file, fd, 10), -EINVAL, 'the input is no pipe');
    const blocking = fs.openSync(os.devNull, 'w');
    assert.equal(addon.drainPipe!(readEnd, blocking, 10), -EINVAL, 'the output could block');
    fs.closeSync(blocking);
    for (const bad of [-1, 2 ** 31, 'x', undefined]) {
      assert.equal(addon.drainPipe!(bad as never, fd, 10), -EBADF, `drainPipe(${String(bad)}, ...)`);
      assert.equal(addon.drainPipe!(readEnd, bad as never, 10), -EBADF, `drainPipe(..., ${String(bad)})`);
    }
    assert.ok((addon.drainPipe!(readEnd, fd, -1 as never) as number) < 0, 'a negative length');
    // Everything moved arrives, in order.
    socket.resume();
    const total = text.length + moved;
    for (let i = 0; i < 200 && received.length < total; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(received.length, total);
    assert.equal(received.subarray(0, text.length).toString(), text.toString());
    assert.ok(received.subarray(text.length).every((byte) => byte === 5));
  } finally {
    fs.closeSync(file);
    addon.closeFd!(readEnd);
    addon.closeFd!(writeEnd);
    client.destroy();
    server.close();
  }
});

it('spliceResident: a file range in memory into a pipe at once; -EAGAIN for one that is not, -EINVAL for what is no file or no pipe, never a throw', { timeout: 10_000, skip: skip || noCachestat() }, () => {
  const addon = loadNative();
  const { EAGAIN, EINVAL, EBADF } = os.constants.errno;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-splice-'));
  const pipe = addon.makePipe!(1 << 20);
  if (typeof pipe === 'number') return assert.fail(`pipe refused: ${pipe}`);
  const [readEnd, writeEnd] = pipe;
  const content = Buffer.alloc(256 << 10);
  for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 12)) & 0xff;
  const file = path.join(dir, 'cached');
  fs.writeFileSync(file, content); // just written: its pages are in memory
  const fd = fs.openSync(file, 'r');
  const sparse = path.join(dir, 'sparse');
  fs.writeFileSync(sparse, '');
  fs.truncateSync(sparse, 1 << 20); // a hole: no page of it is in memory
  const hole = fs.openSync(sparse, 'r');
  try {
    const moved = addon.spliceResident!(fd, 5000, writeEnd, 100_000);
    assert.equal(moved, 100_000);
    const back = Buffer.alloc(100_000);
    assert.equal(fs.readSync(readEnd, back), 100_000);
    assert.ok(back.equals(content.subarray(5000, 105_000)), 'the bytes at the offset, in order');
    assert.equal(addon.spliceResident!(fd, content.length - 10, writeEnd, 1000), 10, 'the end of the file stops it');
    assert.equal(fs.readSync(readEnd, Buffer.alloc(10)), 10);
    assert.equal(addon.spliceResident!(fd, content.length, writeEnd, 1000), 0, 'at the end');
    assert.equal(addon.spliceResident!(fd, content.length + 4096, writeEnd, 1000), 0, 'past the end');
    assert.equal(addon.spliceResident!(hole, 0, writeEnd, 65536), -EAGAIN, 'pages not in memory');
    assert.equal(addon.spliceResident!(readEnd, 0, writeEnd, 10), -EINVAL, 'the input is no regular file');
    assert.equal(addon.spliceResident!(fd, 0, fd, 10), -EINVAL, 'the output is no pipe');
    for (const bad of [-1, 2 ** 31, 'x', undefined]) {
      assert.equal(addon.spliceResident!(bad as never, 0, writeEnd, 10), -EBADF, `spliceResident(${String(bad)}, ...)`);
      assert.equal(addon.spliceResident!(fd, 0, bad as never, 10), -EBADF, `spliceResident(..., ${String(bad)}, ...)`);
    }
    for (const bad of [-1, 1.5, 'x', undefined]) assert.ok((addon.spliceResident!(fd, bad as never, writeEnd, 10) as number) < 0, `offset ${String(bad)}`);
    assert.ok((addon.spliceResident!(fd, 0, writeEnd, -1 as never) as number) < 0, 'a negative length');
  } finally {
    fs.closeSync(fd);
    fs.closeSync(hole);
    addon.closeFd!(readEnd);
    addon.closeFd!(writeEnd);
    fs.rmSync(dir, { recursive: true });
  }
});
