/**
 * aiofs/register. Its callback API against node:fs's own, in this process, on every backend: the
 * same calls (everyday ones, and with values Node reads its own way) on twin files must end
 * alike: the same synchronous throw, or one callback with the same arguments (an error's class,
 * code, errno, syscall, message and path; results, a Stats by its fields, a buffer by its bytes
 * and identity), from a later tick, never the same one. Then the preload itself, in child
 * processes: with --import, --require and NODE_OPTIONS, in workers and child processes, and
 * turned off by AIOFS_REGISTER=0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { createContext, type IoContext } from '../src/index.js';
import { callbackApi } from '../src/register/callbacks.js';
import { forEachBackend } from './support/backends.js';
import { nodeCallbacks, registered } from './support/implementations.js';
import { scratchPath } from './support/files.js';

const timeout = 120_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const runs = Number(process.env.AIOFS_DIFF_RUNS ?? 400);

type Api = Pick<typeof fs, 'open' | 'close' | 'read' | 'write' | 'readv' | 'writev' | 'fstat' | 'stat' | 'lstat' | 'readFile' | 'writeFile' | 'fsync' | 'fdatasync'>;

/** What must agree of a value: plain data, with the twin's file written as <file>. */
function reduce(value: unknown, file: string, args: unknown[]): unknown {
  if (typeof value === 'string') return value.split(file).join('<file>');
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return value;
  if (args.includes(value)) return { argument: args.indexOf(value), bytes: ArrayBuffer.isView(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') : undefined };
  if (value instanceof Error) {
    const e = value as NodeJS.ErrnoException;
    return { error: value.constructor.name, code: e.code, errno: e.errno, syscall: e.syscall, path: reduce(e.path, file, args), message: reduce(e.message, file, args) };
  }
  if (value instanceof fs.Stats || typeof (value as { isFile?: unknown }).isFile === 'function') {
    const s = value as fs.Stats;
    return { stats: s.isFile() ? 'file' : 'other', size: String(s.size), mode: String(s.mode), bigint: typeof s.ino === 'bigint' };
  }
  if (ArrayBuffer.isView(value)) return { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reduce(v, file, args)]));
}

/** A file by its size and its first and last 64 KiB (a write far out makes it sparse and huge). */
function summary(file: string): unknown {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 65536));
    const tail = Buffer.alloc(Math.min(size, 65536));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    return { size, head: head.toString('hex'), tail: tail.toString('hex') };
  } finally {
    fs.closeSync(fd);
  }
}

/** Call `name` of `api` with `args` (the last a callback given here): how it ended. */
function outcome(api: Api, name: keyof Api, args: unknown[], file: string): Promise<unknown> {
  return new Promise((resolve) => {
    let sameTick = true;
    let calls = 0;
    const callback = (...results: unknown[]) => {
      calls++;
      const called = { sameTick, results: results.map((r) => reduce(r, file, args)) };
      // A second call would show in the next turns.
      setTimeout(() => resolve({ ...called, calls }), 5);
    };
    try {
      (api[name] as (...a: unknown[]) => void)(...args, callback);
    } catch (error) {
      resolve({ threw: reduce(error, file, args) });
      return;
    }
    sameTick = false;
    setTimeout(() => resolve(calls === 0 ? 'no callback within 5 s' : 'pending'), 5000).unref();
  });
}

const odd = fc.constantFrom<unknown>(undefined, null, -2, -1, 1.5, NaN, 2 ** 31, 2 ** 53, 1n, '1', true, {});
const small = fc.integer({ min: 0, max: 24 });
const mostly = (everyday: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: everyday, weight: 8 }, { arbitrary: odd, weight: 1 });
const position = mostly(fc.oneof(fc.constantFrom<unknown>(null, -1, undefined), small));

