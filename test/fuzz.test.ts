/**
 * Bad input, property-based (fast-check): every public call with generated arguments (wrong
 * types, NaN, negative, huge and fractional numbers, bigints, detached and empty buffers, odd
 * options, closed files and contexts) either succeeds or rejects with an error whose `code` is
 * one we document (Node's ERR_*, a kernel E*, ABORT_ERR); nothing throws synchronously from a
 * promise-returning call, crashes or hangs. Paths stay inside the scratch directory, and fds are
 * ours or surely not open (never a small number that might be stdio or libuv's own).
 * AIOFS_FUZZ_RUNS scales the run: 300 per property in npm test, 20,000 in `npm run fuzz`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { after, before, it } from 'node:test';
import { AIOFile, allocAligned, asyncOpen, createContext, LineReader, Reader, Writer, type IoContext } from '../src/index.js';
import * as promises from '../src/promises/index.js';
import { replaceDefaultContext } from '../src/create-context.js';
import { forEachBackend } from './support/backends.js';
import { pattern, scratchPath } from './support/files.js';

const runs = Number(process.env.AIOFS_FUZZ_RUNS ?? 300);
const timeout = 600_000;
const DOCUMENTED = /^(ERR_[A-Z_]+|E[A-Z0-9]+|ABORT_ERR)$/;

/** A view whose ArrayBuffer was transferred away afterwards. */
function detachedView(): Uint8Array {
  const view = new Uint8Array(8);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** Stands for a detached view in generated values; made at call time (fast-check cannot print one). */
const DETACHED = Symbol('a view of a detached ArrayBuffer');
const real = (value: unknown): unknown => (value === DETACHED ? detachedView() : value);

/** Values of every kind a careless caller might pass. */
const junk = fc.oneof(
  fc.integer(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53, 2 ** 64, -1, 0.5, 1e300),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(undefined, null, true, false, Symbol('s'), () => 1, new Date(0), /re/),
  fc.constantFrom(new Uint8Array(0), new Uint8Array(new ArrayBuffer(0)), Buffer.alloc(3), new DataView(new ArrayBuffer(4))),
  fc.constant(DETACHED),
  fc.array(fc.oneof(fc.integer(), fc.constant(Buffer.alloc(2))), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('signal', 'bigint', 'class', 'encoding', 'flag', 'mode', 'x'), fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(AbortSignal.abort())), { maxKeys: 3 }),
);

/**
 * aiofs/promises hands a call it does not take itself to node:fs/promises, whose errors are then
 * Node's own: one without a code (a TypeError from a detached view's own method) is accepted when
 * node:fs/promises raises it too for the same arguments.
 */
async function nodeAlike(ours: () => Promise<unknown>, theirs: () => Promise<unknown>): Promise<unknown> {
  try {
    return await ours();
  } catch (error) {
    if ((error as { code?: unknown }).code !== undefined) throw error;
    const node = await theirs().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (node?.message === (error as Error).message && node.constructor === (error as Error).constructor) return 'rejected as node:fs rejects';
    throw error;
  }
}

/** Await `call()` (bounded) and check how it ended. */
async function endsWell(what: string, call: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    // Constructors and synchronous getters may throw, with a documented code.
    const code = (error as { code?: unknown })?.code;
    assert.match(String(code), DOCUMENTED, `${what} threw ${error}`);
    return;
  }
  if (!(result instanceof Promise)) return;
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    result.then(
      () => 'resolved',
      (error: unknown) => error,
    ),
    new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 10_000))),
  ]);
  clearTimeout(timer);
  assert.notEqual(settled, 'hung', `${what} did not settle`);
  if (settled !== 'resolved') {
    const code = (settled as { code?: unknown })?.code;
    assert.match(String(code), DOCUMENTED, `${what} rejected with ${settled}`);
  }
}

/**
 * A Writer's write of `data`, then its flush: write() resolves once the bytes are accepted, and
 * the block that holds them goes to the file later; the call is over only once they are in it, so
 * that the truncation after each run cannot come before them.
 */
function written(writer: Writer, data: unknown): Promise<void> {
  return writer.write(data as string).then(() => writer.flush());
}

