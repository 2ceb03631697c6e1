/**
 * Metadata operations on IoContext: each compared with node:fs doing the same, results and
 * errors field by field, on every backend; the fallback of each one to the thread pool.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import fc from 'fast-check';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Op } from '../src/backend/backend.js';
import type { EngineBackend } from '../src/backend/engine.js';
import { createUringBackend } from '../src/backend/uring.js';
import { backends, createContext, IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { assertSameOutcome, expectCode } from './support/errors.js';
import { scratchPath } from './support/files.js';

const timeout = 20_000;

/** The same failure from aiofs and from node:fs. */
async function sameFailure(ours: Promise<unknown>, theirs: Promise<unknown>): Promise<void> {
  const nodeFailed = theirs.then(
    () => false,
    () => true,
  );
  await assertSameOutcome(ours, theirs);
  assert.ok(await nodeFailed, 'node:fs should fail here');
}

forEachBackend('IoContext metadata', (backend) => {
  let ctx: IoContext;
  let dir: string;
  before(() => {
    ctx = createContext({ backend });
    dir = scratchPath('meta');
    fs.mkdirSync(dir);
  });
  after(() => ctx.close());

  it('opens with node:fs flags and modes, close-on-exec, and closes', { timeout }, async () => {
    const file = path.join(dir, 'open');
    const fd = await ctx.open(file, 'wx', 0o640);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640 & ~process.umask());
    assert.match(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'), /flags:\s+0[2-7]\d{6}/, 'O_CLOEXEC');
    assert.equal(await ctx.write(fd, Buffer.from('abc'), 0), 3);
    await ctx.closeFd(fd);
    assert.throws(() => fs.fstatSync(fd), expectCode('EBADF'));
    const again = await ctx.open(pathToFileURL(file), fs.constants.O_RDWR | fs.constants.O_APPEND, '600');
    await ctx.write(again, Buffer.from('d'), 0);
    await ctx.closeFd(again);
    assert.equal(fs.readFileSync(file, 'utf8'), 'abcd');
    const readOnly = await ctx.open(Buffer.from(file));
    await ctx.closeFd(readOnly);

    await sameFailure(ctx.open(file, 'wx'), fsp.open(file, 'wx'));
    await sameFailure(ctx.open(path.join(dir, 'missing')), fsp.open(path.join(dir, 'missing')));
    await sameFailure(ctx.open(path.join(file, 'under-a-file')), fsp.open(path.join(file, 'under-a-file')));
    await sameFailure(ctx.open(dir, 'r+'), fsp.open(dir, 'r+'));
    await assert.rejects(ctx.closeFd(fd), expectCode('EBADF'));
  });

  it('stats paths, fds and links exactly as node:fs does', { timeout }, async () => {
    const file = path.join(dir, 'stat');
    fs.writeFileSync(file, 'x'.repeat(12345));
    const link = path.join(dir, 'stat-link');
    fs.symlinkSync('stat', link);
    assert.deepStrictEqual(await ctx.stat(file), fs.statSync(file));
    assert.deepStrictEqual(await ctx.stat(file, { bigint: true }), fs.statSync(file, { bigint: true }));
    assert.deepStrictEqual(await ctx.stat(link), fs.statSync(link));
    assert.deepStrictEqual(await ctx.lstat(link), fs.lstatSync(link));
    assert.deepStrictEqual(await ctx.stat(dir), fs.statSync(dir));
    assert.deepStrictEqual(await ctx.stat('/dev/null'), fs.statSync('/dev/null'));
    const fd = fs.openSync(file, 'r');
    assert.deepStrictEqual(await ctx.stat(fd, { bigint: true }), fs.fstatSync(fd, { bigint: true }));
    fs.closeSync(fd);
    const stats = await ctx.stat(file);
    assert.ok(stats.isFile() && !stats.isDirectory() && stats.size === 12345);
    assert.ok((await ctx.lstat(link)).isSymbolicLink());
    await sameFailure(ctx.stat(path.join(dir, 'nope')), fsp.stat(path.join(dir, 'nope')));
    await sameFailure(ctx.lstat(path.join(dir, 'nope')), fsp.lstat(path.join(dir, 'nope')));
    await assert.rejects(ctx.stat(fd), expectCode('EBADF'));
  });

  it('names files as node:fs does: UTF-8 strings (a lone surrogate as U+FFFD), bytes that are no UTF-8, paths too long', { timeout }, async () => {
    const text = path.join(dir, 'caf\u00e9 \u2713 \ud800');
    fs.writeFileSync(text, 'one');
    assert.deepStrictEqual(await ctx.stat(text), fs.statSync(text));
    assert.deepStrictEqual(await ctx.stat(Buffer.from(text)), fs.statSync(text));
    const bytes = Buffer.concat([Buffer.from(path.join(dir, 'raw-')), Buffer.from([0xff, 0xfe])]);
    fs.writeFileSync(bytes, 'two');
    assert.deepStrictEqual(await ctx.stat(bytes), fs.statSync(bytes));
    const renamed = path.join(dir, '\u00fcber');
    await ctx.rename(bytes, renamed);
    assert.equal(fs.readFileSync(renamed, 'utf8'), 'two');
    const fd = await ctx.open(text);
    assert.equal((await ctx.read(fd, Buffer.alloc(3), 0)), 3);
    await ctx.closeFd(fd);
    await ctx.unlink(text);
    assert.equal(fs.existsSync(text), false);
    const long = path.join(dir, '\u00e9'.repeat(2100)); // 4200 bytes, 2100 characters
    await sameFailure(ctx.stat(long), fsp.stat(long));
    await sameFailure(ctx.open(long), fsp.open(long));
    await sameFailure(ctx.rename(renamed, long), fsp.rename(renamed, long));
  });

  it('finds by any string the file node:fs made by that string (property: any UTF-16, lone surrogates too)', { timeout }, async () => {
    const names = fc
      .oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }), fc.string16bits({ minLength: 1, maxLength: 16 }))
      .filter((name) => !/[/\0]/.test(name) && name !== '.' && name !== '..');
    const home = path.join(dir, 'named');
    fs.mkdirSync(home);
    await fc.assert(
      fc.asyncProperty(names, fc.nat(64), async (name, size) => {
        const file = path.join(home, name);
        fs.writeFileSync(file, Buffer.alloc(size));
        assert.deepStrictEqual(await ctx.stat(file), fs.statSync(file));
        const fd = await ctx.open(file, 'r');
        assert.equal(await ctx.read(fd, Buffer.alloc(size + 1), 0), size);
        await ctx.closeFd(fd);
        await ctx.unlink(file);
        assert.equal(fs.existsSync(file), false);
      }),
      { numRuns: 150 },
    );
  });

  it('gives every one of many stats at once its own file, again and again (statx buffers are reused)', { timeout }, async () => {
    const many = path.join(dir, 'many');
    fs.mkdirSync(many);
    const files = Array.from({ length: 150 }, (_, i) => path.join(many, `f${i}`));
    files.forEach((file, i) => fs.writeFileSync(file, Buffer.alloc(i * 7)));
    for (let round = 0; round < 3; round++) {
      // An abandoned stat beside them: its buffer is the kernel's until its completion.
      const abandoned = new AbortController();
      const aborted = assert.rejects(ctx.stat(many, { signal: abandoned.signal }), expectCode('ABORT_ERR'));
      abandoned.abort();
      const sizes = await Promise.all(files.map(async (file, i) => (await ctx.stat(i % 2 ? file : Buffer.from(file), { bigint: i % 3 === 0 })).size));
      assert.deepEqual(sizes.map(Number), files.map((_, i) => i * 7));
      await aborted;
    }
  });

  it('renames, links, unlinks, makes and removes directories as node:fs does', { timeout }, async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'content');
    await ctx.rename(a, b);
    assert.equal(fs.readFileSync(b, 'utf8'), 'content');
    await sameFailure(ctx.rename(a, b), fsp.rename(a, b));
    await ctx.link(b, a);
    assert.equal(fs.statSync(a).nlink, 2);
    await sameFailure(ctx.link(b, a), fsp.link(b, a));
    const s = path.join(dir, 's');
    await ctx.symlink('b', s);
    assert.equal(fs.readlinkSync(s), 'b');
    await sameFailure(ctx.symlink('b', s), fsp.symlink('b', s));
    await ctx.unlink(s);
    await ctx.unlink(a);
    await sameFailure(ctx.unlink(a), fsp.unlink(a));
    const sub = path.join(dir, 'sub');
    await ctx.mkdir(sub, 0o750);
    assert.equal(fs.statSync(sub).mode & 0o777, 0o750 & ~process.umask());
    await sameFailure(ctx.mkdir(sub), fsp.mkdir(sub));
    await sameFailure(ctx.mkdir(path.join(dir, 'no', 'parents')), fsp.mkdir(path.join(dir, 'no', 'parents')));
    fs.writeFileSync(path.join(sub, 'f'), '');
    await sameFailure(ctx.rmdir(sub), fsp.rmdir(sub));
    await sameFailure(ctx.unlink(sub), fsp.unlink(sub));
    fs.unlinkSync(path.join(sub, 'f'));
    await ctx.rmdir(sub);
    assert.equal(fs.existsSync(sub), false);
    await sameFailure(ctx.rmdir(b), fsp.rmdir(b));
  });

  it('truncates and allocates', { timeout }, async () => {
    const file = path.join(dir, 'sizes');
    fs.writeFileSync(file, 'x'.repeat(100));
    const fd = fs.openSync(file, 'r+');
    await ctx.ftruncate(fd, 10);
    assert.equal(fs.fstatSync(fd).size, 10);
    await ctx.ftruncate(fd);
    assert.equal(fs.fstatSync(fd).size, 0);
    await ctx.fallocate(fd, 0, 4096, 8192);
    assert.equal(fs.fstatSync(fd).size, 4096 + 8192);
    fs.closeSync(fd);
    const readOnly = fs.openSync(file, 'r');
    await assert.rejects(ctx.ftruncate(readOnly, 1), (error: NodeJS.ErrnoException) => ['EINVAL', 'EBADF'].includes(error.code!));
    fs.closeSync(readOnly);
  });

  it('rejects bad arguments before any I/O, as node:fs does', { timeout }, async () => {
    const submitted = ctx.stats().submitted;
    await assert.rejects(ctx.open('a\0b'), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.open(42 as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.open(new URL('http://x/y') as never), expectCode('ERR_INVALID_URL_SCHEME', TypeError));
    await assert.rejects(ctx.open({ href: 'http://x/y', protocol: 'http:' } as never), expectCode('ERR_INVALID_URL_SCHEME', TypeError));
    await assert.rejects(ctx.open(dir, 'r', 2 ** 31), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.open(dir, 'q'), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.open(dir, 'r', '999'), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.open(dir, 'r', -1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.stat(dir, { bigint: 'yes' } as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.stat(dir, { follow: true } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.rename(dir, null as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.closeFd(-1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.fallocate(0, 0, 0, 0), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.ftruncate(0, -1), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.equal(ctx.stats().submitted, submitted);
  });

  it('aborts through a signal, before the call or after it', { timeout }, async () => {
    await assert.rejects(ctx.stat(dir, { signal: AbortSignal.abort() }), expectCode('ABORT_ERR'));
    // Aborted in the tick of the call: on aio the engine refuses a metadata operation (it goes to
    // the thread pool), and the abort, not that refusal, is what the caller gets.
    const controller = new AbortController();
    const pending = ctx.stat(dir, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, expectCode('ABORT_ERR'));
  });
});

it('re-runs on the thread pool every metadata operation the ring refuses', { timeout, skip: !backends()[0].available && 'uring unavailable' }, async () => {
  let backend: EngineBackend | undefined;
  const refuseOps = [Op.Open, Op.Close, Op.Stat, Op.Rename, Op.Unlink, Op.Mkdir, Op.Symlink, Op.Link, Op.Fallocate, Op.Ftruncate];
  const ctx = new IoContext((sink) => (backend = createUringBackend({ entries: 8, sqpoll: false, sqThreadIdle: 0, refuseOps }, sink)));
  const dir = scratchPath('fallback');
  await ctx.mkdir(dir);
  const file = path.join(dir, 'f');
  const fd = await ctx.open(file, 'w+');
  await ctx.ftruncate(fd, 10);
  await ctx.fallocate(fd, 0, 0, 20);
  assert.deepStrictEqual(await ctx.stat(fd), fs.fstatSync(fd));
  await ctx.closeFd(fd);
  await ctx.symlink('f', path.join(dir, 's'));
  await ctx.link(file, path.join(dir, 'h'));
  await ctx.rename(path.join(dir, 'h'), path.join(dir, 'h2'));
  assert.deepStrictEqual(await ctx.lstat(path.join(dir, 's')), fs.lstatSync(path.join(dir, 's')));
  for (const name of ['s', 'h2', 'f']) await ctx.unlink(path.join(dir, name));
  await ctx.rmdir(dir);
  assert.equal(fs.existsSync(dir), false);
  assert.equal(backend!.fallbacks, 14);
  await ctx.close();
});

it('an operation the ring refuses, aborted in the tick of its call, rejects with AbortError rather than the refusal', { timeout, skip: !backends()[0].available && 'uring unavailable' }, async () => {
  const ctx = new IoContext((sink) => createUringBackend({ entries: 8, sqpoll: false, sqThreadIdle: 0, refuseOps: [Op.Stat, Op.Open, Op.Read] }, sink));
  const fd = fs.openSync(process.execPath, 'r');
  try {
    const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
      ['stat', (signal) => ctx.stat(process.execPath, { signal })],
      ['open', (signal) => ctx.open(process.execPath, 'r', 0o666, { signal })],
      ['read', (signal) => ctx.read(fd, Buffer.alloc(16), 0, { signal })],
    ];
    for (const [name, call] of calls) {
      const controller = new AbortController();
      const pending = call(controller.signal);
      controller.abort();
      await assert.rejects(pending, expectCode('ABORT_ERR'), name);
      // Not aborted, the same operation runs on the thread pool.
      const done = await call(new AbortController().signal);
      if (name === 'open') await ctx.closeFd(done as number);
    }
  } finally {
    fs.closeSync(fd);
    await ctx.close();
  }
});
