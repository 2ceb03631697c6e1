/**
 * The defects hostile testing found in aiofs/promises (issue 45), each against node:fs/promises
 * on the same input, on every backend: each of these failed before its fix. The random sequences
 * of test/differential.test.ts look for the ones nobody has thought of yet.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type nodefs from 'node:fs/promises';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { replaceDefaultContext } from '../src/create-context.js';
import { createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { aiofsPromises, nodePromises } from './support/implementations.js';
import { scratchPath } from './support/files.js';

const timeout = 30_000;
type Fs = typeof nodefs;
const both: [string, Fs][] = [
  ['node:fs', nodePromises],
  ['aiofs', aiofsPromises],
];

/** A directory per implementation, each made by `setup`; the two outcomes of `call` and what `inspect` then sees. */
async function sameIn<T>(setup: (dir: string) => void, call: (f: Fs, dir: string) => Promise<unknown>, inspect: (dir: string) => T): Promise<void> {
  const seen: { outcome: unknown; after: T }[] = [];
  for (const [, f] of both) {
    const dir = scratchPath('twin');
    fs.mkdirSync(dir);
    setup(dir);
    const outcome = await call(f, dir).then(
      (value) => ({ value: value === undefined ? 'undefined' : typeof value }),
      (error: NodeJS.ErrnoException) => ({ code: error.code, syscall: error.syscall, message: error.message.replaceAll(dir, '<dir>') }),
    );
    seen.push({ outcome, after: inspect(dir) });
  }
  assert.deepEqual(seen[1], seen[0]);
}

