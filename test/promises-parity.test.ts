/**
 * aiofs/promises where node:fs/promises' own tests found it differed: abort timing, the flush
 * option, files over 2 GiB, empty buffers, write(string) arguments, wrong receivers. Compared
 * call by call with node:fs/promises, on every backend.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import { after, before, it } from 'node:test';
import { replaceDefaultContext } from '../src/context.js';
import { createContext, type IoContext } from '../src/index.js';
import aiofs from '../src/promises/index.js';
import { forEachBackend } from './support/backends.js';
import { assertSameOutcome } from './support/errors.js';
import { fileWith, openWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;
type Fs = typeof nodefs;
const implementations: [string, Fs][] = [
  ['aiofs', aiofs as unknown as Fs],
  ['node', nodefs],
];

/** The same call on both, each on its own copy of `content`; outcomes compared. */
async function same(what: string, content: Buffer | string, call: (f: Fs, file: string) => Promise<unknown>): Promise<void> {
  const [ours, theirs] = implementations.map(([, f]) => call(f, fileWith(content)));
  await assertSameOutcome(ours, theirs, what);
}

forEachBackend('aiofs/promises parity', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
    replaceDefaultContext(context);
  });
  after(async () => {
    replaceDefaultContext(undefined);
    await context.close();
  });

  it('readFile and writeFile reject with AbortError when aborted on the next tick or in the next setImmediate', { timeout }, async () => {
    const big = pattern(1 << 20);
    for (const [name, f] of implementations) {
      for (const [when, schedule] of [
        ['next tick', process.nextTick],
        ['setImmediate', setImmediate],
      ] as const) {
        for (const op of ['readFile', 'writeFile', 'handle.readFile', 'handle.writeFile', 'writeFile(iterable)'] as const) {
          const file = fileWith(big);
          const controller = new AbortController();
          const { signal } = controller;
          let promise: Promise<unknown>;
          let handle: Awaited<ReturnType<Fs['open']>> | undefined;
          if (op.startsWith('handle.')) handle = await f.open(file, 'r+');
          if (op === 'readFile') promise = f.readFile(file, { signal });
          else if (op === 'writeFile') promise = f.writeFile(file, big, { signal });
          else if (op === 'handle.readFile') promise = handle!.readFile({ signal });
          else if (op === 'handle.writeFile') promise = handle!.writeFile(big, { signal });
          else promise = f.writeFile(file, (async function* () { for (let i = 0; i < 16; i++) yield big; })(), { signal });
          schedule(() => controller.abort());
          await assert.rejects(promise, { name: 'AbortError' }, `${name} ${op} aborted in the ${when}`);
          await handle?.close();
        }
      }
    }
  });

  it('an operation aborted right after the call, before anything reached the kernel, rejects', { timeout }, async () => {
    const { fd } = openWith(pattern(8192));
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const read = context.read(fd, Buffer.alloc(4096), 0, { signal: controller.signal });
      controller.abort();
      await assert.rejects(read, { name: 'AbortError' });
    }
    // The ring goes on working, and the slot of each withdrawn read is free again.
    assert.equal(await context.read(fd, Buffer.alloc(4096), 4096), 4096);
    assert.equal(context.stats().inFlight, 0);
    fs.closeSync(fd);
  });

  it('flush: validated as Node does, and the data is written either way', { timeout }, async () => {
    for (const flush of [true, false, undefined, null]) {
      await same(`writeFile flush ${flush}`, '', (f, p) => f.writeFile(p, 'data', { flush } as never).then(() => fs.readFileSync(p, 'utf8')));
      await same(`appendFile flush ${flush}`, 'a', (f, p) => f.appendFile(p, 'b', { flush } as never).then(() => fs.readFileSync(p, 'utf8')));
    }
    for (const flush of ['true', 1, {}]) {
      await same(`writeFile flush ${String(flush)}`, '', (f, p) => f.writeFile(p, 'data', { flush } as never));
      await same(`appendFile flush ${String(flush)}`, '', (f, p) => f.appendFile(p, 'data', { flush } as never));
      await same(`handle.writeFile flush ${String(flush)}`, '', async (f, p) => {
        const handle = await f.open(p, 'r+');
        try {
          return await handle.writeFile('data', { flush } as never);
        } finally {
          await handle.close();
        }
      });
    }
  });

  it('readFile of a file over 2 GiB rejects with ERR_FS_FILE_TOO_LARGE without reading it', { timeout }, async () => {
    const file = scratchPath('huge');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 2 ** 31 + 1); // sparse: nothing is stored
    for (const [name, f] of implementations) {
      const started = performance.now();
      await assert.rejects(f.readFile(file), { name: 'RangeError', code: 'ERR_FS_FILE_TOO_LARGE', message: `File size (${2 ** 31 + 1}) is greater than 2 GiB` }, name);
      assert.ok(performance.now() - started < 5_000, `${name} read the file instead of refusing it`);
    }
    fs.rmSync(file);
  });

  it('read() into an empty buffer, and write(string, position, encoding) arguments, as Node', { timeout }, async () => {
    const withHandle = (call: (h: Awaited<ReturnType<Fs['open']>>) => Promise<unknown>) => async (f: Fs, p: string) => {
      const handle = await f.open(p, 'r+');
      try {
        const outcome = await call(handle);
        return [outcome, fs.readFileSync(p, 'latin1')];
      } finally {
        await handle.close();
      }
    };
    await same('empty buffer', 'abc', withHandle((h) => h.read(Buffer.alloc(0), 0, 1, 0)));
    await same('empty buffer, length 0', 'abc', withHandle((h) => h.read(Buffer.alloc(0), 0, 0, 0)));
    await same('empty buffer, defaults', 'abc', withHandle((h) => h.read(Buffer.alloc(0))));
    await same('number as encoding', 'abcdef', withHandle((h) => h.write('xy', 1, 5 as never)));
    await same('unknown encoding', 'abcdef', withHandle((h) => h.write('xy', 0, 'nope' as never)));
    await same('hex of odd length', 'abcdef', withHandle((h) => h.write('abc', 0, 'hex')));
    await same('hex', 'abcdef', withHandle((h) => h.write('cafe', 2, 'hex')));
    await same('string position as text', 'abcdef', withHandle((h) => h.write('Z', '2' as never)));
  });

  it('a method called on the wrong receiver rejects instead of throwing', { timeout }, async () => {
    const handle = await aiofs.open(fileWith('x'), 'r');
    const proto = Object.getPrototypeOf(handle) as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const method of ['read', 'write', 'readv', 'writev', 'readFile', 'writeFile', 'stat', 'truncate', 'sync', 'datasync', 'chmod', 'close']) {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (promise = proto[method].call({}, Buffer.alloc(1))), method);
      await assert.rejects(promise!, { name: 'TypeError', code: 'ERR_INVALID_THIS' }, method);
    }
    await handle.close();
  });
});
