/** IoContext data path: round trips, sizes and offsets, vectors, syncs, every view type. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, it } from 'node:test';
import { createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { fileWith, openFifo, openWith, pattern, scratchPath } from './support/files.js';

const timeout = 20_000;

forEachBackend('IoContext I/O', (backend) => {
  let ctx: IoContext;
  before(() => {
    ctx = createContext({ backend });
  });
  after(() => ctx.close());

  it('reports its backend', () => {
    assert.equal(ctx.backend, backend);
  });

  it('round-trips many sizes at many offsets, including past 4 GiB on a sparse file', { timeout }, async () => {
    const { fd } = openWith(Buffer.alloc(0), 'w+');
    const sizes = [0, 1, 511, 4096, 4097, 65_536, (1 << 20) + 3];
    const offsets: (number | bigint)[] = [0, 1, 4095, 1 << 20, 2 ** 31 + 5, 2 ** 32 + 1, 2n ** 40n + 7n];
    for (const offset of offsets) {
      for (const size of sizes) {
        const data = pattern(size, size + Number(offset));
        assert.equal(await ctx.write(fd, data, offset), size, `write ${size} at ${offset}`);
        const back = Buffer.alloc(size);
        assert.equal(await ctx.read(fd, back, offset), size, `read ${size} at ${offset}`);
        assert.ok(back.equals(data), `bytes of ${size} at ${offset}`);
      }
    }
    fs.closeSync(fd);
  });

  it('reads short at EOF and 0 past it', { timeout }, async () => {
    const { fd } = openWith(pattern(10_000));
    const buffer = Buffer.alloc(4096);
    assert.equal(await ctx.read(fd, buffer, 8192), 10_000 - 8192);
    assert.ok(buffer.subarray(0, 10_000 - 8192).equals(pattern(10_000).subarray(8192)));
    assert.equal(await ctx.read(fd, buffer, 10_000), 0);
    assert.equal(await ctx.read(fd, buffer, 2 ** 40), 0);
    assert.equal(await ctx.read(fd, Buffer.alloc(0), 0), 0);
    fs.closeSync(fd);
  });

  it('accepts every ArrayBufferView and honours byteOffset', { timeout }, async () => {
    const content = pattern(4096);
    const { fd } = openWith(content);
    const backing = new ArrayBuffer(64 + 1024);
    const views: ArrayBufferView[] = [
      new Uint8Array(backing, 64, 1024),
      new Uint16Array(backing, 64, 512),
      new Float64Array(backing, 64, 128),
      new BigUint64Array(backing, 64, 128),
      new DataView(backing, 64, 1024),
      Buffer.from(backing, 64, 1024),
    ];
    for (const view of views) {
      new Uint8Array(backing).fill(0);
      assert.equal(await ctx.read(fd, view, 100), 1024, view.constructor.name);
      assert.ok(Buffer.from(backing, 64, 1024).equals(content.subarray(100, 1124)), view.constructor.name);
      assert.equal(new Uint8Array(backing, 0, 64).every((b) => b === 0), true, 'bytes before the view untouched');
    }
    fs.closeSync(fd);
  });

  it('accepts bigint offsets and positions them exactly', { timeout }, async () => {
    const { fd } = openWith(pattern(8192));
    const buffer = Buffer.alloc(100);
    assert.equal(await ctx.read(fd, buffer, 4000n), 100);
    assert.ok(buffer.equals(pattern(8192).subarray(4000, 4100)));
    fs.closeSync(fd);
  });

  it('scatters with readv and gathers with writev', { timeout }, async () => {
    const { fd } = openWith(Buffer.alloc(0), 'w+');
    const parts = [pattern(3, 1), pattern(4096, 2), pattern(0), pattern(70_000, 3)];
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    assert.equal(await ctx.writev(fd, parts, 5), total);
    const back = parts.map((part) => Buffer.alloc(part.length));
    assert.equal(await ctx.readv(fd, back, 5), total);
    back.forEach((part, i) => assert.ok(part.equals(parts[i]), `part ${i}`));
    assert.equal(await ctx.readv(fd, [], 0), 0);
    assert.ok(fs.readFileSync(`/proc/self/fd/${fd}`).subarray(5).equals(Buffer.concat(parts)));
    fs.closeSync(fd);
  });

  it('readv and writev are one system call each: of a longer vector, the first 1024 buffers (IOV_MAX), and the count says so', { timeout }, async () => {
    const { fd } = openWith(pattern(2000));
    const buffers = Array.from({ length: 2000 }, () => Buffer.alloc(1));
    assert.equal(await ctx.readv(fd, buffers, 0), 1024);
    // A short write, as writev(2) may give: the caller writes the rest (aiofs/promises' writev does).
    assert.equal(await ctx.writev(fd, buffers, 0), 1024);
    fs.closeSync(fd);
  });

  it('fsyncs and fdatasyncs, resolving with 0', { timeout }, async () => {
    const { fd } = openWith(pattern(100));
    await ctx.write(fd, pattern(10, 9), 0);
    assert.equal(await ctx.fsync(fd), 0);
    assert.equal(await ctx.fdatasync(fd), 0);
    fs.closeSync(fd);
  });

  it('counts what it did in stats()', { timeout }, async () => {
    const local = createContext({ backend });
    const { fd } = openWith(pattern(100));
    await Promise.all([local.read(fd, Buffer.alloc(10), 0), local.read(fd, Buffer.alloc(10), 10)]);
    const { classes, ...totals } = local.stats();
    assert.deepEqual(totals, { submitted: 2, completed: 2, inFlight: 0, queued: 0 });
    assert.deepEqual(Object.keys(classes), ['default']);
    assert.equal(classes.default.completed, 2);
    // One operation in 8 is timed, the first included.
    assert.equal(classes.default.latencyMs.samples, 1);
    assert.ok(classes.default.latencyMs.p99 >= classes.default.latencyMs.p50 && classes.default.latencyMs.p50 > 0);
    for (let i = 0; i < 15; i++) await local.read(fd, Buffer.alloc(10), 0);
    assert.equal(local.stats().classes.default.latencyMs.samples, 3); // the 1st, 9th and 17th
    await local.close();
    fs.closeSync(fd);
  });

  it('settles and counts a transfer made alone whatever the kernel does with it: done at once, kept, refused', { timeout }, async () => {
    // One at a time, each goes to the kernel by itself (uring, aio); a page-cache hit is done
    // before read() returns, and anything else must still reach its caller and the counts.
    const local = createContext({ backend });
    const totals = () => {
      const { classes, ...counts } = local.stats();
      return { ...counts, classCompleted: classes.default.completed, classInFlight: classes.default.inFlight };
    };
    const { fd } = openWith(pattern(100));
    const buffer = Buffer.alloc(10);
    assert.equal(await local.read(fd, buffer, 20), 10);
    assert.ok(buffer.equals(pattern(100).subarray(20, 30)));
    assert.equal(await local.write(fd, pattern(10, 3), 90), 10);
    assert.deepEqual(totals(), { submitted: 2, completed: 2, inFlight: 0, queued: 0, classCompleted: 2, classInFlight: 0 });

    const fifo = openFifo();
    const waiting = local.read(fifo, Buffer.alloc(5), 0);
    await tick();
    assert.deepEqual(totals(), { submitted: 3, completed: 2, inFlight: 1, queued: 0, classCompleted: 2, classInFlight: 1 });
    fs.writeSync(fifo, 'hello');
    assert.equal(await waiting, 5);

    const dir = fs.openSync(path.dirname(scratchPath()), 'r');
    await assert.rejects(local.read(dir, Buffer.alloc(10), 0), { code: 'EISDIR', syscall: 'read' });
    const readOnly = fs.openSync(fileWith('x'), 'r');
    await assert.rejects(local.write(readOnly, Buffer.from('y'), 0), { code: 'EBADF', syscall: 'write' });
    assert.deepEqual(totals(), { submitted: 5, completed: 5, inFlight: 0, queued: 0, classCompleted: 5, classInFlight: 0 });
    await local.close();
    for (const f of [fd, fifo, dir, readOnly]) fs.closeSync(f);
  });
});