forEachBackend('aiofs/promises: the defects hostile testing found, against node:fs', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
    replaceDefaultContext(context);
  });
  after(async () => {
    replaceDefaultContext(undefined);
    await context.close();
  });

  it('copyFile onto the same file, by its name, a hard link or a symbolic link, leaves it whole', { timeout }, async () => {
    const setup = (dir: string) => {
      fs.writeFileSync(path.join(dir, 'f'), 'precious');
      fs.linkSync(path.join(dir, 'f'), path.join(dir, 'hard'));
      fs.symlinkSync('f', path.join(dir, 'soft'));
    };
    for (const target of ['f', 'hard', 'soft']) {
      await sameIn(setup, (f, dir) => f.copyFile(path.join(dir, 'f'), path.join(dir, target)), (dir) => fs.readFileSync(path.join(dir, 'f'), 'utf8'));
    }
    for (const [, f] of both) {
      const dir = scratchPath('copy-self');
      fs.mkdirSync(dir);
      setup(dir);
      await f.copyFile(path.join(dir, 'soft'), path.join(dir, 'hard'));
      assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'precious');
    }
  });

  it("rm of a symbolic link to a directory, named with a trailing slash, recursive, leaves the target's entries", { timeout }, async () => {
    const setup = (dir: string) => {
      fs.mkdirSync(path.join(dir, 'target'));
      fs.writeFileSync(path.join(dir, 'target', 'keep'), 'x');
      fs.symlinkSync('target', path.join(dir, 'link'));
    };
    const inspect = (dir: string) => [fs.readdirSync(path.join(dir, 'target')), fs.existsSync(path.join(dir, 'link'))];
    await sameIn(setup, (f, dir) => f.rm(`${path.join(dir, 'link')}/`, { recursive: true }), inspect);
    await sameIn(setup, (f, dir) => f.rm(path.join(dir, 'link'), { recursive: true }), inspect);
    await sameIn(setup, (f, dir) => f.rm(`${path.join(dir, 'link')}/`, { recursive: true, force: true }), inspect);
  });

  it('writev of more buffers than IOV_MAX (1,024) writes every one, at a position and at the file\'s own', { timeout }, async () => {
    for (const position of [undefined, 0, 10]) {
      await sameIn(
        (dir) => fs.writeFileSync(path.join(dir, 'v'), 'before'),
        async (f, dir) => {
          const handle = await f.open(path.join(dir, 'v'), 'r+');
          try {
            const buffers = Array.from({ length: 2500 }, (_, i) => Buffer.from([97 + (i % 26)]));
            return (await handle.writev(buffers, position)).bytesWritten;
          } finally {
            await handle.close();
          }
        },
        (dir) => fs.readFileSync(path.join(dir, 'v')).toString('latin1'),
      );
    }
  });

  it("after a write on an 'a+' handle, a read at null reads from the file's own position (its end): 0 bytes", { timeout }, async () => {
    const results: unknown[] = [];
    for (const [, f] of both) {
      const file = scratchPath('append');
      fs.writeFileSync(file, '0123456789');
      const handle = await f.open(file, 'a+');
      await handle.write('TAIL');
      const { bytesRead } = await handle.read(Buffer.alloc(20), 0, 20, null);
      const whole = await handle.read(Buffer.alloc(20), 0, 20, 0);
      results.push([bytesRead, whole.bytesRead, whole.buffer.subarray(0, whole.bytesRead).toString()]);
      await handle.close();
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[0], [0, 14, '0123456789TAIL']);
  });

  it("a handle's position is the fd's: reads at null and the synchronous API on handle.fd go on from each other", { timeout }, async () => {
    const results: unknown[] = [];
    for (const [, f] of both) {
      const file = scratchPath('shared-position');
      fs.writeFileSync(file, 'abcdefghij');
      const handle = await f.open(file, 'r');
      const first = (await handle.read(Buffer.alloc(3), 0, 3, null)).buffer.toString();
      const sync = Buffer.alloc(3);
      fs.readSync(handle.fd, sync, 0, 3, null);
      const third = (await handle.read(Buffer.alloc(3), 0, 3, null)).buffer.toString();
      results.push([first, sync.toString(), third, (await handle.readFile('utf8'))]);
      await handle.close();
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[0], ['abc', 'def', 'ghi', 'j']);
  });

  it("readFile of Node's own FileHandle reads it, as node:fs does", { timeout }, async () => {
    const file = scratchPath('node-handle');
    fs.writeFileSync(file, 'from a Node FileHandle');
    const handle = await nodePromises.open(file, 'r');
    try {
      assert.equal(await aiofsPromises.readFile(handle as never, 'utf8'), 'from a Node FileHandle');
    } finally {
      await handle.close();
    }
  });

  it('the argument cases that differed end as node:fs ends them', { timeout }, async () => {
    const file = scratchPath('arguments');
    fs.writeFileSync(file, 'abcdefghijklmnop');
    const calls: [string, (f: Fs) => Promise<unknown>][] = [];
    for (const position of [-2, 1.5, NaN, 2 ** 53, 5n, '3', true]) {
      const at = position as number;
      calls.push([`read at ${String(position)}`, (f) => withHandle(f, file, (h) => h.read(Buffer.alloc(4), 0, 4, at))]);
      calls.push([`write at ${String(position)}`, (f) => withHandle(f, file, (h) => h.write(Buffer.from('XY'), 0, 2, at))]);
      calls.push([`readv at ${String(position)}`, (f) => withHandle(f, file, (h) => h.readv([Buffer.alloc(2)], at))]);
      calls.push([`writev at ${String(position)}`, (f) => withHandle(f, file, (h) => h.writev([Buffer.from('Z')], at))]);
    }
    calls.push(['readv([])', (f) => withHandle(f, file, (h) => h.readv([]))]);
    calls.push(['stat bigint: 1', (f) => f.stat(file, { bigint: 1 } as never).then((s) => typeof s.size)]);
    calls.push(['a URL-like object', (f) => f.stat({ href: `file://${file}`, protocol: 'file:', pathname: file } as never).then((s) => s.size)]);
    calls.push(['an http: URL', (f) => f.stat(new URL('http://example.com/x'))]);
    calls.push(["symlink type 'junk'", (f) => f.symlink('x', scratchPath('junk-link'), 'junk')]);
    calls.push(["rm maxRetries 'x'", (f) => f.rm(scratchPath('nothing'), { force: true, maxRetries: 'x' } as never)]);
    calls.push(['mkdir -p through a link to nothing', (f) => f.mkdir(danglingLink(), { recursive: true })]);
    for (const [what, call] of calls) {
      const outcomes = [];
      for (const [, f] of both) {
        fs.writeFileSync(file, 'abcdefghijklmnop');
        outcomes.push(
          await call(f).then(
            (value) => ({ value: JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)), file: fs.readFileSync(file, 'latin1') }),
            (error: NodeJS.ErrnoException) => ({ code: error.code, message: error.message.replace(/\d+-\d+-link-\d+/, 'link'), file: fs.readFileSync(file, 'latin1') }),
          ),
        );
      }
      assert.deepEqual(outcomes[1], outcomes[0], what);
    }
    // A mode node:fs would take and then abort the process on: refused, the file unchanged.
    await assert.rejects(aiofsPromises.chmod(file, 2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
    await assert.rejects(withHandle(aiofsPromises, file, (h) => h.chmod(2 ** 31)), { code: 'ERR_OUT_OF_RANGE' });
    assert.notEqual(fs.statSync(file).mode & 0o777, 0);
  });

  it('readFile refuses a file larger than a Buffer holds once it has read at most its first chunk; a handle\'s, before any read', { timeout }, async () => {
    const file = scratchPath('sparse-3g');
    fs.writeFileSync(file, 'head');
    fs.truncateSync(file, 3 * 2 ** 30);
    const before = context.stats().submitted;
    await assert.rejects(aiofsPromises.readFile(file), { code: 'ERR_FS_FILE_TOO_LARGE' });
    assert.ok(context.stats().submitted - before <= 4, `${context.stats().submitted - before} operations to refuse it`);
    const results: unknown[] = [];
    for (const [, f] of both) {
      const handle = await f.open(file, 'r');
      const refused = await handle.readFile().then(() => 'read', (error: NodeJS.ErrnoException) => error.code);
      const next = (await handle.read(Buffer.alloc(4), 0, 4, null)).buffer.toString();
      results.push([refused, next]);
      await handle.close();
    }
    assert.deepEqual(results[1], results[0]);
    assert.deepEqual(results[0], ['ERR_FS_FILE_TOO_LARGE', 'head']);
  });
});

let links = 0;
function danglingLink(): string {
  const link = scratchPath(`link-${links++}`);
  fs.symlinkSync('nowhere', link);
  return link;
}

async function withHandle<T>(f: Fs, file: string, use: (handle: Awaited<ReturnType<Fs['open']>>) => Promise<T>): Promise<T> {
  const handle = await f.open(file, 'r+');
  try {
    return await use(handle);
  } finally {
    await handle.close();
  }
}
