/**
 * aiofs/promises where node:fs/promises' own tests found it differed: abort timing, the flush
 * option, files over 2 GiB, empty buffers, write(string) arguments, wrong receivers. Compared
 * call by call with node:fs/promises, on every backend.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import http2 from 'node:http2';
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { after, before, it } from 'node:test';
import { replaceDefaultContext } from '../src/create-context.js';
import { AIOFile, createContext, type IoContext } from '../src/index.js';
import aiofs from '../src/promises/index.js';
import { forEachBackend } from './support/backends.js';
import { assertSameOutcome } from './support/errors.js';
import { fileWith, openWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
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
        const ops = ['readFile', 'writeFile', 'handle.readFile', 'handle.writeFile', 'writeFile(iterable)', ...Array<'writeFile(ended stream)'>(10).fill('writeFile(ended stream)')] as const;
        for (const op of ops) {
          const file = fileWith(big);
          const ended = Readable.from([]);
          if (op === 'writeFile(ended stream)') await once(ended.resume(), 'end');
          const controller = new AbortController();
          const { signal } = controller;
          let promise: Promise<unknown>;
          let handle: Awaited<ReturnType<Fs['open']>> | undefined;
          if (op.startsWith('handle.')) handle = await f.open(file, 'r+');
          if (op === 'readFile') promise = f.readFile(file, { signal });
          else if (op === 'writeFile') promise = f.writeFile(file, big, { signal });
          else if (op === 'handle.readFile') promise = handle!.readFile({ signal });
          else if (op === 'handle.writeFile') promise = handle!.writeFile(big, { signal });
          else if (op === 'writeFile(ended stream)') promise = f.writeFile(file, ended, { signal });
          else promise = f.writeFile(file, (async function* () { for (let i = 0; i < 16; i++) yield big; })(), { signal });
          schedule(() => controller.abort());
          await assert.rejects(promise, { name: 'AbortError' }, `${name} ${op} aborted in the ${when}`);
          // Node's open takes a trip to its pool: an abort from the next tick comes before any write.
          if (when === 'next tick' && op.startsWith('writeFile')) assert.equal(fs.statSync(file).size, 0, `${name} ${op}: written before the abort`);
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

  it('a method called on the wrong receiver ends as the running Node ends it (its own method answers)', { timeout }, async () => {
    const ourHandle = await aiofs.open(fileWith('x'), 'r');
    const nodeHandle = await nodefs.open(fileWith('x'), 'r');
    const outcome = async (proto: Record<string, (...args: unknown[]) => Promise<unknown>>, method: string) => {
      let promise: Promise<unknown>;
      try {
        promise = proto[method].call({}, Buffer.alloc(1));
      } catch (error) {
        return { threw: (error as Error).constructor.name, message: (error as Error).message };
      }
      return promise.then(
        () => 'resolved',
        (error: Error & { code?: string }) => ({ rejected: error.code, message: error.message }),
      );
    };
    for (const method of ['read', 'write', 'readv', 'writev', 'readFile', 'writeFile', 'appendFile', 'stat', 'truncate', 'sync', 'datasync', 'chmod', 'chown', 'utimes', 'readableWebStream', 'createReadStream', 'readLines']) {
      const [ours, theirs] = [ourHandle, nodeHandle].map((handle) => Object.getPrototypeOf(handle));
      assert.deepEqual(await outcome(ours, method), await outcome(theirs, method), method);
    }
    // Node's close is each handle's own function, which no other receiver reaches: ours rejects.
    assert.deepEqual(await outcome(Object.getPrototypeOf(ourHandle), 'close'), { rejected: 'ERR_INVALID_THIS', message: 'Value of "this" must be of type FileHandle' });
    // And a handle's own close, called on anything, closes that handle, as Node's does.
    for (const handle of [ourHandle, nodeHandle]) {
      const { close } = handle;
      await close.call({});
      assert.equal(handle.fd, -1);
    }
  });

  it("is an instance of node:fs/promises' FileHandle, and Node's APIs that take one take it", { timeout }, async () => {
    const file = fileWith('0123456789');
    const theirs = await nodefs.open(file);
    const NodeFileHandle = theirs.constructor;
    await theirs.close();
    // Streams made by Node over a handle hold it and close it when they end (autoClose).
    const reading = await aiofs.open(file, 'r');
    assert.ok(reading instanceof NodeFileHandle);
    const read: Buffer[] = [];
    for await (const chunk of fs.createReadStream(null as never, { fd: reading as never, start: 2 })) read.push(chunk as Buffer);
    assert.equal(Buffer.concat(read).toString(), '23456789');
    assert.equal(reading.fd, -1);
    const writing = await aiofs.open(file, 'r+');
    const out = fs.createWriteStream(file, { fd: writing as never, start: 4 });
    out.end('ab');
    await once(out, 'close');
    assert.equal(writing.fd, -1);
    assert.equal(fs.readFileSync(file, 'utf8'), '0123ab6789');
    const handle = await aiofs.open(file, 'r');
    // http2 sends the file through the handle's fd.
    const server = http2.createServer();
    server.on('stream', (stream) => stream.respondWithFD(handle as never, { 'content-type': 'text/plain' }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = http2.connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    const request = client.request({ ':path': '/' });
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    await once(request, 'end');
    client.close();
    server.close();
    assert.equal(body, '0123ab6789');
    await handle.close();
  });

  it('moves to a worker with postMessage and a transfer list, with the errors Node gives otherwise', { timeout }, async () => {
    const file = fileWith('transferred');
    const refusals: string[][] = [];
    for (const [, f] of implementations) {
      const { port1 } = new MessageChannel();
      const kept = await f.open(file);
      const refused: string[] = [];
      const describe = (error: unknown) => refused.push(`${(error as Error).name}: ${(error as Error).message}`);
      try {
        port1.postMessage(kept); // not in the transfer list
      } catch (error) {
        describe(error);
      }
      const reading = kept.read(Buffer.alloc(1), 0, 1, 0);
      try {
        port1.postMessage(kept, [kept as never]); // in use
      } catch (error) {
        describe(error);
      }
      await reading;
      await kept.close();
      port1.close();
      refusals.push(refused);
    }
    assert.equal(refusals[1].length, 2, `node:fs refused both: ${refusals[1]}`);
    assert.deepEqual(refusals[0], refusals[1]);
    const handle = await aiofs.open(file);
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.once('message', async (handle) => {
         const { bytesRead, buffer } = await handle.read(Buffer.alloc(32), 0, 32, 0);
         await handle.close();
         parentPort.postMessage(buffer.toString('utf8', 0, bytesRead));
       });`,
      { eval: true },
    );
    worker.postMessage(handle, [handle as never]);
    assert.equal(handle.fd, -1);
    await assert.rejects(handle.read(Buffer.alloc(1), 0, 1, 0), { code: 'EBADF' });
    const [text] = await once(worker, 'message');
    assert.equal(text, 'transferred');
    await worker.terminate();
  });

  it('createReadStream and createWriteStream are fs.ReadStream and fs.WriteStream over the handle, as Node', { timeout }, async () => {
    for (const [name, f] of implementations) {
      const file = fileWith('abcdefghij');
      const handle = await f.open(file, 'r+');
      const input = handle.createReadStream({ start: 1, end: 4 });
      assert.ok(input instanceof fs.ReadStream, name);
      assert.equal(input.pending, false, name);
      const chunks: Buffer[] = [];
      for await (const chunk of input) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'bcde', name);
      assert.equal(input.bytesRead, 4, name);
      assert.equal(handle.fd, -1, `${name}: autoClose closes the handle`);
      const again = await f.open(file, 'r+');
      const output = again.createWriteStream({ start: 8, flush: true } as never);
      assert.ok(output instanceof fs.WriteStream, name);
      output.end('XY');
      await once(output, 'close');
      assert.equal(output.bytesWritten, 2, name);
      assert.equal(fs.readFileSync(file, 'utf8'), 'abcdefghXY', name);
      // Closing the handle under a stream ends the stream quietly.
      const third = await f.open(file, 'r');
      const open = third.createReadStream({ highWaterMark: 1 });
      const errors: Error[] = [];
      open.on('error', (error) => errors.push(error));
      const streamClosed = once(open, 'close');
      await third.close();
      await streamClosed;
      assert.deepEqual(errors, [], name);
    }
  });

  it('readableWebStream: once per handle, not on a closed or closing one, cancelled by close()', { timeout }, async () => {
    for (const [name, f] of implementations) {
      const file = fileWith('web stream');
      const handle = await f.open(file);
      const stream = handle.readableWebStream({ type: 'bytes' } as never);
      assert.throws(() => handle.readableWebStream(), { code: 'ERR_INVALID_STATE', message: 'Invalid state: The FileHandle is locked' }, name);
      const reader = stream.getReader();
      const first = await reader.read();
      assert.equal(Buffer.from(first.value as Uint8Array).toString(), 'web stream', name);
      const closing = handle.close();
      assert.throws(() => handle.readableWebStream(), { code: 'ERR_INVALID_STATE' }, name);
      assert.deepEqual(await reader.read(), { done: true, value: undefined }, name);
      await closing;
      assert.throws(() => handle.readableWebStream(), { code: 'ERR_INVALID_STATE', message: 'Invalid state: The FileHandle is closed' }, name);
    }
  });

  it("readableWebStream: closing the handle ends a stream a reader holds, and the reader's closed settles (each type)", { timeout }, async () => {
    for (const [name, f] of implementations) {
      for (const options of [{ type: 'bytes' }, undefined]) {
        const what = `${name}, ${JSON.stringify(options)}`;
        const file = fileWith('held');
        const handle = await f.open(file);
        const stream = handle.readableWebStream(options as never);
        const reader = options ? stream.getReader({ mode: 'byob' }) : stream.getReader();
        const closing = handle.close();
        const settled = await Promise.race([reader.closed.then(() => 'resolved', () => 'rejected'), new Promise((resolve) => setTimeout(resolve, 2_000, 'pending'))]);
        assert.equal(settled, 'resolved', what);
        await closing;
        assert.equal(handle.fd, -1, what);
      }
    }
  });

  it('a FileHandle dropped without close() is closed when collected, with what Node does then (warnings, or an error)', { timeout }, () => {
    const file = fileWith('dropped');
    const outcomes = ['aiofs', 'node'].map((which) => {
      const child = spawnSync(process.execPath, ['--expose-gc', fixture('dropped-handle'), which, file, backend], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(child.signal, null, child.stderr);
      return JSON.parse(child.stdout) as unknown;
    });
    assert.deepEqual(outcomes[0], outcomes[1]);
    assert.equal((outcomes[1] as { closed: boolean }).closed, true);
  });

  it('AsyncLocalStorage context flows through every kind of operation, with several contexts interleaved', { timeout }, async () => {
    const als = new AsyncLocalStorage<number>();
    const file = fileWith(pattern(100_000));
    const fd = fs.openSync(file, 'r');
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((id) =>
        als.run(id, async () => {
          const seen: (number | undefined)[] = [];
          await context.read(fd, Buffer.alloc(10), 0);
          seen.push(als.getStore());
          await aiofs.readFile(file);
          seen.push(als.getStore());
          await aiofs.stat(file);
          seen.push(als.getStore());
          const handle = await aiofs.open(file);
          seen.push(als.getStore());
          await handle.read(Buffer.alloc(5), 0, 5, 0);
          seen.push(als.getStore());
          await handle.close();
          seen.push(als.getStore());
          const f = await AIOFile.open(file, 'rb', { context });
          await f.read(10, 0);
          seen.push(als.getStore());
          await f.close();
          await new Promise<void>((resolve) => void context.fsync(fd).then(() => resolve(void seen.push(als.getStore()))));
          return seen;
        }),
      ),
    );
    outcomes.forEach((seen, i) => assert.deepEqual(seen, Array(seen.length).fill(i + 1)));
    fs.closeSync(fd);
  });
});
