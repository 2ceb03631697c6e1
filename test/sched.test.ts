/** Our own scheduling: read-ahead, write-behind, priority classes and their statistics. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, it } from 'node:test';
import { AIOFile, backends, createContext, LineReader, Reader, Writer, type IoContext } from '../src/index.js';
import { defaultThreadsCapacity } from '../src/backend/threads.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { openWith, pattern, scratchPath } from './support/files.js';

const timeout = 120_000;
const KiB = 1024;

forEachBackend('Scheduling', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  async function counted<T>(run: () => Promise<T>): Promise<{ result: T; reads: number }> {
    const before = context.stats().submitted;
    const result = await run();
    return { result, reads: context.stats().submitted - before };
  }

  it('read-ahead reads each chunk once, stops at end of file and soon after an early break', { timeout }, async () => {
    const chunk = 16 * KiB;
    const chunks = 40;
    const file = scratchPath();
    fs.writeFileSync(file, pattern(chunks * chunk + 100));
    const f = await AIOFile.open(file, 'rb', { context });
    for (const readAhead of [0, 1, 4, 16]) {
      const whole = await counted(async () => {
        const parts: Buffer[] = [];
        for await (const part of new Reader(f, { chunkSize: chunk, readAhead })) parts.push(part);
        return Buffer.concat(parts);
      });
      assert.ok(whole.result.equals(pattern(chunks * chunk + 100)));
      // 41 chunks; the short last one costs one more read (the kernel's 0); then at most
      // `readAhead` reads beyond the end were in flight. With read-ahead, a buffered file's chunks
      // go several to a request (each byte once: test/sched-units.test.ts), so fewer requests.
      assert.ok(whole.reads <= chunks + 2 + readAhead, `readAhead ${readAhead}: ${whole.reads} reads`);
      if (readAhead === 0) assert.equal(whole.reads, chunks + 2);
      if (readAhead >= 4) assert.ok(whole.reads <= chunks / 2 + 2, `readAhead ${readAhead}: ${whole.reads} requests`);
      const early = await counted(async () => {
        let taken = 0;
        for await (const _ of new Reader(f, { chunkSize: chunk, readAhead })) if (++taken === 3) break;
      });
      assert.ok(early.reads <= 3 + readAhead, `readAhead ${readAhead}, break after 3: ${early.reads} reads`);
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the dropped reads land
    }
    assert.throws(() => new Reader(f, { readAhead: -1 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await f.close();
  });

  it('read-ahead keeps LineReader and createReadStream correct', { timeout }, async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    const file = scratchPath();
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const f = await AIOFile.open(file, 'r', { context });
    for (const readAhead of [0, 3, 8]) {
      const got: string[] = [];
      for await (const line of new LineReader(f, { chunkSize: 1000, readAhead })) got.push(line);
      assert.deepEqual(got, lines);
      const chunks: Buffer[] = [];
      for await (const part of f.createReadStream({ highWaterMark: 999, readAhead, autoClose: false })) chunks.push(part as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), `${lines.join('\n')}\n`);
    }
    await f.close();
  });

  it('write-behind holds memory under its bound while writing 1 GiB, and the bytes arrive', { timeout }, async () => {
    const file = scratchPath();
    const f = await AIOFile.open(file, 'wb', { context });
    const limit = 4 << 20;
    const writer = new Writer(f, { writeBehind: limit, blockSize: 1 << 20 });
    const block = Buffer.alloc(64 * KiB);
    const rssBefore = process.memoryUsage().rss;
    let peakBuffered = 0;
    let peakRss = 0;
    for (let i = 0; i < (1 << 30) / block.length; i++) {
      block.writeUInt32LE(i, 0);
      await writer.write(block);
      if (writer.buffered > peakBuffered) peakBuffered = writer.buffered;
      if ((i & 1023) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    await writer.flush();
    await f.close();
    assert.ok(peakBuffered <= limit + block.length, `buffered at most ${peakBuffered}`);
    assert.ok(peakRss - rssBefore < 96 << 20, `RSS grew by ${((peakRss - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(fs.statSync(file).size, 1 << 30);
    const fd = fs.openSync(file, 'r');
    const probe = Buffer.alloc(4);
    for (const i of [0, 1, 8191, 16383]) {
      fs.readSync(fd, probe, 0, 4, i * block.length);
      assert.equal(probe.readUInt32LE(0), i);
    }
    fs.closeSync(fd);
    fs.rmSync(file);
  });

  it('createWriteStream writes behind and fails its end with the first write error', { timeout }, async () => {
    const { file } = openWith(Buffer.from('x'));
    const readOnly = await AIOFile.open(file, 'r', { context });
    const stream = readOnly.createWriteStream();
    stream.write('a'); // accepted: the error comes when the data is written
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      stream.on('error', resolve);
      stream.end('b');
    });
    assert.equal(error.code, 'EBADF');
  });
});

it('priority classes: interactive requests overtake a queued bulk load, in proportion to their shares', { timeout }, async () => {
  // The queue is the context's, whatever the backend: measured on uring where the machine has it, and on threads.
  for (const backend of backends().filter((b) => b.available && b.name !== 'aio').map((b) => b.name)) {
    const context = createContext({ backend, entries: 1, classes: { interactive: { shares: 1000 }, bulk: { shares: 100 } } });
    const { fd } = openWith(pattern(1 << 20));
    const order: string[] = [];
    const read = (cls: string) => context.read(fd, Buffer.alloc(4 * KiB), 0, { class: cls }).then(() => order.push(cls));
    const all = [...Array.from({ length: 300 }, () => read('bulk')), ...Array.from({ length: 300 }, () => read('interactive'))];
    await Promise.all(all);
    // Under contention, 10 interactive dispatches for each bulk one: among the first 110
    // completions (after the few bulk reads already in flight), about 100 are interactive.
    const first = order.slice(20, 130);
    const interactive = first.filter((c) => c === 'interactive').length;
    assert.ok(interactive >= 90 && interactive <= 105, `${backend}: ${interactive} of 110`);
    const stats = context.stats();
    assert.equal(stats.classes.interactive.completed, 300);
    assert.equal(stats.classes.bulk.completed, 300);
    assert.equal(stats.classes.default.completed, 0);
    assert.ok(stats.classes.interactive.latencyMs.p99 < stats.classes.bulk.latencyMs.p99, `${backend}: interactive p99 below bulk p99`);
    await context.close();
    fs.closeSync(fd);
  }
});

it('without classes the queue is first in, first out', { timeout }, async () => {
  const context = createContext({ backend: 'threads' });
  const { fd } = openWith(pattern(4096));
  const order: number[] = [];
  await Promise.all(Array.from({ length: 200 }, (_, i) => context.read(fd, Buffer.alloc(16), 0).then(() => order.push(i))));
  // The pool's threads finish the reads in flight in any order, but a queue that starts them first
  // in, first out starts request k only once k - capacity have completed: of the first 100 to
  // complete, at most `capacity` can come from the second hundred (a LIFO queue: over 80).
  const early = order.slice(0, 100).filter((i) => i >= 100).length;
  assert.ok(early <= defaultThreadsCapacity(), `first in, first out (${early} of the second hundred among the first hundred done)`);
  await context.close();
  fs.closeSync(fd);
});

it('rejects bad classes and unknown class names', { timeout }, async () => {
  assert.throws(() => createContext({ classes: 'x' as never }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  assert.throws(() => createContext({ classes: { a: { shares: 0 } } }), expectCode('ERR_OUT_OF_RANGE', RangeError));
  assert.throws(() => createContext({ classes: { a: { shares: 1.5 } } }), expectCode('ERR_OUT_OF_RANGE', RangeError));
  assert.throws(() => createContext({ classes: { a: { weight: 1 } } as never }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
  assert.throws(() => createContext({ classes: { a: 5 } as never }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  const context = createContext({ classes: { default: { shares: 5 }, a: { shares: 10 } } });
  assert.deepEqual(Object.keys(context.stats().classes), ['default', 'a']);
  assert.equal(context.stats().classes.default.shares, 5);
  await assert.rejects(context.read(0, Buffer.alloc(1), 0, { class: 'nope' }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
  await assert.rejects(context.stat('/', { class: 7 } as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  await context.close();
});