/** A call on a twin: made anew for each (its buffers, its fd, its path). */
type Call = { name: keyof Api; make: (twin: { fd: number; file: string }) => unknown[] };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 16 }), mostly(small), mostly(small), position).map(([size, offset, length, at]) => ({
    name: 'read' as const,
    make: ({ fd }: { fd: number }) => [fd, Buffer.alloc(size, 0x2e), offset, length, at],
  })),
  fc.tuple(fc.integer({ min: 0, max: 16 }), mostly(small), mostly(small), position).map(([size, offset, length, at]) => ({
    name: 'write' as const,
    make: ({ fd }: { fd: number }) => [fd, Buffer.alloc(size, 0x61 + size), offset, length, at],
  })),
  fc.tuple(fc.integer({ min: 0, max: 3 }), position).map(([count, at]) => ({
    name: 'readv' as const,
    make: ({ fd }: { fd: number }) => [fd, Array.from({ length: count }, () => Buffer.alloc(3)), at],
  })),
  fc.tuple(fc.constantFrom(0, 1, 3, 1100), position).map(([count, at]) => ({
    name: 'writev' as const,
    make: ({ fd }: { fd: number }) => [fd, Array.from({ length: count }, (_, i) => Buffer.from([0x41 + (i % 26)])), at],
  })),
  fc.constantFrom<Call>(
    { name: 'fstat', make: ({ fd }) => [fd] },
    { name: 'fstat', make: ({ fd }) => [fd, { bigint: true }] },
    { name: 'stat', make: ({ file }) => [file] },
    { name: 'lstat', make: ({ file }) => [`${file}/`] },
    { name: 'stat', make: ({ file }) => [`${file}.missing`, { bigint: false }] },
    { name: 'fsync', make: ({ fd }) => [fd] },
    { name: 'fdatasync', make: ({ fd }) => [fd] },
    { name: 'readFile', make: ({ file }) => [file] },
    { name: 'readFile', make: ({ file }) => [file, 'utf8'] },
    { name: 'readFile', make: ({ file }) => [`${file}.missing`, { encoding: 'latin1' }] },
    { name: 'writeFile', make: ({ file }) => [`${file}.w`, 'written'] },
    { name: 'writeFile', make: ({ file }) => [`${file}.w`, Buffer.from('bytes'), { flag: 'a' }] },
    { name: 'read', make: ({ fd }) => [fd, Buffer.alloc(4)] },
    { name: 'read', make: ({ fd }) => [fd, { buffer: Buffer.alloc(4), position: 1 }] },
    { name: 'write', make: ({ fd }) => [fd, 'text', null, 'utf8'] },
    { name: 'read', make: () => [2 ** 31, Buffer.alloc(4), 0, 4, 0] },
    { name: 'close', make: () => [-1] },
    { name: 'fstat', make: () => ['3'] },
  ),
);

forEachBackend('aiofs/register: the callback API against node:fs', (backend) => {
  let context: IoContext;
  let ours: Api;
  before(() => {
    context = createContext({ backend });
    ours = callbackApi(() => context);
  });
  after(() => context.close());

  it(`random calls on twin files end alike: the same throw, or one callback from a later tick with the same arguments (${runs} sequences)`, { timeout }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 12 }), fc.constantFrom('r+', 'a+', 'r', 'w+'), async (calls, flag) => {
        const twins = [nodeCallbacks as unknown as Api, registered ? (fs as unknown as Api) : ours].map((api) => {
          const file = scratchPath('twin');
          fs.writeFileSync(file, 'hello world 0123456789\n');
          return { api, file, fd: fs.openSync(file, flag) };
        });
        try {
          for (const [i, c] of calls.entries()) {
            const [theirs, mine] = await Promise.all(twins.map(({ api, file, fd }) => outcome(api, c.name, c.make({ fd, file }), file)));
            assert.deepEqual(mine, theirs, `call ${i}: ${c.name}(${c.make({ fd: 0, file: '<file>' }).map((a) => (ArrayBuffer.isView(a) ? `<${a.byteLength} bytes>` : Array.isArray(a) ? `<${a.length} buffers>` : typeof a === 'bigint' ? `${a}n` : JSON.stringify(a))).join(', ')})`);
          }
          assert.deepEqual(summary(twins[1].file), summary(twins[0].file), 'the files after the calls');
        } finally {
          for (const { fd } of twins) fs.closeSync(fd);
        }
      }),
      { numRuns: runs },
    );
  });

  it("open's fd is the process's: the synchronous API reads and closes it, the position is shared, and nothing closes it twice", { timeout }, async () => {
    const file = scratchPath('shared');
    fs.writeFileSync(file, 'abcdefghij');
    const fd = await new Promise<number>((resolve, reject) => ours.open(file, 'r', (error, opened) => (error ? reject(error) : resolve(opened))));
    const first = await new Promise<string>((resolve, reject) => ours.read(fd, Buffer.alloc(3), 0, 3, null, (error, _n, buffer) => (error ? reject(error) : resolve(buffer.toString()))));
    const sync = Buffer.alloc(3);
    fs.readSync(fd, sync, 0, 3, null);
    const third = await new Promise<string>((resolve, reject) => ours.read(fd, Buffer.alloc(3), 0, 3, -1, (error, _n, buffer) => (error ? reject(error) : resolve(buffer.toString()))));
    assert.deepEqual([first, sync.toString(), third], ['abc', 'def', 'ghi']);
    fs.closeSync(fd);
  });
});

