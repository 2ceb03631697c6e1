/** AIOFile: open modes, positional round trips, text decoding at character boundaries, errors, close. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { after, before, it } from 'node:test';
import { AIOFile, createContext, type IoContext } from '../src/index.js';
import { addressOf } from '../src/direct/alignment.js';
import { positionalIo } from '../src/positional.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { fileWith, pattern, scratchPath } from './support/files.js';
import { ThrowingAfterFirst } from './support/views.js';

const timeout = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;

function fdClosed(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return false;
  } catch {
    return true;
  }
}

/** Characters 1 to 4 bytes wide in UTF-8; the last is 2 UTF-16 units wide. */
const wide = ['a', 'é', '€', '😀'];

forEachBackend('AIOFile', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  it('opens with the semantics of each mode', { timeout }, async () => {
    const missing = scratchPath();
    await assert.rejects(AIOFile.open(missing, 'r', { context }), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'ENOENT');
      assert.equal(error.path, missing);
      return true;
    });
    await assert.rejects(AIOFile.open(missing, 'r+', { context }), expectCode('ENOENT'));

    const existing = fileWith('0123456789');
    for (const [mode, after] of [
      ['r', '0123456789'],
      ['r+', 'ab23456789'],
      ['w', 'ab'],
      ['w+', 'ab'],
      ['a', '0123456789ab'],
      ['a+', '0123456789ab'],
    ] as const) {
      fs.writeFileSync(existing, '0123456789');
      const f = await AIOFile.open(existing, mode, { context });
      assert.equal(f.mode, mode);
      assert.equal(f.readable, mode === 'r' || mode.includes('+'));
      assert.equal(f.writable, mode !== 'r');
      if (f.writable) assert.equal(await f.write('ab', 0), 2);
      if (f.readable) assert.equal(await f.read(), after, mode);
      await f.close();
      assert.equal(fs.readFileSync(existing, 'utf8'), after, mode);
    }

    for (const mode of ['w', 'a', 'x', 'w+', 'a+', 'x+']) {
      const fresh = scratchPath();
      const f = await AIOFile.open(fresh, mode, { context });
      await f.write('new', 0);
      await f.close();
      assert.equal(fs.readFileSync(fresh, 'utf8'), 'new', mode);
      if (mode.startsWith('x')) await assert.rejects(AIOFile.open(fresh, mode, { context }), expectCode('EEXIST'));
    }
  });

  it('accepts a file URL and reports name, mode, fd, binary, closed', { timeout }, async () => {
    const file = fileWith('x');
    const f = await AIOFile.open(pathToFileURL(file), 'rb', { context });
    assert.equal(f.name, file);
    assert.equal(f.binary, true);
    assert.ok(f.fd >= 0);
    assert.equal(f.closed, false);
    assert.equal(f.context, context);
    await f.close();
    assert.equal(f.fd, -1);
    assert.equal(f.closed, true);
  });

  it('round-trips bytes at many offsets, text and binary', { timeout }, async () => {
    const f = await AIOFile.open(scratchPath(), 'w+b', { context });
    for (const [size, offset] of [
      [0, 0],
      [1, 0],
      [4097, 1],
      [65_536, 4095],
      [(1 << 20) + 3, 1 << 20],
      [10, 2 ** 33 + 1],
    ]) {
      const data = pattern(size, offset);
      assert.equal(await f.write(data, offset), size);
      const back = await f.read(size, offset);
      assert.ok(Buffer.isBuffer(back));
      assert.ok(back.equals(data), `${size} at ${offset}`);
      const into = new Uint8Array(size);
      assert.equal(await f.readInto(into, offset), size);
      assert.ok(Buffer.from(into).equals(data));
    }
    await f.close();

    const t = await AIOFile.open(scratchPath(), 'w+', { context });
    assert.equal(await t.write('héllo wörld', 3), 13);
    assert.equal(await t.read(-1, 3), 'héllo wörld');
    assert.deepEqual(await t.readBytes(3, 3), Buffer.from('hé'));
    assert.equal(await t.read(100, 100), '');
    assert.equal(await t.read(0, 0), '');
    await t.close();
  });

  it('small reads: each result its own bytes, kept together, concurrent or not; a transfer of one detaches no other', { timeout }, async () => {
    const data = pattern(1 << 20, 7);
    const f = await AIOFile.open(fileWith(data), 'rb', { context });
    // Sizes that fill and overflow the shared blocks small results are cut from, some reads short at the end.
    const wanted = Array.from({ length: 300 }, (_, i) => ({ size: 1 + ((i * 977) % 4096), offset: (i * 104_729) % (data.length + 2048) }));
    const one: Buffer[] = [];
    for (const { size, offset } of wanted) one.push(await f.read(size, offset));
    const together = await Promise.all(wanted.map(({ size, offset }) => f.read(size, offset)));
    for (const results of [one, together]) {
      wanted.forEach(({ size, offset }, i) => {
        assert.ok(results[i].equals(data.subarray(offset, offset + size)), `${size} at ${offset}`);
        // Where the addon can tell an address: each result starts on a cache line (the kernel's copy is faster there).
        if (results[i].length > 0) assert.ok((addressOf(results[i], 64) ?? 0) === 0, `${size} at ${offset}: its address`);
      });
    }
    const [a, b] = together;
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(a.buffer, [a.buffer as ArrayBuffer]);
    } catch {
      // Node 22 and later refuse the transfer (DataCloneError); Node 20 copies instead.
    }
    port1.close();
    port2.close();
    assert.ok(a.equals(data.subarray(wanted[0].offset, wanted[0].offset + wanted[0].size)), 'the result itself is intact');
    assert.ok(b.equals(data.subarray(wanted[1].offset, wanted[1].offset + wanted[1].size)), 'so is its neighbour');
    await f.close();
  });

  it('readInto and readvInto go on after a short read until the view is full: a FIFO whose writer sends the bytes in two parts', { timeout, skip: process.platform === 'win32' && 'FIFOs' }, async () => {
    const fifo = scratchPath('parts');
    execFileSync('mkfifo', [fifo]);
    const writer = fs.openSync(fifo, fs.constants.O_RDWR); // open both ends without waiting
    const f = await AIOFile.open(fifo, 'rb', { context });
    try {
      fs.writeSync(writer, Buffer.from('01234'));
      const whole = Buffer.alloc(10);
      const reading = f.readInto(whole, 0);
      setTimeout(() => fs.writeSync(writer, Buffer.from('56789')), 50);
      assert.equal(await reading, 10);
      assert.equal(whole.toString(), '0123456789');
      // The same across views: the second part fills the rest of the first view and the second.
      fs.writeSync(writer, Buffer.from('abc'));
      const views = [Buffer.alloc(4), Buffer.alloc(4)];
      const vectored = f[positionalIo]().readvInto!(views, 0);
      setTimeout(() => fs.writeSync(writer, Buffer.from('defgh')), 50);
      assert.equal(await vectored, 8);
      assert.equal(Buffer.concat(views).toString(), 'abcdefgh');
    } finally {
      await f.close();
      fs.closeSync(writer);
    }
  });

  it('reads to end of file, including files that report size 0', { timeout }, async () => {
    const big = pattern(300_000);
    const f = await AIOFile.open(fileWith(big), 'rb', { context });
    assert.ok((await f.read()).equals(big));
    assert.ok((await f.read(-1, 1000)).equals(big.subarray(1000)));
    assert.equal((await f.read(-1, 400_000)).length, 0);
    await f.close();
    const proc = await AIOFile.open('/proc/self/status', 'r', { context });
    assert.match(await proc.read(), /^Name:/);
    await proc.close();
  });

  it('never cuts a character at the end of a text read, in UTF-8 and UTF-16LE', { timeout }, async () => {
    for (const encoding of ['utf8', 'utf16le'] as const) {
      for (const char of wide) {
        for (let before = 0; before < 5; before++) {
          const text = 'x'.repeat(before) + char + 'yz';
          const f = await AIOFile.open(fileWith(Buffer.from(text, encoding)), 'r', { context, encoding });
          const width = Buffer.byteLength(char, encoding);
          const at = Buffer.byteLength('x'.repeat(before), encoding);
          for (let size = at + 1; size < at + width; size++) {
            assert.equal(await f.read(size, 0), text.slice(0, before) + char, `${encoding} ${char} size ${size}`);
          }
          // A file that ends inside a character decodes what is there.
          await f.close();
          const cut = Buffer.from(text, encoding).subarray(0, at + width - 1);
          const g = await AIOFile.open(fileWith(cut), 'r', { context, encoding });
          assert.equal(await g.read(at + 1, 0), cut.toString(encoding));
          await g.close();
        }
      }
    }
    const latin = await AIOFile.open(fileWith(Buffer.from('ÿþ', 'latin1')), 'r', { context, encoding: 'latin1' });
    assert.equal(await latin.read(1, 0), 'ÿ');
    await latin.close();
  });

  it('stats, truncates, syncs', { timeout }, async () => {
    const f = await AIOFile.open(fileWith('0123456789'), 'r+', { context });
    assert.equal((await f.stat()).size, 10);
    assert.equal((await f.stat({ bigint: true })).size, 10n);
    await f.truncate(4);
    assert.equal(await f.read(), '0123');
    await f.truncate();
    assert.equal((await f.stat()).size, 0);
    await f.write('abc', 0);
    await f.fsync();
    await f.fdatasync();
    await f.close();
  });

  it("reads and writes a view's memory whatever its own getters say after the checks, and close() still completes", { timeout }, async () => {
    const file = fileWith(pattern(64));
    const f = await AIOFile.open(file, 'r+b', { context });
    const view = new ThrowingAfterFirst(16);
    assert.equal(await f.readInto(view, 8), 16);
    assert.deepEqual(Buffer.from(view.buffer), pattern(64).subarray(8, 24));
    assert.equal(await f.write(new ThrowingAfterFirst(16), 0), 16);
    assert.deepEqual(fs.readFileSync(file).subarray(0, 16), Buffer.alloc(16));
    await f.close();
    assert.equal(f.closed, true);
  });

  it('rejects bad input before any I/O', { timeout }, async () => {
    const file = fileWith('abc');
    await assert.rejects(AIOFile.open(file, 'q', { context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(AIOFile.open(file, 'r++', { context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(AIOFile.open(file, 'rbt', { context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(AIOFile.open(file, 1 as never, { context }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(AIOFile.open(42 as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(AIOFile.open(file, 'r', { context, encoding: 'nope' }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(AIOFile.open(file, 'r', { context: {} as never }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(AIOFile.open(file, 'r', { bogus: 1 } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(AIOFile.open('a\0b', 'r', { context }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));

    const f = await AIOFile.open(file, 'r', { context });
    const before = context.stats().submitted;
    await assert.rejects(f.read(-2), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(f.read(1.5), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(f.read(1, -1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(f.read(1, 0.5), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(f.read('1' as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(f.readInto({} as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(f.write(5 as never, 0), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(f.truncate(-1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(f.write('x', 0), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'EBADF');
      assert.equal(error.syscall, 'write');
      assert.equal(error.path, file);
      assert.match(error.message, /mode 'r' is not writable/);
      return true;
    });
    await assert.rejects(f.truncate(0), expectCode('EBADF'));
    assert.equal(context.stats().submitted, before);
    await f.close();
    await assert.rejects(f.read(), (error: NodeJS.ErrnoException) => error.code === 'EBADF' && error.message === 'file closed');
    await assert.rejects(f.stat(), expectCode('EBADF'));
    await assert.rejects(f.fsync(), expectCode('EBADF'));

    const w = await AIOFile.open(scratchPath(), 'w', { context });
    await assert.rejects(w.read(), (error: Error) => /mode 'w' is not readable/.test(error.message));
    await w.close();
  });

  it('close() waits for operations in flight and is idempotent', { timeout }, async () => {
    const f = await AIOFile.open(scratchPath(), 'w+', { context });
    const writes = Array.from({ length: 64 }, (_, i) => f.write(pattern(4096, i), i * 4096));
    const fd = f.fd;
    const closing = f.close();
    assert.equal(f.close(), closing);
    await assert.rejects(f.write('late', 0), expectCode('EBADF'));
    assert.deepEqual(await Promise.all(writes), writes.map(() => 4096));
    await closing;
    assert.throws(() => fs.fstatSync(fd), expectCode('EBADF'));
  });

  it('closes with await using', { timeout }, async () => {
    let fd: number;
    {
      await using f = await AIOFile.open(fileWith('abc'), 'r', { context });
      fd = f.fd;
      assert.equal(await f.read(), 'abc');
    }
    assert.throws(() => fs.fstatSync(fd), expectCode('EBADF'));
  });

  it('closes a file the program forgot, when it is collected, with a warning as Node does', { timeout, skip: !gc && 'needs --expose-gc' }, async () => {
    let fd = -1;
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    await (async () => {
      const f = await AIOFile.open(fileWith('x'), 'r', { context });
      fd = f.fd;
      assert.equal(await f.read(), 'x');
    })();
    for (let i = 0; i < 20 && !fdClosed(fd); i++) {
      gc!();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.match((await warned).message, new RegExp(`Closing file descriptor ${fd} on garbage collection`));
    assert.ok(fdClosed(fd));
  });

  it('attaches the path to kernel errors', { timeout }, async () => {
    const dir = scratchPath('dir');
    fs.mkdirSync(dir);
    const f = await AIOFile.open(dir, 'r', { context });
    await assert.rejects(f.read(10, 0), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'EISDIR');
      assert.equal(error.path, dir);
      assert.equal(error.syscall, 'read');
      return true;
    });
    await f.close();
  });
});

forEachBackend('AIOFile under a file size limit', (backend) => {
  it('continues after a short write, then rejects with the error that stopped it', { timeout }, () => {
    const fixture = fileURLToPath(new URL('./fixtures/file-size-limit.js', import.meta.url));
    const dir = scratchPath('fsize');
    fs.mkdirSync(dir);
    const run = spawnSync('bash', ['-c', 'ulimit -f 4 && exec "$0" "$@"', process.execPath, fixture, backend, dir], {
      encoding: 'utf8',
      timeout,
    });
    assert.equal(run.status, 0, run.stderr);
    for (const result of JSON.parse(run.stdout)) {
      assert.deepEqual(result, { name: result.name, code: 'EFBIG', syscall: 'write', path: true, size: 4096 });
    }
  });
});
