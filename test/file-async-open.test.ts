/** asyncOpen(): the cursor file object: read/readline/write/seek/tell, iteration, clones, modes. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, it } from 'node:test';
import { asyncOpen, createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { fileWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;

forEachBackend('asyncOpen', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  it('reads n characters without splitting any, whatever the chunk size', { timeout }, async () => {
    const text = 'aé€😀b'.repeat(20);
    const chars = [...text];
    for (const encoding of ['utf8', 'utf16le'] as const) {
      const file = fileWith(Buffer.from(text, encoding));
      for (const chunkSize of [1, 2, 3, 5, 64]) {
        for (const n of [1, 2, 3, 7]) {
          const g = await asyncOpen(file, 'r', { context, chunkSize, encoding });
          const pieces: string[] = [];
          for (let piece = await g.read(n); piece !== ''; piece = await g.read(n)) {
            assert.ok([...piece].length <= n);
            pieces.push(piece);
          }
          assert.equal(pieces.join(''), text, `${encoding} chunk ${chunkSize} n ${n}`);
          assert.equal([...pieces[0]].length, n);
          assert.equal(g.tell(), Buffer.byteLength(text, encoding));
          await g.close();
        }
      }
      const g = await asyncOpen(file, 'r', { context, encoding });
      assert.equal(await g.read(4), chars.slice(0, 4).join(''));
      assert.equal(await g.read(), chars.slice(4).join(''));
      assert.equal(await g.read(), '');
      await g.close();
    }
  });

  it('reads bytes in binary mode', { timeout }, async () => {
    const data = pattern(200_000);
    const g = await asyncOpen(fileWith(data), 'rb', { context, chunkSize: 4096 });
    const first = await g.read(10);
    assert.ok(Buffer.isBuffer(first) && first.equals(data.subarray(0, 10)));
    assert.ok((await g.read(100_000)).equals(data.subarray(10, 100_010)));
    assert.ok((await g.read()).equals(data.subarray(100_010)));
    assert.equal((await g.read(5)).length, 0);
    await g.close();
  });

  it('reads lines without separators, CRLF included, and iterates from the current position', { timeout }, async () => {
    const file = fileWith('first\r\nsecond\n\nthird é\nlast');
    for (const chunkSize of [1, 2, 3, 64]) {
      const g = await asyncOpen(file, 'r', { context, chunkSize });
      assert.equal(await g.readline(), 'first');
      assert.equal(g.tell(), 7);
      const rest: string[] = [];
      for await (const line of g) {
        rest.push(line);
        if (rest.length === 2) break;
      }
      assert.deepEqual(rest, ['second', '']);
      const more: string[] = [];
      for await (const line of g) more.push(line);
      assert.deepEqual(more, ['third é', 'last']);
      assert.equal(await g.readline(), null);
      await g.seek(0);
      assert.equal(await g.read(3), 'fir');
      assert.equal(await g.readline(), 'st');
      await g.close();
    }
    const b = await asyncOpen(file, 'rb', { context });
    assert.deepEqual(await b.readline(), Buffer.from('first'));
    await b.close();
    const utf16 = fileWith(Buffer.from('a\u0a00b\r\nc\n', 'utf16le'));
    const u = await asyncOpen(utf16, 'r', { context, encoding: 'utf16le', chunkSize: 3 });
    assert.equal(await u.readline(), 'a\u0a00b');
    assert.equal(await u.readline(), 'c');
    assert.equal(await u.readline(), null);
    await u.close();
  });

  it('seeks from the start, the cursor and the end', { timeout }, async () => {
    const g = await asyncOpen(fileWith('0123456789'), 'r+', { context });
    assert.equal(await g.seek(3), 3);
    assert.equal(await g.read(2), '34');
    assert.equal(await g.seek(2, 1), 7);
    assert.equal(await g.read(1), '7');
    assert.equal(await g.seek(-3, 2), 7);
    assert.equal(await g.read(), '789');
    assert.equal(await g.seek(5, 2), 15);
    assert.equal(await g.read(), '');
    assert.equal(await g.seek(-2, 1), 13);
    await assert.rejects(g.seek(-100, 1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(g.seek(-1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(g.seek(0, 3), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(g.seek(0.5), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.equal(g.tell(), 13);
    await g.close();
  });

  it('writes at the cursor, behind, and flush, seek, read and close wait for the writes', { timeout }, async () => {
    const file = scratchPath();
    const g = await asyncOpen(file, 'w+', { context, chunkSize: 16 });
    assert.equal(await g.write('hello '), 6);
    assert.equal(await g.write(Buffer.from('world')), 5);
    assert.equal(g.tell(), 11);
    await g.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello world');
    await g.write('!'.repeat(40)); // several blocks, written behind
    assert.equal(g.tell(), 51);
    await g.flush();
    assert.equal(fs.statSync(file).size, 51);
    await g.seek(0);
    await g.write('J');
    assert.equal(await g.read(4), 'ello', 'a read sees the buffered write before it');
    await g.seek(6);
    assert.equal(await g.readline(), `world${'!'.repeat(40)}`);
    await g.write('tail');
    await g.flush({ sync: true });
    await g.close();
    assert.equal(fs.readFileSync(file, 'utf8'), `Jello world${'!'.repeat(40)}tail`);
  });

  it('keeps the order of writes nobody awaited', { timeout }, async () => {
    const file = scratchPath();
    const g = await asyncOpen(file, 'wb', { context, chunkSize: 1000 });
    const expected: Buffer[] = [];
    const writes: Promise<number>[] = [];
    for (let i = 0; i < 500; i++) {
      const data = pattern((i * 37) % 3000, i);
      expected.push(data);
      writes.push(g.write(data));
    }
    await Promise.all(writes);
    await g.close();
    assert.ok(fs.readFileSync(file).equals(Buffer.concat(expected)));
  });

  it("appends in 'a' modes wherever the cursor is, and starts at the end", { timeout }, async () => {
    const file = fileWith('start\n');
    const g = await asyncOpen(file, 'a+', { context });
    assert.equal(g.tell(), 6);
    await g.write('one\n');
    assert.equal(g.tell(), 10);
    await g.seek(0);
    assert.equal(await g.readline(), 'start');
    await g.write('two\n');
    assert.equal(g.tell(), 14);
    await g.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'start\none\ntwo\n');
    const x = scratchPath();
    await (await asyncOpen(x, 'x', { context })).close();
    await assert.rejects(asyncOpen(x, 'x', { context }), expectCode('EEXIST'));
  });

  it('iterates in chunks', { timeout }, async () => {
    const text = 'é'.repeat(1000);
    const g = await asyncOpen(fileWith(text), 'r', { context });
    const chunks: string[] = [];
    for await (const chunk of g.iterChunked(300)) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [300, 300, 300, 100],
    );
    assert.equal(chunks.join(''), text);
    await g.close();
  });

  it('clones share the fd, keep their own cursor, and the last close closes it', { timeout }, async () => {
    const g = await asyncOpen(fileWith('abcdef'), 'r', { context });
    await g.read(2);
    const h = g.clone();
    assert.equal(h.file, g.file);
    assert.equal(h.tell(), 2);
    assert.equal(await h.read(2), 'cd');
    assert.equal(await g.read(1), 'c');
    const fd = g.file.fd;
    await g.close();
    assert.equal(g.closed, true);
    assert.ok(fs.fstatSync(fd), 'still open for the clone');
    assert.equal(await h.read(), 'ef');
    await assert.rejects(g.read(), expectCode('EBADF'));
    assert.throws(() => g.clone(), expectCode('EBADF'));
    await h.close();
    await h.close();
    assert.throws(() => fs.fstatSync(fd), expectCode('EBADF'));
  });

  it('closes with await using, writing what was buffered', { timeout }, async () => {
    const file = scratchPath();
    {
      await using g = await asyncOpen(file, 'w', { context });
      await g.write('kept');
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'kept');
  });

  it('refuses what the mode forbids and bad arguments, before any I/O', { timeout }, async () => {
    const file = fileWith('x');
    const r = await asyncOpen(file, 'r', { context });
    await assert.rejects(r.write('y'), (error: Error) => /mode 'r' is not writable/.test(error.message));
    await assert.rejects(r.read(-5), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(r.read('1' as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(r.flush({ sync: 1 } as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    assert.equal(await r.read(), 'x');
    await r.close();
    const w = await asyncOpen(scratchPath(), 'w', { context });
    await assert.rejects(w.readline(), (error: Error) => /mode 'w' is not readable/.test(error.message));
    await assert.rejects(w.write(null as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await w.close();
    await assert.rejects(asyncOpen(file, 'r', { context, chunkSize: 0 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
  });
});

forEachBackend('asyncOpen scheduling', (backend) => {
  it('reads ahead while reading sequentially, and a write drops what was read ahead', { timeout }, async () => {
    const context = createContext({ backend });
    const file = scratchPath();
    fs.writeFileSync(file, pattern(64 * 1024));
    const g = await asyncOpen(file, 'r+b', { context, chunkSize: 1024, readAhead: 3 });
    assert.ok((await g.read(1024)).equals(pattern(64 * 1024).subarray(0, 1024)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The three chunks after the first were read with it: changed on disk behind the file's back
    // now, they still come back as they were.
    const behind = fs.openSync(file, 'r+');
    fs.writeSync(behind, Buffer.alloc(3072, 0xee), 0, 3072, 1024);
    fs.closeSync(behind);
    assert.ok((await g.read(3072)).equals(pattern(64 * 1024).subarray(1024, 4096)), 'reads were issued ahead of the consumer');
    await g.seek(2048);
    await g.write(Buffer.from('XYZ'));
    await g.seek(2048);
    assert.deepEqual(await g.read(3), Buffer.from('XYZ'), 'not the stale bytes read ahead');
    await g.close();
    await context.close();
  });
});
