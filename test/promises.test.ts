/**
 * aiofs/promises against node:fs/promises: the same calls on both, results and errors compared
 * field by field (message, code, errno, syscall, path, dest, class), on every backend.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replaceDefaultContext } from '../src/create-context.js';
import { backends, createContext, type IoContext } from '../src/index.js';
import aiofs, * as named from '../src/promises/index.js';
import { nodeAbortsOnRead } from '../src/promises/file-handle.js';
import { forEachBackend } from './support/backends.js';
import { assertSameOutcome, expectCode } from './support/errors.js';
import { pattern, scratchPath } from './support/files.js';
import { ThrowingAfterFirst, ThrowingByteLength } from './support/views.js';

const timeout = 30_000;
type Fs = typeof nodefs;
const theirs = nodefs as Fs;
const ours = aiofs as unknown as Fs;

it('exports every name node:fs/promises exports, and a default export with them', () => {
  for (const name of Object.keys(nodefs)) {
    assert.ok(name in named, `named export ${name}`);
    assert.ok(name in aiofs, `default export ${name}`);
  }
  assert.equal(named.readdir, nodefs.readdir, 'readdir is delegated');
  assert.equal(named.constants, nodefs.constants);
  assert.notEqual(named.readFile, nodefs.readFile);
});

forEachBackend('aiofs/promises', (backend) => {
  let context: IoContext;
  let dir: string;
  before(() => {
    context = createContext({ backend });
    replaceDefaultContext(context);
    dir = scratchPath('promises');
    fs.mkdirSync(dir);
  });
  after(async () => {
    replaceDefaultContext(undefined);
    await context.close();
  });

  /** Two fresh paths with the same content (or none), one for each implementation. */
  function pair(name: string, content?: string | Buffer): [string, string] {
    const paths = [path.join(dir, `ours-${name}`), path.join(dir, `theirs-${name}`)] as [string, string];
    if (content !== undefined) for (const p of paths) fs.writeFileSync(p, content);
    return paths;
  }

  /** Run `call` on both implementations, each with its own paths, and compare. */
  async function same(what: string, call: (fsys: Fs, p: string) => Promise<unknown>, [mine, node]: [string, string]): Promise<void> {
    const normalize = (p: string) => (error: Record<string, unknown>) => {
      // The two runs use different paths: name both the same way before comparing.
      for (const field of ['message', 'path', 'dest'] as const) {
        if (typeof error[field] === 'string') error[field] = (error[field] as string).replaceAll(p, '<path>');
      }
      throw error;
    };
    const rename = (p: string) => (value: unknown): unknown =>
      typeof value === 'string' ? value.replaceAll(p, '<path>') : Array.isArray(value) ? value.map(rename(p)) : value;
    await assertSameOutcome(
      call(ours, mine).then(rename(mine), normalize(mine)),
      call(theirs, node).then(rename(node), normalize(node)),
      what,
    );
  }

  it('readFile: bytes, encodings, flags, errors', { timeout }, async () => {
    const data = pattern(200_000);
    const files = pair('read', data);
    await same('buffer', (f, p) => f.readFile(p), files);
    await same('utf8', (f, p) => f.readFile(p, 'utf8'), files);
    await same('latin1 object', (f, p) => f.readFile(p, { encoding: 'latin1' }), files);
    await same('hex', (f, p) => f.readFile(p, { encoding: 'hex', flag: 'r+' }), files);
    await same('empty', (f, p) => f.readFile(p), pair('empty', ''));
    await same('missing', (f, p) => f.readFile(`${p}-missing`), files);
    await same('directory', (f) => f.readFile(dir), files);
    await same('bad encoding', (f, p) => f.readFile(p, { encoding: 'nope' as BufferEncoding }), files);
    await same('bad flag', (f, p) => f.readFile(p, { flag: 'q' }), files);
    await same('aborted', (f, p) => f.readFile(p, { signal: AbortSignal.abort() }), files);
    await same('proc', (f) => f.readFile('/proc/self/limits', 'utf8'), files);
  });

  it('writeFile and appendFile: data kinds, flags, modes, errors', { timeout }, async () => {
    const cases: [string, (f: Fs, p: string) => Promise<unknown>][] = [
      ['string', (f, p) => f.writeFile(p, 'héllo')],
      ['hex string', (f, p) => f.writeFile(p, 'cafe', 'hex')],
      ['buffer', (f, p) => f.writeFile(p, pattern(100_000))],
      ['uint16', (f, p) => f.writeFile(p, new Uint16Array([1, 2, 3]))],
      ['iterable', (f, p) => f.writeFile(p, ['a', Buffer.from('b'), 'c'])],
      ['async iterable', (f, p) => f.writeFile(p, (async function* () { yield 'x'; yield Buffer.from('y'); })())],
      ['mode', (f, p) => f.writeFile(p, 'm', { mode: 0o600 })],
      ['wx on existing', (f, p) => f.writeFile(p, 'x', { flag: 'wx' })],
      ['a flag', (f, p) => f.writeFile(p, 'tail', { flag: 'a' })],
      ['ax on existing', (f, p) => f.writeFile(p, 'tail', { flag: 'ax' })],
      ['append', (f, p) => f.appendFile(p, 'more')],
      ['append new', (f, p) => f.appendFile(`${p}-new`, 'fresh', 'utf8')],
      ['into a directory', (f) => f.writeFile(dir, 'x')],
      ['under a file', (f, p) => f.writeFile(path.join(p, 'x'), 'x')],
      ['bad data', (f, p) => f.writeFile(p, 42 as never)],
      ['an array of numbers', (f, p) => f.writeFile(p, [1, 2] as never)],
      ['an array of byte arrays', (f, p) => f.writeFile(p, [[65, 66], [67]] as never)],
      ['an iterable of nulls', (f, p) => f.writeFile(p, [null] as never)],
      ['aborted', (f, p) => f.writeFile(p, 'x', { signal: AbortSignal.abort() })],
    ];
    for (const [what, call] of cases) {
      const files = pair(what.replaceAll(' ', '-'), 'start');
      await same(what, call, files);
      const [mine, node] = files;
      for (const suffix of ['', '-new']) {
        if (!fs.existsSync(node + suffix)) continue;
        assert.ok(fs.readFileSync(mine + suffix).equals(fs.readFileSync(node + suffix)), `${what}: contents`);
        assert.equal(fs.statSync(mine + suffix).mode, fs.statSync(node + suffix).mode, `${what}: mode`);
      }
    }
  });

  it('open: every flag, and the FileHandle read/write overloads', { timeout }, async () => {
    for (const flag of ['r', 'r+', 'rs', 'sr', 'rs+', 'sr+', 'w', 'wx', 'xw', 'w+', 'wx+', 'xw+', 'a', 'ax', 'xa', 'as', 'sa', 'a+', 'ax+', 'xa+', 'as+', 'sa+']) {
      for (const exists of [true, false]) {
        const files = pair(`open-${flag}-${exists}`, exists ? '0123456789' : undefined);
        await same(`open ${flag} ${exists}`, async (f, p) => {
          const handle = await f.open(p, flag);
          const results: unknown[] = [];
          try {
            results.push(await handle.write('ab', null, 'utf8').then((r) => r.bytesWritten, (e: Error) => (e as NodeJS.ErrnoException).code));
            results.push(await handle.read(Buffer.alloc(4), 0, 4, 0).then((r) => r.buffer.toString(), (e: Error) => (e as NodeJS.ErrnoException).code));
          } finally {
            await handle.close();
          }
          results.push(fs.readFileSync(p, 'utf8'));
          return results;
        }, files);
      }
    }
    const files = pair('overloads', '0123456789abcdef');
    await same('read overloads', async (f, p) => {
      const handle = await f.open(p, 'r+');
      try {
        const a = await handle.read(Buffer.alloc(4), 1, 2, 3);
        const b = await handle.read({ buffer: Buffer.alloc(3), position: 5 });
        const c = await handle.read(Buffer.alloc(2), { position: 8 });
        const d = await handle.read(Buffer.alloc(3), 0, 3, null);
        const e = await handle.read(Buffer.alloc(3), 0, 3, null);
        const g = await handle.read();
        const w1 = await handle.write(Buffer.from('XY'), 0, 2, 4);
        const w2 = await handle.write('Z', 9);
        const w3 = await handle.write(Buffer.from('--'), { position: 12 } as never);
        const v = await handle.readv([Buffer.alloc(2), Buffer.alloc(3)], 1);
        const wv = await handle.writev([Buffer.from('q'), Buffer.from('rs')], 14);
        return [a, b, c, d, e, g.bytesRead, w1, w2, w3, v, wv, fs.readFileSync(p, 'latin1')];
      } finally {
        await handle.close();
      }
    }, files);
  });

  it('FileHandle.read(buffer, offset, length, position): the common call\'s own path agrees with the general one, and with node:fs', { timeout }, async () => {
    // read(typedArray, offset, length, position) with integers in range on an open handle has a
    // path of its own, its checks inline; the options form takes the general path. Any arguments,
    // open handle or closed, in either form: the outcome node:fs has in the same form. (The two
    // forms are not alike in Node itself: read(b, 2n) says the offset is no number, where
    // read(b, { offset: 2n }) fails computing its default length.) A length that is not an
    // integer aborts Node before 24 in its binding; aiofs takes it as Node 24 does, `length | 0`,
    // and so node:fs is given it here on those releases.
    const asNode24 = (view: ArrayBufferView, offset: unknown, length: unknown, position: unknown) =>
      Number(process.versions.node.split('.')[0]) < 24 && nodeAbortsOnRead(view, offset, length, position) ? (length as number) | 0 : length;
    const [mine, node] = pair('read-arguments', '0123456789abcdef');
    const handlesOf = async (fsys: Fs, file: string) => {
      const [direct, general, closed] = [await fsys.open(file, 'r'), await fsys.open(file, 'r'), await fsys.open(file, 'r')];
      await closed.close();
      return { direct, general, closed };
    };
    const [mineHandles, nodeHandles] = [await handlesOf(ours, mine), await handlesOf(theirs, node)];
    const buffers: Record<string, () => ArrayBufferView> = {
      buffer: () => Buffer.alloc(8),
      empty: () => Buffer.alloc(0),
      uint16: () => new Uint16Array(4),
      float64: () => new Float64Array(1),
      dataView: () => new DataView(new ArrayBuffer(8)),
    };
    const numbers = [0, 1, 3, 4, 7, 8, 9, 16, 17, -1, -2, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53 - 1, 2 ** 53];
    const argument = fc.oneof(
      { arbitrary: fc.constantFrom<unknown>(...numbers, null, undefined, '1', 2n), weight: 1 },
      { arbitrary: fc.integer({ min: -2, max: 10 }), weight: 3 },
    );
    const bytes = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');
    type Read = (...args: unknown[]) => Promise<{ bytesRead: number; buffer: ArrayBufferView }>;
    const outcome = (handle: nodefs.FileHandle, kind: string, args: (view: ArrayBufferView) => unknown[]) => {
      const view = buffers[kind]();
      return (handle.read as Read).apply(handle, args(view)).then((r) => [r.bytesRead, r.buffer === view, Object.getPrototypeOf(r), bytes(view)]);
    };
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(buffers)), argument, argument, argument, fc.boolean(), async (kind, offset, length, position, isClosed) => {
          const what = `(${kind}, ${String(offset)}, ${String(length)}, ${String(position)})${isClosed ? ', closed' : ''}`;
          const [a, b] = [mineHandles, nodeHandles].map((h) => (isClosed ? [h.closed, h.closed] : [h.direct, h.general]));
          const direct = (node: boolean) => (view: ArrayBufferView) => [view, offset, node && !isClosed ? asNode24(view, offset, length, position) : length, position];
          const options = (node: boolean) => (view: ArrayBufferView) => [view, { offset, length: node && !isClosed ? asNode24(view, offset, length, position) : length, position }];
          await assertSameOutcome(outcome(a[0], kind, direct(false)), outcome(b[0], kind, direct(true)), `read${what}`);
          await assertSameOutcome(outcome(a[1], kind, options(false)), outcome(b[1], kind, options(true)), `read with options${what}`);
        }),
        { numRuns: 500 },
      );
    } finally {
      for (const h of [mineHandles, nodeHandles]) {
        await h.direct.close();
        await h.general.close();
      }
    }
    // Arguments every Node version takes alike, against node:fs itself (null and -1: the cursor).
    const handles = [await ours.open(mine, 'r'), await theirs.open(node, 'r')];
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 7 }).chain((offset) => fc.tuple(fc.constant(offset), fc.integer({ min: 1, max: 8 - offset }))),
          fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom(null, -1)),
          async ([offset, length], position) => {
            const [a, b] = handles.map((handle) => outcome(handle, 'buffer', (view) => [view, offset, length, position]));
            await assertSameOutcome(a, b, `read(buffer, ${offset}, ${length}, ${position})`);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      for (const handle of handles) await handle.close();
    }
  });

  it("FileHandle.read and write: a view whose own getters throw or claim more than it has gets a rejection, never a throw or a close that waits forever", { timeout }, async () => {
    const [mine, node] = pair('own-getters', pattern(8192));
    class Claiming extends Uint8Array {
      override get byteLength(): number {
        return 2 * super.byteLength;
      }
    }
    for (const [fsys, file] of [[ours, mine], [theirs, node]] as const) {
      const handle = await fsys.open(file, 'r+');
      for (const call of [() => handle.read(new ThrowingByteLength(8), 0, 8, 0), () => handle.read(new ThrowingByteLength(8), { position: 0 })]) {
        const pending = call();
        assert.ok(pending instanceof Promise, 'a promise, not a throw');
        await assert.rejects(pending, /a getter of its own/);
      }
      await handle.close();
    }
    const handle = await ours.open(mine, 'r+');
    for (const length of [8, 4]) {
      // Truthful to the checks, then throwing: the library must not ask it again.
      const view = new ThrowingAfterFirst(8);
      assert.equal((await handle.read(view, 0, length, 8)).bytesRead, length);
      assert.deepEqual(Buffer.from(view.buffer, 0, length), pattern(8192).subarray(8, 8 + length));
    }
    // Node's own binding would abort the process on these: only ours is asked.
    await assert.rejects(handle.read(new Claiming(8), 0, 16, 0), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(handle.read(new Claiming(8), { position: 0 }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(handle.write(new Claiming(8), 0, 16, 0), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    assert.equal((await handle.read(new Claiming(8), 0, 8, 0)).bytesRead, 8);
    await handle.close();
  });

  it('FileHandle: position-less writes from concurrent callers land in call order', { timeout }, async () => {
    const [mine] = pair('concurrent');
    const handle = await named.open(mine, 'w');
    const parts = Array.from({ length: 200 }, (_, i) => pattern(1 + ((i * 97) % 5000), i));
    await Promise.all(parts.map((part) => handle.write(part)));
    await handle.close();
    assert.ok(fs.readFileSync(mine).equals(Buffer.concat(parts)));
  });

  it('FileHandle: readFile, writeFile, stat, truncate, sync, streams, readLines, close', { timeout }, async () => {
    const files = pair('handle', 'line one\r\nline two\nthree');
    await same('handle methods', async (f, p) => {
      const handle = await f.open(p, 'r+');
      const out: unknown[] = [];
      out.push(await handle.readFile('utf8'));
      out.push(await handle.readFile({ encoding: 'utf8' }));
      await handle.writeFile('appended');
      out.push((await handle.stat()).size);
      await handle.truncate(5);
      await handle.sync();
      await handle.datasync();
      out.push((await handle.stat({ bigint: true })).size);
      await handle.close();
      out.push(await handle.close().then(() => 'closed twice'));
      out.push(await handle.read(Buffer.alloc(1), 0, 1, 0).catch((e: NodeJS.ErrnoException) => [e.message, e.code, e.syscall, e.errno]));
      out.push(handle.fd);
      return out;
    }, files);
    await same('readLines', async (f, p) => {
      const handle = await f.open(p);
      const lines: string[] = [];
      for await (const line of handle.readLines()) lines.push(line);
      return lines;
    }, pair('lines', 'a\r\nb\n\nc'));
    await same('streams', async (f, p) => {
      const handle = await f.open(p);
      const chunks: Buffer[] = [];
      for await (const chunk of handle.createReadStream({ start: 2, end: 9 })) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }, pair('stream', pattern(100)));
  });

  it('stat, lstat, rename, link, symlink, unlink, rmdir, mkdir, rm, copyFile, truncate', { timeout }, async () => {
    const files = pair('meta', 'content');
    await same('stat', (f, p) => f.stat(p).then((s) => [s.size, s.mode, s.isFile()]), files);
    await same('stat bigint', (f, p) => f.stat(p, { bigint: true }).then((s) => [s.size, s.mode]), files);
    await same('stat missing', (f, p) => f.stat(`${p}-x`), files);
    await same('lstat missing', (f, p) => f.lstat(`${p}-x`), files);
    await same('stat under a file', (f, p) => f.stat(path.join(p, 'x')), files);
    await same('symlink', async (f, p) => {
      await f.symlink(path.basename(p), `${p}-link`);
      return [(await f.lstat(`${p}-link`)).isSymbolicLink(), (await f.stat(`${p}-link`)).size];
    }, files);
    await same('symlink exists', (f, p) => f.symlink('x', `${p}-link`), files);
    await same('link', async (f, p) => {
      await f.link(p, `${p}-hard`);
      return (await f.stat(p)).nlink;
    }, files);
    await same('link exists', (f, p) => f.link(p, `${p}-hard`), files);
    await same('rename', (f, p) => f.rename(`${p}-hard`, `${p}-moved`), files);
    await same('rename missing', (f, p) => f.rename(`${p}-hard`, `${p}-moved`), files);
    await same('unlink', (f, p) => f.unlink(`${p}-moved`), files);
    await same('unlink missing', (f, p) => f.unlink(`${p}-moved`), files);
    await same('mkdir', (f, p) => f.mkdir(`${p}-d`), files);
    await same('mkdir exists', (f, p) => f.mkdir(`${p}-d`), files);
    await same('mkdir no parent', (f, p) => f.mkdir(`${p}-d/a/b`), files);
    await same('mkdir recursive', (f, p) => f.mkdir(`${p}-d/a/b/c`, { recursive: true }), files);
    await same('mkdir recursive exists', (f, p) => f.mkdir(`${p}-d/a/b`, { recursive: true }), files);
    await same('mkdir recursive file in the way', (f, p) => f.mkdir(`${p}/sub`, { recursive: true }), files);
    await same('mkdir recursive on a file', (f, p) => f.mkdir(p, { recursive: true }), files);
    await same('rmdir not empty', (f, p) => f.rmdir(`${p}-d/a`), files);
    await same('rmdir a file', (f, p) => f.rmdir(p), files);
    await same('rm a directory without recursive', (f, p) => f.rm(`${p}-d`), files);
    await same('rm recursive', (f, p) => f.rm(`${p}-d`, { recursive: true }), files);
    await same('rm missing', (f, p) => f.rm(`${p}-d`), files);
    await same('rm missing, force', (f, p) => f.rm(`${p}-d`, { force: true }), files);
    for (const last of ['..', '.', '../', './']) {
      await same(`rm recursive of dir/${last}`, async (f, p) => {
        fs.mkdirSync(`${p}-top/dir/sub`, { recursive: true });
        fs.writeFileSync(`${p}-top/keep`, 'k');
        const outcome = await f.rm(`${p}-top/dir/${last}`, { recursive: true }).catch((error: Error) => String(error));
        const left = fs.existsSync(`${p}-top`) ? fs.readdirSync(`${p}-top`, { recursive: true }).sort() : 'gone';
        fs.rmSync(`${p}-top`, { recursive: true, force: true });
        return [outcome, left];
      }, files);
    }
    await same('rmdir', async (f, p) => {
      await f.mkdir(`${p}-e`);
      await f.rmdir(`${p}-e`);
    }, files);
    fs.chmodSync(files[0], 0o640);
    fs.chmodSync(files[1], 0o640);
    await same('copyFile', async (f, p) => {
      await f.copyFile(p, `${p}-copy`);
      const s = await f.stat(`${p}-copy`);
      return [await f.readFile(`${p}-copy`, 'utf8'), s.mode];
    }, files);
    await same('copyFile excl', (f, p) => f.copyFile(p, `${p}-copy`, fs.constants.COPYFILE_EXCL), files);
    await same('copyFile missing', (f, p) => f.copyFile(`${p}-x`, `${p}-copy`), files);
    await same('copyFile ficlone', (f, p) => f.copyFile(p, `${p}-clone`, fs.constants.COPYFILE_FICLONE), files);
    await same('copyFile onto an empty file', async (f, p) => {
      fs.writeFileSync(`${p}-empty`, '');
      await f.copyFile(p, `${p}-empty`);
      return f.readFile(`${p}-empty`, 'utf8');
    }, files);
    // Onto a character device (a node of /dev/null's kind, made here where mknod is allowed):
    // libuv truncates the destination, the device refuses with EINVAL, and the node is removed.
    const made = files.map((p) => spawnSync('mknod', ['-m', '666', `${p}-device`, 'c', '1', '3']).status === 0);
    if (made.every(Boolean)) {
      await same('copyFile onto a character device', async (f, p) => {
        const outcome = await f.copyFile(p, `${p}-device`).catch((error: Error) => error);
        return [String(outcome), fs.existsSync(`${p}-device`)];
      }, files);
    }
    await same('truncate', async (f, p) => {
      await f.truncate(p, 3);
      return f.readFile(p, 'utf8');
    }, files);
    await same('truncate missing', (f, p) => f.truncate(`${p}-x`), files);
    await same('access', (f, p) => f.access(p), files);
    await same('readdir', (f) => f.readdir(dir).then((names) => names.length > 0), files);
  });

  it('validates arguments as Node does', { timeout }, async () => {
    const files = pair('args', 'x');
    await same('open bad mode', (f, p) => f.open(p, 'r', 'zz'), files);
    await same('open bad flags', (f, p) => f.open(p, 'q'), files);
    await same('path with NUL', (f) => f.readFile('a\0b'), files);
    await same('path of wrong type', (f) => f.stat(42 as never), files);
    await assert.rejects(named.readFile(42 as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  });
});

it(
  'fails with the same EACCES errors as node:fs under an identity without permission',
  { timeout, skip: process.getuid?.() !== 0 && 'needs root, to drop to an unprivileged identity' },
  () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-eacces-'));
    try {
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, 'secret'), 's', { mode: 0o600 });
      fs.mkdirSync(path.join(dir, 'closed'), { mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'closed', 'file'), 'f');
      fs.mkdirSync(path.join(dir, 'open'), { mode: 0o755 });
      const available = backends().filter((b) => b.available).map((b) => b.name);
      const fixture = fileURLToPath(new URL('./fixtures/promises-eacces.js', import.meta.url));
      const run = spawnSync(process.execPath, [fixture, dir, ...available], { encoding: 'utf8', timeout });
      assert.equal(run.status, 0, run.stderr);
      const report = JSON.parse(run.stdout) as Record<string, { differences: string[]; codes: string[] }>;
      for (const name of available) {
        assert.deepEqual(report[name].differences, [], name);
        assert.ok(report[name].codes.every((code) => code === 'EACCES'), `${name}: ${report[name].codes}`);
      }
      assert.equal(fs.readFileSync(path.join(dir, 'secret'), 'utf8'), 's');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
