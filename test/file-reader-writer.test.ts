/** Reader and Writer: sequential chunks and sequential writes over an AIOFile. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { dirname } from 'node:path';
import { after, before, it } from 'node:test';
import { AIOFile, createContext, Reader, Writer, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { directUnsupported, fileWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;

/** A name for each ArrayBuffer, the same for the same one: which memory a chunk is in. */
const names = new WeakMap<ArrayBufferLike, number>();
let named = 0;
function addressKey(buffer: ArrayBufferLike): number {
  let name = names.get(buffer);
  if (name === undefined) names.set(buffer, (name = named++));
  return name;
}

forEachBackend('Reader and Writer', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  it('Reader yields the file in chunks from an offset, then empty chunks', { timeout }, async () => {
    const data = pattern(100_003);
    const file = fileWith(data);
    const f = await AIOFile.open(file, 'rb', { context });
    for (const [offset, chunkSize] of [
      [0, 1000],
      [7, 4096],
      [100_000, 2],
      [100_003, 10],
      [200_000, 10],
    ]) {
      const reader = new Reader(f, { offset, chunkSize });
      const chunks: Buffer[] = [];
      for await (const chunk of reader) {
        assert.ok(chunk.length === chunkSize || chunk.length === (data.length - offset) % chunkSize);
        chunks.push(chunk);
      }
      assert.ok(Buffer.concat(chunks).equals(data.subarray(offset)), `${offset}/${chunkSize}`);
      assert.equal(reader.offset, Math.max(offset, data.length));
      assert.equal((await reader.readChunk()).length, 0);
    }
    await f.close();
  });

  it('Reader chunks asked for together come in file order', { timeout }, async () => {
    const data = pattern(10_000);
    const file = fileWith(data);
    const f = await AIOFile.open(file, 'rb', { context });
    const reader = new Reader(f, { chunkSize: 3000 });
    const chunks = await Promise.all([reader.readChunk(), reader.readChunk(), reader.readChunk(), reader.readChunk(), reader.readChunk()]);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [3000, 3000, 3000, 1000, 0],
    );
    assert.ok(Buffer.concat(chunks).equals(data));
    await f.close();
  });

  for (const direct of [false, true]) {
    it(`Reader of a ${direct ? 'direct file reads a chunk per request' : 'buffered file reads several chunks per request'}`, { timeout }, async (t) => {
      const data = pattern(100 * 4096 + 123);
      const path = fileWith(data);
      const unsupported = direct && (await directUnsupported(dirname(path), context));
      if (unsupported) return t.skip(unsupported);
      const f = await AIOFile.open(path, 'rb', { context, direct });
      const before = context.stats().submitted;
      const parts: Buffer[] = [];
      for await (const chunk of new Reader(f, { chunkSize: 4096, readAhead: 8 })) parts.push(chunk);
      const requests = context.stats().submitted - before;
      assert.ok(Buffer.concat(parts).equals(data), `direct ${direct}`);
      // 101 chunks (and what was in flight past the end): 9 at first, then 4 per request.
      if (direct) assert.ok(requests >= 101, `${requests} requests for 101 chunks, direct`);
      else assert.ok(requests <= 30, `${requests} requests for 101 chunks`);
      await f.close();
    });
  }

  it('Reader with reuseChunks reads each chunk into the memory of one handed out before, and the bytes are right', { timeout }, async () => {
    const data = pattern(1_000_003);
    const f = await AIOFile.open(fileWith(data), 'rb', { context });
    for (const [chunkSize, readAhead] of [
      [4096, 4],
      [65_536, 0],
      [1000, 2],
    ]) {
      const reader = new Reader(f, { chunkSize, readAhead, reuseChunks: true });
      assert.equal(reader.reuseChunks, true);
      const copies: Buffer[] = [];
      const memory = new Set<string>();
      for await (const chunk of reader) {
        copies.push(Buffer.from(chunk));
        memory.add(`${addressKey(chunk.buffer)}+${chunk.byteOffset}`);
      }
      assert.ok(Buffer.concat(copies).equals(data), `${chunkSize}/${readAhead}`);
      // Chunks in flight (readAhead + 1), the one handed out, and the short last one.
      assert.ok(memory.size <= readAhead + 3, `${memory.size} distinct memories for ${copies.length} chunks (${chunkSize}/${readAhead})`);
    }
    // Without the option, every chunk is memory of its own: a kept chunk stays as it was read.
    const kept: Buffer[] = [];
    for await (const chunk of new Reader(f, { chunkSize: 4096 })) kept.push(chunk);
    assert.ok(Buffer.concat(kept).equals(data));
    assert.throws(() => new Reader(f, { reuseChunks: 'yes' as never }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await f.close();
  });

  it('Writer writes sequentially from its offset, in flight together, in order', { timeout }, async () => {
    const file = scratchPath();
    const f = await AIOFile.open(file, 'w+b', { context });
    const writer = new Writer(f, { offset: 10 });
    const parts = Array.from({ length: 300 }, (_, i) => pattern((i * 131) % 9000, i));
    const results = await Promise.all(parts.map((part) => writer.write(part)));
    await writer.flush();
    assert.deepEqual(
      results,
      parts.map((p) => p.length),
    );
    const total = parts.reduce((sum, p) => sum + p.length, 0);
    assert.equal(writer.offset, 10 + total);
    assert.ok((await f.read(-1, 10)).equals(Buffer.concat(parts)));
    assert.equal(await writer.write('text é'), 7);
    await writer.flush();
    await f.close();
  });

  it("Writer keeps the order of writes on an 'a' mode file", { timeout }, async () => {
    const file = scratchPath();
    fs.writeFileSync(file, 'head:');
    const f = await AIOFile.open(file, 'a', { context });
    const writer = new Writer(f);
    const parts = Array.from({ length: 200 }, (_, i) => `${i},`);
    void parts.map((part) => writer.write(part));
    await writer.flush();
    await f.close();
    assert.equal(fs.readFileSync(file, 'utf8'), `head:${parts.join('')}`);
  });

  it('Writer: an error reaches flush() and every later write, even for writes nobody awaited', { timeout }, async () => {
    const file = scratchPath();
    fs.writeFileSync(file, 'x');
    const f = await AIOFile.open(file, 'r', { context });
    const writer = new Writer(f);
    assert.equal(await writer.write('nope'), 4, 'accepted into the buffer');
    await assert.rejects(writer.flush(), expectCode('EBADF'));
    await assert.rejects(writer.flush(), expectCode('EBADF'), 'the error stays');
    await assert.rejects(writer.write('more'), expectCode('EBADF'));
    const through = new Writer(f, { writeBehind: 0 });
    await assert.rejects(through.write('now'), expectCode('EBADF'), 'without write-behind the write itself fails');
    assert.throws(() => new Writer(f, { offset: -1 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.throws(() => new Writer(f, { writeBehind: -1 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(new Writer(f).write({} as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await f.close();
  });

  it('Writer: write-behind keeps the buffered bytes under the bound and the bytes on disk equal the bytes written', { timeout }, async () => {
    const file = scratchPath();
    const f = await AIOFile.open(file, 'w+b', { context });
    const writer = new Writer(f, { writeBehind: 1 << 20, blockSize: 256 << 10 });
    const parts: Buffer[] = [];
    let peak = 0;
    let seed = 7;
    for (let i = 0; i < 400; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const part = pattern(1 + (seed % 100_000), i);
      parts.push(part);
      await writer.write(part);
      peak = Math.max(peak, writer.buffered);
      part.fill(0); // the writer copied it: reusing the memory changes nothing on disk
    }
    await writer.flush();
    assert.ok(peak <= (1 << 20) + 100_000, `at most the bound plus one write buffered (peak ${peak})`);
    assert.equal(writer.buffered, 0);
    const expected = Buffer.concat(parts.map((p, i) => pattern(p.length, i)));
    assert.ok((await f.read()).equals(expected));
    await f.close();
  });
});