/** Run `code` (an ES module) in a child Node with `args` and `env`; its stdout as JSON. */
function child(args: string[], code: string, env: Record<string, string | undefined> = {}): Record<string, unknown> {
  const run = spawnSync(process.execPath, [...args, '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: undefined, AIOFS_REGISTER: undefined, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** What a process sees: node:fs's routes, each aiofs's or Node's. */
const probe = `
import fs from 'node:fs';
import fsp, { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
const require = createRequire(import.meta.url);
const aiofs = await import('aiofs/promises');
const report = {
  defaultImport: fsp.readFile === aiofs.readFile,
  namedImport: readFile === aiofs.readFile,
  requirePromises: require('fs/promises').open === aiofs.open,
  fsPromises: require('fs').promises.stat === aiofs.stat,
  callbacks: fs.read.name === 'read' && fs.read !== (await import('../dist/src/node-fs.js')).nodeFs.read,
  promisifiedRead: Object.keys(await promisify(fs.read)(fs.openSync('package.json', 'r'), Buffer.alloc(4), 0, 4, 0)).join(','),
};
console.log(JSON.stringify(report));
`.replace("'../dist/src/node-fs.js'", JSON.stringify(`${root}dist/src/node-fs.js`));

const everywhere = { defaultImport: true, namedImport: true, requirePromises: true, fsPromises: true, callbacks: true, promisifiedRead: 'bytesRead,buffer' };
const nowhere = { defaultImport: false, namedImport: false, requirePromises: false, fsPromises: false, callbacks: false, promisifiedRead: 'bytesRead,buffer' };

it('--import, --require and NODE_OPTIONS put aiofs behind every route to node:fs/promises and node:fs\'s callbacks; util.promisify(fs.read) still gives { bytesRead, buffer }', { timeout }, () => {
  assert.deepEqual(child(['--import', 'aiofs/register'], probe), everywhere);
  assert.deepEqual(child(['--require', 'aiofs/register'], probe), everywhere);
  assert.deepEqual(child([], probe, { NODE_OPTIONS: '--import aiofs/register' }), everywhere);
  assert.deepEqual(child([], probe), nowhere);
});

it('AIOFS_REGISTER=0 leaves node:fs as Node made it, and says so', { timeout }, () => {
  assert.deepEqual(child(['--import', 'aiofs/register'], probe, { AIOFS_REGISTER: '0' }), nowhere);
  const said = child(['--import', 'aiofs/register'], "console.log(JSON.stringify((await import('aiofs/register')).registration()))", { AIOFS_REGISTER: '0' });
  assert.deepEqual(said, { active: false, reason: 'AIOFS_REGISTER=0', promises: [], callbacks: [] });
  // Empty is unset: registered, and no warning.
  assert.deepEqual(child(['--import', 'aiofs/register'], probe, { AIOFS_REGISTER: '' }), everywhere);
});

it("registration() from aiofs says what aiofs/register did, and asking registers nothing", { timeout }, () => {
  const ask = "const { registration } = await import('aiofs'); const fsp = await import('node:fs/promises'); const ours = await import('aiofs/promises'); console.log(JSON.stringify({ said: registration() ?? null, replaced: fsp.readFile === ours.readFile }))";
  assert.deepEqual(child([], ask), { said: null, replaced: false });
  const registered = child(['--import', 'aiofs/register'], ask) as { said: { active: boolean }; replaced: boolean };
  assert.equal(registered.said.active, true);
  assert.equal(registered.replaced, true);
});

it('workers get it (from --import and from NODE_OPTIONS), and so do child processes (from NODE_OPTIONS)', { timeout }, () => {
  const inWorker = `
    import { Worker } from 'node:worker_threads';
    const worker = new Worker("import { parentPort } from 'node:worker_threads'; import fsp from 'node:fs/promises'; const aiofs = await import('aiofs/promises'); parentPort.postMessage(fsp.readFile === aiofs.readFile);", { eval: true });
    worker.once('message', (value) => { console.log(JSON.stringify({ worker: value })); worker.terminate(); });
  `;
  assert.deepEqual(child(['--import', 'aiofs/register'], inWorker), { worker: true });
  assert.deepEqual(child([], inWorker, { NODE_OPTIONS: '--import aiofs/register' }), { worker: true });
  const inChild = `
    import { execFileSync } from 'node:child_process';
    const out = execFileSync(process.execPath, ['--input-type=commonjs', '-e', "import('aiofs/promises').then((a) => console.log(require('fs/promises').readFile === a.readFile))"], { encoding: 'utf8' });
    console.log(JSON.stringify({ child: out.trim() === 'true' }));
  `;
  assert.deepEqual(child([], inChild, { NODE_OPTIONS: '--import aiofs/register' }), { child: true });
});

it('streams over a registered node:fs: createReadStream with start and end, createWriteStream with flush, byte for byte', { timeout }, () => {
  const file = scratchPath('streams');
  fs.writeFileSync(file, Buffer.alloc(300_000, 7));
  const code = `
    import fs from 'node:fs';
    import { pipeline } from 'node:stream/promises';
    const src = ${JSON.stringify(file)};
    await pipeline(fs.createReadStream(src, { start: 1000, end: 250_999, highWaterMark: 7000 }), fs.createWriteStream(src + '.copy', { flush: true }));
    const whole = [];
    for await (const chunk of fs.createReadStream(src + '.copy')) whole.push(chunk);
    console.log(JSON.stringify({ size: Buffer.concat(whole).length, same: Buffer.concat(whole).equals(fs.readFileSync(src).subarray(1000, 251_000)) }));
  `;
  assert.deepEqual(child(['--import', 'aiofs/register'], code), { size: 250_000, same: true });
});