forEachBackend('Fuzz', (backend) => {
  let context: IoContext;
  let dir: string;
  let file: string;
  let fd: number;
  before(() => {
    context = createContext({ backend, classes: { a: { shares: 10 } } });
    replaceDefaultContext(context);
    dir = scratchPath('fuzz');
    fs.mkdirSync(dir);
    file = path.join(dir, 'data');
    fs.writeFileSync(file, pattern(10_000));
    fd = fs.openSync(file, 'r+');
  });
  after(async () => {
    replaceDefaultContext(undefined);
    await context.close();
    fs.closeSync(fd);
  });

  /**
   * An fd: ours, one that is surely not open, or junk that is not a plausible fd number. Never a
   * small integer: that could be stdio, the test runner's channel, libuv's epoll fd or a ring, and
   * closing or writing those would break the process rather than test us.
   */
  const notAnOpenFd = (v: unknown) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 100_000;
  const fdArb = () => fc.oneof(fc.constant(fd), fc.integer({ min: 100_000, max: 2 ** 31 - 1 }), junk.filter(notAnOpenFd));
  /**
   * A path inside the scratch directory, or junk that is not a usable path. Never the directory
   * itself or its parent ('.' and '..' as a name): an rmdir or rename of those would take the
   * directory the later tests write in.
   */
  const pathArb = () =>
    fc.oneof(
      fc.string({ maxLength: 6 }).map((name) => path.join(dir, /^\.{0,2}$/.test(name) ? 'x' : name.replace(/[/\\]/g, '_'))),
      fc.constant(file),
      fc.constant(path.join(dir, 'a\0b')),
      junk.filter((v) => typeof v !== 'string'),
    );

  it('IoContext calls end with a documented outcome', { timeout }, async () => {
    const methods = ['read', 'write', 'readv', 'writev', 'fsync', 'fdatasync'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), fdArb(), junk, junk, junk, async (method, target, a, b, c) => {
        await endsWell(`${method}(${String(target)})`, () => (context[method] as (...args: unknown[]) => unknown)(target, real(a), real(b), real(c)));
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('stat', 'lstat', 'open', 'mkdir', 'unlink', 'rmdir', 'rename', 'link', 'symlink'), pathArb(), pathArb(), junk, async (method, p, q, options) => {
        const call = (context[method as 'stat'] as (...args: unknown[]) => Promise<unknown>).bind(context);
        const args = method === 'rename' || method === 'link' || method === 'symlink' ? [p, q, options] : [p, options];
        await endsWell(method, () => {
          const pending = call(...args);
          // An fd the fuzzer opened is closed again, so that the run does not leak them.
          if (method === 'open') return pending.then(async (opened) => {
            if (typeof opened === 'number') await context.closeFd(opened);
          });
          return pending;
        });
      }),
      { numRuns: runs },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('fallocate', 'ftruncate', 'closeFd'), fdArb(), junk, junk, junk, async (method, target, a, b, c) => {
        if (method === 'closeFd' && target === fd) return; // ours stays open for the other properties
        await endsWell(method, () => (context[method as 'ftruncate'] as (...args: unknown[]) => unknown).call(context, target, a, b, c));
      }),
      { numRuns: runs },
    );
  });

  it('O_DIRECT files, aligned allocation and registered buffers end with a documented outcome', { timeout }, async () => {
    const mine = path.join(dir, 'direct');
    fs.writeFileSync(mine, pattern(20_000));
    const f = await AIOFile.open(mine, 'r+b', { context, direct: 'auto' });
    const aligned = allocAligned(8192);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 9 }), junk, junk, async (which, rawA, rawB) => {
        const a = real(rawA);
        const b = real(rawB);
        const calls: (() => unknown)[] = [
          () => f.readInto(a as Uint8Array, b as number),
          () => f.readInto(aligned.subarray(0, typeof a === 'number' ? a : 512), b as number),
          () => f.write(a as string, b as number),
          () => f.read(a as number, b as number),
          () => written(new Writer(f, { offset: typeof a === 'number' && a >= 0 && a < 50_000 ? a : 0 }), b),
          () => context.read(f.fd, a as Uint8Array, b as number),
          () => allocAligned(a as number, b as number),
          () => context.registerBuffers(a as Uint8Array[]),
          () => AIOFile.open(mine, 'rb', { context, direct: a as boolean }).then((g) => g.close()),
          () => AIOFile.open(mine, b as string, { context, direct: 'auto' }).then((g) => g.close()),
        ];
        await endsWell(`direct call ${which}`, calls[which]);
        fs.truncateSync(mine, 20_000);
      }),
      { numRuns: runs },
    );
    await context.registerBuffers([]);
    await f.close();
    assert.ok(fs.readFileSync(mine).length === 20_000);
  });

  it('files, readers, writers and aiofs/promises end with a documented outcome', { timeout }, async () => {
    // The metadata property may have renamed, unlinked or replaced `data`: a file of our own.
    const mine = path.join(dir, 'files-and-readers');
    fs.writeFileSync(mine, pattern(10_000));
    const f = await AIOFile.open(mine, 'r+b', { context });
    const g = await asyncOpen(mine, 'r+', { context });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 14 }), junk, junk, async (which, rawA, rawB) => {
        const a = real(rawA);
        const b = real(rawB);
        const calls: (() => unknown)[] = [
          () => f.read(a as number, b as number),
          () => f.readBytes(a as number, b as number),
          () => f.write(a as string, b as number),
          () => f.readInto(a as Uint8Array, b as number),
          () => f.truncate(typeof a === 'number' && a > 100_000 ? 10_000 : (a as number)),
          () => f.stat(a as never),
          () => g.read(a as number),
          () => g.seek(a as number, b as number),
          () => new Reader(f, a as never).readChunk(),
          () => written(new Writer(f, a as never), b),
          () => new LineReader(f, a as never).readline(),
          () => nodeAlike(() => promises.readFile(a as string, b as never), () => nodefs.readFile(a as string, b as never)),
          () => nodeAlike(() => promises.stat(a as string, b as never), () => nodefs.stat(a as string, b as never)),
          // A generated string is a name inside the scratch directory: a mode like 'w' creates the file.
          () => AIOFile.open(typeof a === 'string' ? path.join(dir, a.replace(/[/\\]/g, '_') || 'x') : (a as string), b as never),
          () => promises.open(mine, 'r').then(async (handle) => {
            try {
              await handle.chmod(a as number);
            } finally {
              await handle.close();
            }
          }),
        ];
        await endsWell(`call ${which}`, calls[which]);
        fs.truncateSync(mine, 10_000); // a write far out made it sparse and huge: back to small
      }),
      { numRuns: runs },
    );
    await g.close();
    await f.close();
    // A closed file and a closed context answer every call the same way: EBADF / ERR_INVALID_STATE.
    await endsWell('closed file', () => f.read(1, 0));
    const closed = createContext({ backend });
    await closed.close();
    await fc.assert(
      fc.asyncProperty(junk, async (a) => {
        await endsWell('closed context', () => closed.read(fd, real(a) as never, 0));
      }),
      { numRuns: Math.min(runs, 200) },
    );
    assert.equal(fs.existsSync(mine), true);
  });
});
