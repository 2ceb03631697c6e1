/**
 * O_DIRECT: aligned allocation, alignment discovery, the direct option and its fallback, the
 * RangeErrors for misaligned transfers, every layer (AIOFile, Reader, Writer, LineReader,
 * asyncOpen, streams) on a direct file, and registered buffers. Runs per backend, on the suite's
 * scratch directory (ext4 here) and on /dev/shm (tmpfs); a filesystem that cannot do O_DIRECT is
 * skipped with that reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buffer as streamToBuffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { AIOFile, allocAligned, asyncOpen, createContext, LineReader, Reader, Writer, type IoContext } from '../src/index.js';
import { loadNative } from '../src/native.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { directUnsupported, pattern, scratchDir } from './support/files.js';

const timeout = 60_000;
const runs = Math.max(10, Math.floor(Number(process.env.AIOFS_FUZZ_RUNS ?? 300) / 10));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

function addressMisalignment(view: ArrayBufferView, alignment: number): number {
  return loadNative().misalignment!(view, alignment);
}

/** The filesystems to try: the scratch directory and tmpfs, each with a fresh directory. */
function filesystems(): { name: string; dir: () => string }[] {
  const list = [{ name: 'scratch dir', dir: () => scratchDir() }];
  if (fs.existsSync('/dev/shm')) {
    let shm: string | undefined;
    list.push({
      name: 'tmpfs',
      dir: () => {
        if (!shm) {
          shm = fs.mkdtempSync('/dev/shm/aiofs-direct-');
          const created = shm;
          process.on('exit', () => fs.rmSync(created, { recursive: true, force: true }));
        }
        return shm;
      },
    });
  }
  return list;
}

/** The platform has O_DIRECT at all (Linux); elsewhere `direct: true` fails with ENOTSUP. */
const platformDirect = (() => {
  try {
    return loadNative().setDirect !== undefined;
  } catch {
    return false;
  }
})();

/** The filesystems to try, each with its directory and, where O_DIRECT cannot be tested there, why. */
const places = await Promise.all(
  filesystems().map(async (where) => {
    const dir = where.dir();
    return { name: where.name, dir, skip: await directUnsupported(dir) };
  }),
);

