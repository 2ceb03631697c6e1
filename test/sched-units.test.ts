/**
 * The scheduling pieces on their own, with no kernel and no clock: the FIFO and fair queues, and
 * read-ahead and write-behind over an in-memory PositionalFile whose reads and writes complete
 * when the test says so. Properties (fast-check) where an oracle is simple: a queue against an
 * array, read-ahead's chunks against the file's bytes, write-behind's result against the writes;
 * and the vectored whole read that read-ahead's chunks of a buffered file come through, against a
 * context whose reads stop short wherever the test says.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { Op, Request } from '../src/backend/backend.js';
import type { PositionalFile } from '../src/positional.js';
import { FairQueue, PriorityClass } from '../src/sched/classes.js';
import { FifoQueue } from '../src/sched/queue.js';
import { ReadAhead } from '../src/buffering/read-ahead.js';
import { WriteBehind } from '../src/buffering/write-behind.js';
import type { IoContext } from '../src/context.js';
import { readvFully } from '../src/file/transfer.js';

const timeout = 60_000;

/** A file in memory whose operations are recorded and complete on a later turn (or when released). */
class MemoryFile implements PositionalFile {
  bytes: Buffer;
  reads: { position: number; length: number }[] = [];
  writes: { position: number; length: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** When set, operations wait for release() instead of completing on the next turn. */
  held: (() => void)[] | undefined;
  failWritesAt: number | undefined;

  constructor(bytes: Buffer = Buffer.alloc(0)) {
    this.bytes = bytes;
  }

  /** `count`: how many chunks the operation moves (a vectored read's views). */
  async #turn<T>(run: () => T, count = 1): Promise<T> {
    this.inFlight += count;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
      else await new Promise((resolve) => setImmediate(resolve));
      return run();
    } finally {
      this.inFlight -= count;
    }
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const resolve of waiting) resolve();
  }

  /** Read requests made: a vectored one counts once, while `reads` has an entry per view. */
  requests = 0;

  readInto(view: ArrayBufferView, position: number): Promise<number> {
    this.requests++;
    this.reads.push({ position, length: view.byteLength });
    return this.#turn(() => this.#copyOut(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), position));
  }

  /** Set by vectored(): several views in one request, as a buffered fd offers. */
  readvInto: ((views: Uint8Array[], position: number) => Promise<number>) | undefined;

  vectored(): this {
    this.readvInto = (views, position) => {
      this.requests++;
      let at = position;
      for (const view of views) {
        this.reads.push({ position: at, length: view.length });
        at += view.length;
      }
      return this.#turn(() => {
        let done = 0;
        for (const view of views) {
          const n = this.#copyOut(view, position + done);
          done += n;
          if (n < view.length) break;
        }
        return done;
      }, views.length);
    };
    return this;
  }

  #copyOut(target: Uint8Array, position: number): number {
    const n = Math.max(0, Math.min(target.length, this.bytes.length - position));
    target.set(this.bytes.subarray(position, position + n));
    return n;
  }

  writeAt(bytes: Uint8Array, position: number): Promise<number> {
    this.writes.push({ position, length: bytes.length });
    const copy = Buffer.from(bytes);
    return this.#turn(() => {
      if (this.failWritesAt !== undefined && position <= this.failWritesAt && this.failWritesAt < position + copy.length) {
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      }
      if (position + copy.length > this.bytes.length) {
        this.bytes = Buffer.concat([this.bytes, Buffer.alloc(position + copy.length - this.bytes.length)]);
      }
      copy.copy(this.bytes, position);
      return copy.length;
    });
  }

  allocations = 0;

  allocate(size: number): Buffer {
    this.allocations++;
    return Buffer.alloc(size);
  }
}

const request = (priorityClass: number, bytes = 0, id = 0) => {
  const r = new Request(Op.Read, id, bytes ? Buffer.alloc(bytes) : null, 0, undefined);
  r.priorityClass = priorityClass;
  return r;
};

