/**
 * Loading the addon and delivering completions, on every runtime we can run here: Node with
 * completions through the event loop (uv_poll) and through the waiter thread, and Bun and Deno
 * when their binaries are given (AIOFS_TEST_BUN, AIOFS_TEST_DENO: .ci/run takes them from the npm
 * registry). Each run is test/fixtures/runtime-smoke.ts in a child process, so a crash or a panic
 * of the runtime is this test's failure. Also: what the loader says when there is no addon.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { libcFamily, nativeInfo } from '../src/native.js';
import { forEachBackend } from './support/backends.js';
import { runChecked } from './support/child.js';

const timeout = 60_000;
const smoke = fileURLToPath(new URL('./fixtures/runtime-smoke.js', import.meta.url));
const waiterWakes = fileURLToPath(new URL('./fixtures/waiter-wakes.js', import.meta.url));

interface SmokeResult {
  runtime: string;
  backend: string;
  addon: { path?: string; delivery?: string; error?: string };
  warnings: string[];
  checks: string[];
}

function runSmoke(command: string[], env: NodeJS.ProcessEnv): SmokeResult {
  const { stdout, stderr } = runChecked(command[0], [...command.slice(1), smoke], { env: { ...process.env, ...env }, timeout: timeout - 5_000 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as SmokeResult;
  const expected = ['addon call', 'write', 'fsync after a timer', '32 reads at a time', 'promises readFile/writeFile/stat', 'FileHandle: everyday and odd arguments', 'FileHandle streams and readLines', 'LineReader', 'webStatic'];
  assert.deepEqual(result.checks, expected, `stdout:\n${stdout}\nstderr:\n${stderr}`);
  return result;
}

const runtimes: { name: string; command: string[] | undefined; variable: string }[] = [
  { name: 'Bun', command: process.env.AIOFS_TEST_BUN ? [process.env.AIOFS_TEST_BUN] : undefined, variable: 'AIOFS_TEST_BUN' },
  { name: 'Deno', command: process.env.AIOFS_TEST_DENO ? [process.env.AIOFS_TEST_DENO, 'run', '-A'] : undefined, variable: 'AIOFS_TEST_DENO' },
];

/** The reason to skip a runtime whose binary was not given, else false. */
function notGiven(runtime: { name: string; command: string[] | undefined; variable: string }): string | false {
  return runtime.command ? false : `${runtime.name} not given: set ${runtime.variable} to its binary`;
}

