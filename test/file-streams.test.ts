/** Node interop: createReadStream, createWriteStream and readableWebStream of an AIOFile. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { after, before, it } from 'node:test';
import { AIOFile, createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { fileWith, pattern, scratchPath } from './support/files.js';

const timeout = 30_000;

forEachBackend('AIOFile streams', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  it('pipes a Readable into a Writable byte for byte, closing both files', { timeout }, async () => {
    const data = pattern(3 * 65_536 + 17);
    const source = await AIOFile.open(fileWith(data), 'rb', { context });
    const target = scratchPath();
    const sink = await AIOFile.open(target, 'wb', { context });
    await pipeline(source.createReadStream(), sink.createWriteStream());
    assert.ok(fs.readFileSync(target).equals(data));
    assert.equal(source.closed, true, 'autoClose, as in Node');
    assert.equal(sink.closed, true);
  });

  it('reads start..end inclusive, with a highWaterMark and an encoding', { timeout }, async () => {
    const data = pattern(50_000);
    const f = await AIOFile.open(fileWith(data), 'rb', { context });
    const chunks: Buffer[] = [];
    for await (const chunk of f.createReadStream({ start: 100, end: 40_099, highWaterMark: 1000, autoClose: false })) {
      assert.ok(chunk.length <= 1000);
      chunks.push(chunk);
    }
    assert.ok(Buffer.concat(chunks).equals(data.subarray(100, 40_100)));
    let text = '';
    for await (const chunk of f.createReadStream({ start: 0, end: 9, encoding: 'hex', autoClose: false })) text += chunk;
    assert.equal(text, data.subarray(0, 10).toString('hex'));
    const empty: Buffer[] = [];
    for await (const chunk of f.createReadStream({ start: 60_000, autoClose: false })) empty.push(chunk);
    assert.equal(empty.length, 0);
    assert.equal(f.closed, false);
    assert.throws(() => f.createReadStream({ start: 10, end: 5 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.throws(() => f.createReadStream({ highWaterMark: 0 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await f.close();
  });

  it('writes from start, strings and buffers, and reports write errors', { timeout }, async () => {
    const target = scratchPath();
    fs.writeFileSync(target, 'xxxxx');
    const f = await AIOFile.open(target, 'r+', { context });
    const stream = f.createWriteStream({ start: 2 });
    stream.write('ab');
    stream.write(Buffer.from('cd'));
    await new Promise<void>((resolve, reject) => stream.end('é', () => resolve()).on('error', reject));
    assert.equal(fs.readFileSync(target, 'utf8'), 'xxabcdé');

    const readOnly = await AIOFile.open(target, 'r', { context });
    const failing = readOnly.createWriteStream();
    const error = await new Promise<Error>((resolve) => {
      failing.on('error', resolve);
      failing.end('no'); // written behind: the error fails the stream by its end at the latest
    });
    assert.equal((error as NodeJS.ErrnoException).code, 'EBADF');
  });

  it('aborts a stream through its signal', { timeout }, async () => {
    const f = await AIOFile.open(fileWith(pattern(1 << 20)), 'rb', { context });
    const controller = new AbortController();
    const stream = f.createReadStream({ signal: controller.signal, highWaterMark: 1024 });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) controller.abort();
      })(),
      expectCode('ABORT_ERR'),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(f.closed, true);
  });

  it('gives a WHATWG byte stream of the whole file', { timeout }, async () => {
    const data = pattern(200_001);
    const f = await AIOFile.open(fileWith(data), 'rb', { context });
    const chunks: Uint8Array[] = [];
    for await (const chunk of f.readableWebStream()) chunks.push(chunk);
    assert.ok(Buffer.concat(chunks).equals(data));
    const reader = f.readableWebStream().getReader({ mode: 'byob' });
    const { value } = await reader.read(new Uint8Array(10));
    assert.ok(Buffer.from(value!).equals(data.subarray(0, 10)));
    await reader.cancel();
    await f.close();
  });
});