it('FifoQueue behaves as an array used as a queue, across its growth', { timeout }, () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.constant<'shift'>('shift'), fc.constant<'peek'>('peek')), { maxLength: 500 }), (steps) => {
      const queue = new FifoQueue<number>();
      const model: number[] = [];
      for (const step of steps) {
        if (step === 'shift') assert.equal(queue.shift(), model.shift());
        else if (step === 'peek') assert.equal(queue.peek(), model[0]);
        else {
          queue.push(step);
          model.push(step);
        }
        assert.equal(queue.length, model.length);
      }
    }),
  );
});

it('FairQueue: first in, first out within a class; every request comes out once', { timeout }, () => {
  fc.assert(
    fc.property(fc.array(fc.record({ c: fc.integer({ min: 0, max: 2 }), bytes: fc.integer({ min: 0, max: 1 << 20 }) }), { maxLength: 200 }), (pushes) => {
      const queue = new FairQueue([new PriorityClass('default', 1), new PriorityClass('a', 4), new PriorityClass('b', 16)]);
      const requests = pushes.map((p, i) => request(p.c, p.bytes, i));
      for (const r of requests) queue.push(r);
      const out: Request[] = [];
      for (let r = queue.shift(); r; r = queue.shift()) out.push(r);
      assert.equal(out.length, requests.length);
      assert.equal(queue.length, 0);
      for (const c of [0, 1, 2]) {
        assert.deepEqual(
          out.filter((r) => r.priorityClass === c).map((r) => r.fd),
          requests.filter((r) => r.priorityClass === c).map((r) => r.fd),
        );
      }
    }),
  );
});

it('FairQueue serves backlogged classes in proportion to their shares', { timeout }, () => {
  const queue = new FairQueue([new PriorityClass('default', 1), new PriorityClass('interactive', 3)]);
  for (let i = 0; i < 400; i++) {
    queue.push(request(0, 4096));
    queue.push(request(1, 4096));
  }
  const firstHundred = Array.from({ length: 100 }, () => queue.shift()!.priorityClass);
  const interactive = firstHundred.filter((c) => c === 1).length;
  assert.ok(interactive >= 73 && interactive <= 77, `${interactive} of the first 100 from the class with 3 of 4 shares`);
  // Bytes count: a class sending 1 MiB requests gets fewer of them than one sending 4 KiB ones.
  const sized = new FairQueue([new PriorityClass('default', 1), new PriorityClass('other', 1)]);
  for (let i = 0; i < 50; i++) {
    sized.push(request(0, 1 << 20));
    sized.push(request(1, 4096));
  }
  const order = Array.from({ length: 40 }, () => sized.shift()!.priorityClass);
  assert.ok(order.filter((c) => c === 1).length > 30, 'the small requests go first');
});

it('ReadAhead hands out the file in order, each byte read once, with at most depth + 1 chunks in flight, into the memory of chunks handed back', { timeout }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 700 }),
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 300 }),
      fc.boolean(),
      fc.boolean(),
      async (size, chunkSize, depth, offset, recycle, vectored) => {
        const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31) & 255));
        const file = vectored ? new MemoryFile(data).vectored() : new MemoryFile(data);
        const ahead = new ReadAhead(file, offset, chunkSize, depth);
        const parts: Buffer[] = [];
        for (let chunk = await ahead.next(); chunk.length > 0; chunk = await ahead.next()) {
          assert.ok(chunk.length <= chunkSize);
          // A chunk handed back is read into again: what it held must be copied first.
          parts.push(recycle ? Buffer.from(chunk) : chunk);
          if (recycle) ahead.recycle(chunk);
        }
        assert.ok(Buffer.concat(parts).equals(data.subarray(Math.min(offset, size))));
        // Handed back, the memory of depth + 1 chunks in flight (and one short chunk) is all a scan allocates.
        if (recycle) assert.ok(file.allocations <= depth + 3, `${file.allocations} allocations, depth ${depth}`);
        else assert.equal(file.allocations, file.reads.length);
        assert.ok(file.maxInFlight <= depth + 1, `${file.maxInFlight} in flight, depth ${depth}`);
        // Contiguous, no byte read twice; past the end at most the window it had in flight.
        file.reads.forEach((read, i) => assert.equal(read.position, offset + i * chunkSize));
        const beyond = file.reads.filter((read) => read.position >= size).length;
        assert.ok(beyond <= depth + 1, `${beyond} reads past the end`);
        // One request per chunk, or with vectored reads one per half window once it is topped up.
        const chunks = file.reads.length;
        if (!vectored || depth === 0) assert.equal(file.requests, chunks);
        else assert.ok(file.requests <= 1 + Math.max(0, Math.ceil((chunks - depth - 1) / (depth - (depth >> 1)))), `${file.requests} requests for ${chunks} chunks, depth ${depth}`);
      },
    ),
    { numRuns: 200 },
  );
});