forEachBackend('runtimes', (backend) => {
  for (const delivery of ['poll', 'thread']) {
    it(`Node with completions delivered by ${delivery === 'poll' ? 'the event loop' : 'a waiter thread'}`, { timeout }, () => {
      const result = runSmoke([process.execPath], { AIOFS_BACKEND: backend, AIOFS_DELIVERY: delivery });
      assert.equal(result.backend, backend);
      assert.equal(result.addon.delivery, delivery);
    });
  }
  it('Node with an AIOFS_DELIVERY it does not know: warns once, and the event loop delivers', { timeout }, () => {
    const result = runSmoke([process.execPath], { AIOFS_BACKEND: backend, AIOFS_DELIVERY: 'fast' });
    assert.equal(result.addon.delivery, 'poll');
    assert.deepEqual(result.warnings, ['AIOFS_BAD_DELIVERY: AIOFS_DELIVERY=fast is not one of auto, poll, thread; the runtime chooses']);
  });
  for (const runtime of runtimes) {
    it(`${runtime.name}: the smoke test, completions by a waiter thread`, { timeout, skip: notGiven(runtime) }, () => {
      const result = runSmoke(runtime.command!, { AIOFS_BACKEND: backend, AIOFS_DELIVERY: '' });
      assert.match(result.runtime, new RegExp(runtime.name, 'i'));
      assert.equal(result.backend, backend);
      assert.equal(result.addon.delivery, 'thread');
      assert.deepEqual(result.warnings, []);
    });
    // Without libuv, the addon's first engine would take the process down (Bun panics on
    // uv_poll_init, Deno lacks uv_prepare_init).
    it(`${runtime.name}: AIOFS_DELIVERY=poll, which needs Node's loop, warns once and a waiter thread delivers`, { timeout, skip: notGiven(runtime) }, () => {
      const result = runSmoke(runtime.command!, { AIOFS_BACKEND: backend, AIOFS_DELIVERY: 'poll' });
      assert.equal(result.addon.delivery, 'thread');
      assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
      assert.match(result.warnings[0], new RegExp(`^AIOFS_BAD_DELIVERY: AIOFS_DELIVERY=poll needs Node's event loop \\(libuv\\), which ${runtime.name}`));
    });
  }
  if (backend === 'threads') return;
  // Every wake-up of the waiter is paid for by the thread that posted the completion: cached
  // reads one at a time, each reaped inside its own call, must leave it asleep (a waiter that
  // watched the fd all the time woke for 2-20% of them).
  for (const runner of [{ name: 'Node', command: [process.execPath], variable: '' }, ...runtimes]) {
    it(`${runner.name}: a waiter thread sleeps through reads finished inside their call, and still delivers a later one`, { timeout, skip: notGiven(runner) }, (t) => {
      const { stdout } = runChecked(runner.command![0], [...runner.command!.slice(1), waiterWakes, backend], {
        env: { ...process.env, AIOFS_DELIVERY: 'thread' },
        timeout: timeout - 5_000,
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { waiters: number; reads: number; wakes: number; late: string };
      assert.equal(result.waiters, 1);
      assert.ok(result.wakes <= 20, `the waiter woke ${result.wakes} times in ${result.reads} cached reads`);
      if (result.late.startsWith('no O_DIRECT')) t.diagnostic(`the later read not checked: ${result.late}`);
      else assert.equal(result.late, 'late');
    });
  }
});

it('the loader says what it loaded, and which C library this process runs on', () => {
  const info = nativeInfo();
  assert.equal(info.error, undefined);
  assert.ok(info.path && fs.existsSync(info.path), info.path);
  assert.ok(info.source === 'build' || info.source === 'env' || info.source === 'prebuilt');
  assert.equal(info.delivery, process.env.AIOFS_DELIVERY === 'thread' ? 'thread' : 'poll');
  if (process.platform === 'linux') {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    assert.equal(libcFamily(), maps.includes('ld-musl') ? 'musl' : 'glibc');
  }
});

it("without an addon, backends() says why, 'auto' runs on threads, and warns once", { timeout }, () => {
  // A copy of the JavaScript with no build and no prebuilt binary beside it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-no-addon-'));
  try {
    const dist = fileURLToPath(new URL('../src/', import.meta.url));
    fs.cpSync(dist, path.join(dir, 'dist', 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const script = `
      import { backends, createContext } from './dist/src/index.js';
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const ctx = createContext();
      const other = createContext();
      const buffer = Buffer.alloc(4);
      const fd = (await import('node:fs')).openSync(${JSON.stringify(smoke)}, 'r');
      await ctx.read(fd, buffer, 0);
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify({ backend: ctx.backend, backends: backends(), warnings, text: buffer.toString() }));
      await ctx.close();
      await other.close();
    `;
    fs.writeFileSync(path.join(dir, 'check.mjs'), script);
    const env = { ...process.env, AIOFS_NATIVE: path.join(dir, 'check.mjs'), AIOFS_BACKEND: '' };
    const child = runChecked(process.execPath, ['check.mjs'], { cwd: dir, env, timeout: timeout - 5_000 });
    const result = JSON.parse(child.stdout);
    assert.equal(result.backend, 'threads');
    assert.equal(result.text, '/**\n');
    for (const name of ['uring', 'aio']) {
      const info = result.backends.find((b: { name: string }) => b.name === name);
      assert.equal(info.available, false);
      // Every place looked at, and why each failed: the one given (not an addon) and the missing.
      assert.match(info.reason, /native addon could not be loaded/);
      assert.match(info.reason, /check\.mjs \(/);
      assert.match(info.reason, /prebuilds\/.*\(missing\)/);
    }
    assert.deepEqual(result.warnings, process.platform === 'linux' ? ['AIOFS_NO_ADDON'] : []);
    assert.match(child.stderr, process.platform === 'linux' ? /aiofs doctor/ : /^$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
