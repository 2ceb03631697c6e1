/** Every way an IoContext call can be wrong, and the error each one gets. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, it } from 'node:test';
import vm from 'node:vm';
import { createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { openWith, pattern, scratchDir } from './support/files.js';
import { ThrowingAfterFirst, ThrowingByteLength } from './support/views.js';

const timeout = 10_000;

forEachBackend('IoContext errors', (backend) => {
  let ctx: IoContext;
  let fd: number;
  before(() => {
    ctx = createContext({ backend });
    fd = openWith(pattern(100)).fd;
  });
  after(async () => {
    await ctx.close();
    fs.closeSync(fd);
  });

  it('rejects a bad fd before any I/O', { timeout }, async () => {
    const buffer = Buffer.alloc(1);
    await assert.rejects(ctx.read('3' as never, buffer, 0), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.read(-1, buffer, 0), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.read(1.5, buffer, 0), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.read(2 ** 31, buffer, 0), expectCode('ERR_OUT_OF_RANGE', RangeError));
    await assert.rejects(ctx.fsync(NaN), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.equal(ctx.stats().submitted, 0);
  });

  it('rejects bad offsets', { timeout }, async () => {
    const buffer = Buffer.alloc(1);
    for (const offset of [-1, 0.5, NaN, Infinity, 2 ** 53, -1n, 2n ** 63n]) {
      await assert.rejects(ctx.read(fd, buffer, offset as number), expectCode('ERR_OUT_OF_RANGE', RangeError), String(offset));
    }
    for (const offset of ['0', {}, [0]]) {
      await assert.rejects(ctx.write(fd, buffer, offset as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError), String(offset));
    }
  });

  it('rejects what is not an ArrayBufferView, and detached memory', { timeout }, async () => {
    for (const bad of [null, undefined, 'abc', 42, [1, 2], new ArrayBuffer(4), { byteLength: 4 }]) {
      await assert.rejects(ctx.read(fd, bad as never, 0), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    }
    const bytes = new Uint8Array(16);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    await assert.rejects(ctx.read(fd, bytes, 0), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    const view = new DataView(new ArrayBuffer(8));
    structuredClone(view.buffer, { transfer: [view.buffer] });
    await assert.rejects(ctx.write(fd, view, 0), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.readv(fd, [Buffer.alloc(1), 'x' as never], 0), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.writev(fd, Buffer.alloc(1) as never, 0), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  });

  it('takes any view with bytes, of any realm, and refuses detached views of any realm and what a view says of itself by throwing', { timeout }, async () => {
    const expected = pattern(100).subarray(0, 8);
    const other = vm.runInNewContext('({ bytes: new Uint8Array(8), floats: new Float64Array(1), view: new DataView(new ArrayBuffer(8)), shared: new Uint8Array(new SharedArrayBuffer(0)) })');
    for (const view of [other.bytes, other.floats, other.view, new Int16Array(4), new DataView(new ArrayBuffer(8))] as ArrayBufferView[]) {
      assert.equal(await ctx.read(fd, view, 0), 8, view.constructor.name);
      assert.deepEqual(Buffer.from(view.buffer, view.byteOffset, 8), expected, view.constructor.name);
    }
    assert.equal(await ctx.read(fd, new Uint8Array(0), 0), 0);
    assert.equal(await ctx.read(fd, other.shared, 0), 0);
    for (const view of [other.view, other.bytes]) {
      structuredClone(view.buffer, { transfer: [view.buffer] });
      await assert.rejects(ctx.read(fd, view, 0), expectCode('ERR_INVALID_ARG_VALUE', TypeError), view.constructor.name);
    }
    await assert.rejects(ctx.read(fd, new ThrowingByteLength(8), 0), /a getter of its own/);
    assert.equal(ctx.stats().inFlight, 0);
  });

  it("reads a view's memory as it is, whatever its own getters say after the checks, and loses no other result", { timeout }, async () => {
    // Getters that answer the checks truthfully, then throw or lie: the library must read the
    // memory itself from then on (completion handling, short transfers, the thread pool).
    class Growing extends Uint8Array {
      #asked = 0;
      override get byteLength(): number {
        return this.#asked++ === 0 ? super.byteLength : 1 << 20;
      }
      override get byteOffset(): number {
        return this.#asked > 1 ? 1 << 19 : super.byteOffset;
      }
    }
    const expected = pattern(100).subarray(0, 64);
    for (const view of [new ThrowingAfterFirst(64), new Growing(64)]) {
      const others = Array.from({ length: 4 }, () => ctx.read(fd, Buffer.alloc(100), 0));
      // On every backend: node:fs, on the thread pool, is given the memory alone.
      assert.equal(await ctx.read(fd, view, 0), 64, view.constructor.name);
      assert.deepEqual(Buffer.from(view.buffer, 0, 64), expected, view.constructor.name);
      for (const other of await Promise.all(others)) assert.equal(other, 100, view.constructor.name);
    }
    assert.equal(ctx.stats().inFlight, 0);
  });

  it('rejects unknown options and a signal that is not an AbortSignal', { timeout }, async () => {
    const buffer = Buffer.alloc(1);
    await assert.rejects(ctx.read(fd, buffer, 0, { bogus: 1 } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await assert.rejects(ctx.read(fd, buffer, 0, { signal: {} } as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    await assert.rejects(ctx.read(fd, buffer, 0, null as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  });

  it('turns kernel errors into Node-style errors with code, errno and syscall', { timeout }, async () => {
    const closed = fs.openSync(scratchDir(), 'r');
    fs.closeSync(closed);
    const error = await ctx.read(closed, Buffer.alloc(1), 0).catch((e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.deepEqual(
      { code: (error as any).code, errno: (error as any).errno, syscall: (error as any).syscall, message: error.message },
      { code: 'EBADF', errno: -9, syscall: 'read', message: 'EBADF: bad file descriptor, read' },
    );
    const dir = fs.openSync(scratchDir(), 'r');
    await assert.rejects(ctx.read(dir, Buffer.alloc(1), 0), { code: 'EISDIR', errno: -21, syscall: 'read' });
    fs.closeSync(dir);
    const readOnly = openWith(pattern(10), 'r').fd;
    await assert.rejects(ctx.write(readOnly, Buffer.alloc(1), 0), { code: 'EBADF', syscall: 'write' });
    await assert.rejects(ctx.writev(readOnly, [Buffer.alloc(1)], 0), { code: 'EBADF', syscall: 'write' });
    fs.closeSync(readOnly);
    await assert.rejects(ctx.fsync(closed), { code: 'EBADF', syscall: 'fsync' });
    await assert.rejects(ctx.fdatasync(closed), { code: 'EBADF', syscall: 'fdatasync' });
  });

  it('rejects every call once closed, and close is idempotent', { timeout }, async () => {
    const local = createContext({ backend });
    const first = local.close();
    assert.equal(local.close(), first);
    await first;
    assert.equal(local.closed, true);
    await assert.rejects(local.read(fd, Buffer.alloc(1), 0), expectCode('ERR_INVALID_STATE'));
    await assert.rejects(local.fsync(fd), expectCode('ERR_INVALID_STATE'));
  });
});

it('createContext validates its options', { timeout }, () => {
  assert.throws(() => createContext({ backend: 'nope' } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
  assert.throws(() => createContext({ entries: 0 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
  assert.throws(() => createContext({ entries: 1e6 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
  assert.throws(() => createContext({ sqpoll: 'yes' } as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
  assert.throws(() => createContext({ wat: true } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
  assert.throws(() => createContext('uring' as never), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
});