it('ReadAhead over vectored reads: a window topped up by half in one request, and a failed one fails its chunks', { timeout }, async () => {
  const file = new MemoryFile(Buffer.alloc(40 * 100, 3)).vectored();
  const ahead = new ReadAhead(file, 0, 100, 4);
  let chunks = 0;
  for (let chunk = await ahead.next(); chunk.length > 0; chunk = await ahead.next()) chunks++;
  assert.equal(chunks, 40);
  // 5 chunks at first, then 2 per request whenever 2 are left after the consumer took one (20
  // times, up to the empty chunk that ends the scan): the last 5 were past the end, the window
  // in flight when the end showed.
  assert.equal(file.requests, 21);
  assert.equal(file.reads.length, 45);
  assert.equal(file.maxInFlight, 5);

  // Chunks above 128 KiB are read one to a request (256 KiB at most per request), and replaced
  // as soon as each is taken.
  const large = new MemoryFile(Buffer.alloc(10 * 200 * 1024, 5)).vectored();
  const big = new ReadAhead(large, 0, 200 * 1024, 4);
  for (let chunk = await big.next(); chunk.length > 0; chunk = await big.next());
  assert.equal(large.requests, large.reads.length);
  const medium = new MemoryFile(Buffer.alloc(40 * 100 * 1024, 5)).vectored();
  const two = new ReadAhead(medium, 0, 100 * 1024, 8);
  for (let chunk = await two.next(); chunk.length > 0; chunk = await two.next());
  assert.ok(medium.requests < medium.reads.length, `${medium.requests} requests for ${medium.reads.length} chunks`);

  const failing = new MemoryFile(Buffer.alloc(10_000)).vectored();
  const boom = Object.assign(new Error('EIO'), { code: 'EIO' });
  const vectoredRead = failing.readvInto!;
  failing.readvInto = (views, position) => (position >= 500 ? Promise.reject(boom) : vectoredRead(views, position));
  const stopped = new ReadAhead(failing, 0, 100, 4);
  for (let i = 0; i < 5; i++) assert.equal((await stopped.next()).length, 100);
  await assert.rejects(stopped.next(), boom);
  assert.equal((await stopped.next()).length, 0, 'nothing after the error');
});

it('ReadAhead stops at `end`, and a failed read is the consumer\'s error, after which it reads no more', { timeout }, async () => {
  const file = new MemoryFile(Buffer.alloc(10_000, 7));
  const bounded = new ReadAhead(file, 100, 1000, 4, 2600);
  const sizes: number[] = [];
  for (let chunk = await bounded.next(); chunk.length > 0; chunk = await bounded.next()) sizes.push(chunk.length);
  assert.deepEqual(sizes, [1000, 1000, 500]);
  assert.ok(file.reads.every((read) => read.position + read.length <= 2600));

  const failing = new MemoryFile(Buffer.alloc(10_000));
  const boom = Object.assign(new Error('EIO'), { code: 'EIO' });
  failing.readInto = async (_view, position) => {
    if (position >= 2000) throw boom;
    return 1000;
  };
  const ahead = new ReadAhead(failing, 0, 1000, 4);
  assert.equal((await ahead.next()).length, 1000);
  assert.equal((await ahead.next()).length, 1000);
  await assert.rejects(ahead.next(), boom);
  assert.equal((await ahead.next()).length, 0, 'nothing after the error');
});