describe('allocAligned', () => {
  it('returns zeroed memory whose address and length are multiples of the alignment', { timeout }, () => {
    for (const alignment of [1, 2, 512, 4096, 65536]) {
      for (const size of [0, 1, 511, 512, 4097, 100_000]) {
        const b = allocAligned(size, alignment);
        assert.equal(addressMisalignment(b, alignment), 0);
        assert.equal(b.length, Math.ceil(size / alignment) * alignment);
        assert.ok(b.every((x) => x === 0));
      }
    }
    assert.equal(addressMisalignment(allocAligned(10), 4096), 0);
    assert.equal(allocAligned(10).length, 4096);
    assert.equal(allocAligned(1, { memory: 512, offset: 1024 }).length, 1024);
  });

  it('rejects bad sizes and alignments with Node-style errors', { timeout }, () => {
    assert.throws(() => allocAligned(-1), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => allocAligned(1.5), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => allocAligned('1' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => allocAligned(10, 3), { code: 'ERR_OUT_OF_RANGE', message: /power of two/ });
    assert.throws(() => allocAligned(10, 0), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => allocAligned(10, 2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => allocAligned(10, {} as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

forEachBackend('O_DIRECT', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  const noProc = !fs.existsSync('/proc/self/status') && 'no /proc here, the filesystem this test knows refuses O_DIRECT';
  it("direct: 'auto' stays buffered where the filesystem refuses O_DIRECT, direct: true rejects", { timeout, skip: noProc }, async () => {
    const auto = await AIOFile.open('/proc/self/status', 'r', { direct: 'auto', context });
    assert.equal(auto.direct, false);
    assert.deepEqual(auto.alignment, { memory: 1, offset: 1 });
    assert.match(await auto.read(), /Pid:/);
    await auto.close();
    const error = await rejection(AIOFile.open('/proc/self/status', 'r', { direct: true, context }));
    // The filesystem refuses (EINVAL), or, where the platform has no O_DIRECT, the platform does.
    assert.equal((error as { code?: string }).code, platformDirect ? 'EINVAL' : 'ENOTSUP');
    assert.equal((error as { syscall?: string }).syscall, 'open');
    assert.equal((error as { path?: string }).path, '/proc/self/status');
    assert.match((error as Error).message, /O_DIRECT/);
  });

  it('direct with append modes: true is refused, auto stays buffered', { timeout }, async () => {
    const file = path.join(scratchDir(), `append-${process.pid}-${backend}`);
    await assert.rejects(AIOFile.open(file, 'a', { direct: true, context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    assert.equal(fs.existsSync(file), false, 'refused before the open: nothing created');
    const f = await AIOFile.open(file, 'a', { direct: 'auto', context });
    assert.equal(f.direct, false);
    await f.write('one');
    await f.write('two');
    await f.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'onetwo');
    await assert.rejects(AIOFile.open(file, 'r', { direct: 'yes' as never, context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
  });

  for (const where of places) {
    describe(`on ${where.name}`, { skip: where.skip ?? false }, () => {
      const dir = where.dir;
      let count = 0;
      const fresh = (name: string) => path.join(dir, `${name}-${process.pid}-${backend}-${count++}`);

      it('reports a sane alignment', { timeout }, async () => {
        const f = await AIOFile.open(fresh('align'), 'w+b', { direct: true, context });
        const { memory, offset } = f.alignment;
        assert.equal(f.direct, true);
        for (const n of [memory, offset]) {
          assert.ok(Number.isInteger(n) && n >= 1 && n <= 1 << 20, String(n));
          assert.equal(n & (n - 1), 0, `${n} is a power of two`);
        }
        assert.ok(memory <= offset, `memory ${memory} <= offset ${offset}`);
        assert.ok(Object.isFrozen(f.alignment));
        await f.close();
      });

      it('round-trips many sizes through AIOFile, Writer, Reader, LineReader, asyncOpen and streams', { timeout }, async () => {
        for (const size of [0, 1, 511, 512, 513, 4095, 4096, 4097, 65_537, 1_048_576 + 3, 3_000_001]) {
          const data = pattern(size, size);
          const file = fresh('rt');
          const w = await AIOFile.open(file, 'w+b', { direct: true, context });
          const writer = new Writer(w, { blockSize: 65_536 });
          for (let at = 0; at < size; at += 10_007) await writer.write(data.subarray(at, at + 10_007));
          await writer.flush();
          assert.equal(fs.statSync(file).size, size, `Writer leaves exactly ${size} bytes`);
          assert.ok(fs.readFileSync(file).equals(data), `Writer bytes, ${size}`);
          assert.ok((await w.read()).equals(data), `read() of ${size}`);
          assert.ok((await w.read(1000, 7)).equals(data.subarray(7, 1007)), `read(1000, 7) of ${size}`);
          for (const chunkSize of [4096, 1000, 65_536]) {
            const chunks: Buffer[] = [];
            for await (const chunk of new Reader(w, { chunkSize, offset: size > 5 ? 5 : 0 })) chunks.push(chunk);
            assert.ok(Buffer.concat(chunks).equals(data.subarray(size > 5 ? 5 : 0)), `Reader ${chunkSize} of ${size}`);
          }
          const streamed = await streamToBuffer(w.createReadStream({ autoClose: false, start: 3 }));
          assert.ok(streamed.equals(data.subarray(3)), `createReadStream of ${size}`);
          await w.close();

          const copy = fresh('stream');
          const out = await AIOFile.open(copy, 'w', { direct: true, context });
          await pipeline(Readable.from([data.subarray(0, 100), data.subarray(100)]), out.createWriteStream());
          assert.ok(fs.readFileSync(copy).equals(data), `createWriteStream of ${size}`);

          const a = await asyncOpen(copy, 'r+b', { direct: true, context, chunkSize: 5000 });
          assert.ok((await a.read(17)).equals(data.subarray(0, 17)), `asyncOpen read of ${size}`);
          await a.seek(size > 3 ? size - 3 : 0);
          await a.write(Buffer.from('tail!'));
          await a.close();
          const expected = Buffer.concat([data.subarray(0, size > 3 ? size - 3 : 0), Buffer.from('tail!')]);
          assert.ok(fs.readFileSync(copy).equals(expected), `asyncOpen write at the end of ${size}`);
        }
      });

      it('LineReader reads a direct file', { timeout }, async () => {
        const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
        const file = fresh('lines');
        fs.writeFileSync(file, lines.join('\n'));
        const f = await AIOFile.open(file, 'r', { direct: true, context });
        const got: string[] = [];
        for await (const line of new LineReader(f, { chunkSize: 4096 })) got.push(line);
        assert.deepEqual(got, lines);
        await f.close();
      });

      it('refuses misaligned transfers with a RangeError naming the alignment and the value', { timeout }, async () => {
        const f = await AIOFile.open(fresh('misaligned'), 'w+b', { direct: true, context });
        const { memory, offset } = f.alignment;
        const block = allocAligned(offset * 2, f);
        assert.equal(await f.write(block, 0), offset * 2);
        assert.equal(await f.readInto(block, 0), offset * 2);
        const cases: [Promise<unknown>, RegExp][] = [
          [f.readInto(block, offset / 2 || 1), new RegExp(`"position".*multiple of ${offset}`)],
          [f.readInto(block.subarray(0, offset - 1 || 1), 0), new RegExp(`length of "buffer".*multiple of ${offset}.*Received ${offset - 1 || 1}`)],
          [f.write(block.subarray(0, offset + 1), 0), new RegExp(`length of "data".*multiple of ${offset}`)],
          [f.write('abc', 0), new RegExp(`length of "data".*multiple of ${offset}`)],
        ];
        if (memory > 1) {
          cases.push([f.readInto(block.subarray(1, offset + 1), 0), new RegExp(`address of "buffer".*multiple of ${memory}.*1 bytes past`)]);
        }
        for (const [promise, message] of cases) {
          await assert.rejects(promise, (error: Error & { code?: string }) => {
            assert.ok(error instanceof RangeError);
            assert.equal(error.code, 'ERR_OUT_OF_RANGE');
            assert.match(error.message, message);
            return true;
          });
        }
        // The same mistake through IoContext on the direct fd: the kernel's EINVAL becomes the
        // RangeError (where the kernel enforces alignment: tmpfs does not).
        let enforced = false;
        try {
          fs.readSync(f.fd, block, 0, offset, 1);
        } catch (error) {
          enforced = (error as { code?: string }).code === 'EINVAL';
        }
        if (enforced) {
          await assert.rejects(context.read(f.fd, block, 1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /"position".*Received 1$/ });
          await assert.rejects(context.write(f.fd, block.subarray(0, offset + 1), 0), { code: 'ERR_OUT_OF_RANGE', message: /length of "buffer"/ });
        }
        // The string form of write copies into aligned memory: an aligned length goes through.
        assert.equal(await f.write('z'.repeat(offset), offset), offset);
        await f.close();
      });

      it('Writer at an unaligned offset inside a longer file keeps the bytes around it', { timeout }, async () => {
        const base = pattern(50_000, 1);
        const file = fresh('middle');
        fs.writeFileSync(file, base);
        const f = await AIOFile.open(file, 'r+b', { direct: true, context });
        const writer = new Writer(f, { offset: 1234, blockSize: 8192 });
        const patch = pattern(20_001, 2);
        await writer.write(patch);
        await writer.flush();
        await f.close();
        const expected = Buffer.from(base);
        patch.copy(expected, 1234);
        const got = fs.readFileSync(file);
        assert.equal(got.length, base.length);
        assert.ok(got.equals(expected));
      });

      it('concurrent partial-block writes to one file keep each other\'s bytes', { timeout }, async () => {
        const file = fresh('concurrent');
        const f = await AIOFile.open(file, 'w+b', { direct: true, context });
        // 64 pieces of 37 bytes: neighbours share blocks, so each write must read, merge and
        // write back a block another write is merging at the same time.
        const pieces = Array.from({ length: 64 }, (_, i) => pattern(37, i + 1));
        await Promise.all(
          pieces.map(async (piece, i) => {
            const writer = new Writer(f, { offset: i * 37 });
            await writer.write(piece);
            await writer.flush();
          }),
        );
        // And aligned writes beside them, in blocks of their own.
        const { offset } = f.alignment;
        const tail = allocAligned(offset * 2, f).fill(0xee);
        const start = Math.ceil((64 * 37) / offset) * offset + offset;
        const beside = new Writer(f, { offset: start - 5 });
        await Promise.all([f.write(tail, start), beside.write('12345').then(() => beside.flush())]);
        await f.close();
        const got = fs.readFileSync(file);
        assert.ok(got.subarray(0, 64 * 37).equals(Buffer.concat(pieces)), 'every piece kept');
        assert.equal(got.subarray(start - 5, start).toString(), '12345');
        assert.ok(got.subarray(start, start + tail.length).equals(tail), 'the aligned block kept');
        assert.equal(got.length, start + tail.length);
      });

      it('random writes of any offset and length equal a model of the file (property)', { timeout }, async () => {
        const write = fc.record({ at: fc.nat({ max: 20_000 }), length: fc.integer({ min: 1, max: 9000 }), seed: fc.nat({ max: 255 }) });
        await fc.assert(
          fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 8 }), async (writes) => {
            const file = fresh('prop');
            let model = Buffer.alloc(0);
            const f = await asyncOpen(file, 'w+b', { direct: true, context, writeBehind: 0 });
            for (const { at, length, seed } of writes) {
              const bytes = pattern(length, seed);
              await f.seek(at);
              await f.write(bytes);
              if (model.length < at + length) model = Buffer.concat([model, Buffer.alloc(at + length - model.length)]);
              bytes.copy(model, at);
            }
            await f.close();
            const got = fs.readFileSync(file);
            fs.rmSync(file);
            return got.equals(model);
          }),
          { numRuns: runs },
        );
      });

      it('a direct reader sees what a buffered handle wrote and fsynced', { timeout }, async () => {
        const file = fresh('coherent');
        const buffered = await AIOFile.open(file, 'w+b', { context });
        const direct = await AIOFile.open(file, 'rb', { direct: true, context });
        const block = allocAligned(direct.alignment.offset * 4, direct);
        for (let round = 0; round < 5; round++) {
          const data = pattern(block.length, round);
          await buffered.write(data, 0);
          await buffered.fsync();
          assert.equal(await direct.readInto(block, 0), block.length);
          assert.ok(block.equals(data), `round ${round}`);
        }
        await buffered.close();
        await direct.close();
      });
    });
  }

  it('registered buffers carry I/O on uring; elsewhere registration says no and I/O still works', { timeout }, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const file = path.join(scratchDir(), `registered-${process.pid}-${backend}`);
      const data = pattern(1 << 20, 9);
      fs.writeFileSync(file, data);
      const f = await AIOFile.open(file, 'r+b', { direct: 'auto', context });
      const buffers = [allocAligned(1 << 19), allocAligned(1 << 19)];
      const pending = f.readInto(buffers[0], 0); // registration waits for it
      const registered = await context.registerBuffers(buffers);
      assert.equal(await pending, 1 << 19);
      assert.equal(registered, backend === 'uring');
      assert.equal(await f.readInto(buffers[1], 1 << 19), 1 << 19);
      assert.ok(Buffer.concat(buffers).equals(data));
      const inside = buffers[0].subarray(4096, 8192);
      assert.equal(await f.readInto(inside, 4096), 4096);
      assert.ok(inside.equals(data.subarray(4096, 8192)));
      buffers[1].fill(0xab);
      assert.equal(await f.write(buffers[1], 0), 1 << 19);
      assert.ok(fs.readFileSync(file).subarray(0, 1 << 19).equals(buffers[1]));
      // A registered buffer transferred away: its address may now be other memory; I/O stays correct.
      const moved = structuredClone(buffers[0].buffer, { transfer: [buffers[0].buffer as ArrayBuffer] });
      assert.equal(buffers[0].byteLength, 0);
      const fresh = allocAligned(1 << 19);
      assert.equal(await f.readInto(fresh, 1 << 19), 1 << 19);
      assert.ok(fresh.equals(data.subarray(1 << 19)));
      assert.ok(moved.byteLength > 0);
      assert.equal(await context.registerBuffers([]), backend === 'uring');
      await f.close();
      await assert.rejects(context.registerBuffers([Buffer.alloc(0)]), { code: 'ERR_OUT_OF_RANGE' });
      await assert.rejects(context.registerBuffers('x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
      await new Promise((resolve) => setImmediate(resolve));
      if (backend === 'uring') assert.deepEqual(warnings, []);
      else assert.equal(warnings.filter((w) => w.includes(`'${backend}' backend has none`)).length, 1);
    } finally {
      process.off('warning', onWarning);
    }
  });

  if (backend === 'uring') {
    const reason =
      process.getuid?.() !== 0
        ? 'needs root, to run without CAP_IPC_LOCK under a small memlock limit'
        : spawnSync('setpriv', ['--help']).status !== 0 || spawnSync('prlimit', ['--help']).status !== 0
          ? 'needs setpriv and prlimit (util-linux)'
          : false;
    it('registration past the memlock limit warns and I/O goes on without it', { timeout, skip: reason }, () => {
      const file = path.join(scratchDir(), `memlock-${process.pid}`);
      fs.writeFileSync(file, pattern(1 << 20, 3));
      const fixture = fileURLToPath(new URL('./fixtures/register-memlock.js', import.meta.url));
      const run = spawnSync(
        'prlimit',
        // 256 KiB: less than the 1 MiB registered, more than Node 24+ itself locks at start.
        ['--memlock=262144:262144', 'setpriv', '--bounding-set', '-ipc_lock', '--inh-caps', '-ipc_lock', process.execPath, fixture, file],
        { encoding: 'utf8', timeout },
      );
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { registered: boolean; n: number; first: number; warnings: string[] };
      assert.equal(report.registered, false);
      assert.equal(report.n, 1 << 20);
      assert.equal(report.first, pattern(1, 3)[0]);
      assert.equal(report.warnings.length, 1);
      assert.match(report.warnings[0], /memlock limit \(ulimit -l\)/);
    });
  }
});