it('readvFully fills every view in order, continuing after short counts, up to the end of the file', { timeout }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 3000 }),
      fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 300 }),
      fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 10 }),
      async (size, lengths, position, caps) => {
        const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 1) & 255));
        let calls = 0;
        // Each readv moves at most the next cap's bytes (the last cap repeats), and none past the end.
        const context = {
          readv(_fd: number, views: Uint8Array[], offset: number): Promise<number> {
            let budget = Math.min(caps[Math.min(calls++, caps.length - 1)], Math.max(0, size - offset));
            let done = 0;
            for (const view of views) {
              const n = Math.min(view.length, budget);
              view.set(data.subarray(offset + done, offset + done + n));
              done += n;
              budget -= n;
              if (n < view.length) break;
            }
            return Promise.resolve(done);
          },
        } as unknown as IoContext;
        const views = lengths.map((length) => Buffer.alloc(length, 0xee));
        const total = lengths.reduce((a, b) => a + b, 0);
        const n = await readvFully(context, 3, views, position);
        const expected = Math.min(total, Math.max(0, size - position));
        assert.equal(n, expected);
        assert.ok(Buffer.concat(views).subarray(0, n).equals(data.subarray(position, position + n)));
        assert.ok(Buffer.concat(views).subarray(n).every((byte) => byte === 0xee), 'nothing written past the count');
      },
    ),
    { numRuns: 200 },
  );
});

it('WriteBehind: whatever the writes, the file ends up with exactly their bytes, in order', { timeout }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 2048 }),
      fc.integer({ min: 0, max: 8192 }),
      fc.boolean(),
      async (lengths, blockSize, limit, ordered) => {
        const file = new MemoryFile();
        const behind = new WriteBehind(file, 0, { limit, blockSize, ordered });
        const expected: Buffer[] = [];
        for (const [i, length] of lengths.entries()) {
          const bytes = Buffer.alloc(length, i + 1);
          expected.push(Buffer.from(bytes));
          await behind.write(bytes);
          bytes.fill(0); // the caller's memory is free once write() resolved
          assert.ok(behind.buffered <= Math.max(limit, 0) || behind.buffered === 0, `${behind.buffered} buffered over ${limit}`);
        }
        await behind.flush();
        assert.equal(behind.buffered, 0);
        assert.ok(file.bytes.equals(Buffer.concat(expected)));
        if (ordered) assert.ok(file.maxInFlight <= 1, 'ordered: one write at a time');
      },
    ),
    { numRuns: 150 },
  );
});

it('WriteBehind waits for room (backpressure) and keeps the first write error for flush and every later write', { timeout }, async () => {
  const file = new MemoryFile();
  file.held = [];
  const behind = new WriteBehind(file, 0, { limit: 4096, blockSize: 1024, ordered: false });
  await behind.write(Buffer.alloc(4096, 1)); // fits: resolves at once
  let accepted = false;
  const blocked = behind.write(Buffer.alloc(1024, 2)).then(() => (accepted = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(accepted, false, 'over the limit: waits while the writes are held');
  file.release();
  await blocked;
  await behind.flush();
  assert.equal(file.bytes.length, 5120);

  const failing = new MemoryFile();
  failing.failWritesAt = 2048;
  const broken = new WriteBehind(failing, 0, { limit: 1 << 20, blockSize: 1024, ordered: false });
  await broken.write(Buffer.alloc(4096, 3));
  await assert.rejects(broken.flush(), { code: 'ENOSPC' });
  await assert.rejects(broken.write(Buffer.alloc(1)), { code: 'ENOSPC' });
  await assert.rejects(broken.flush(), { code: 'ENOSPC' });
});
