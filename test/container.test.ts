/**
 * aiofs inside a container's sandbox: Docker 25+'s default seccomp profile, which refuses
 * io_uring (containerd and Kubernetes' RuntimeDefault alike), applied to child processes only
 * (test/support/container.ts). There `auto` must choose aio and say why uring was skipped; every
 * call the profile refuses (io_uring, and calls newer than the profile such as cachestat) must
 * lead to the next path, never to an error a user sees. With AIOFS_CONTAINER_SUITE=1 (npm run
 * test:container, which CI runs), the file-I/O suites and the worker tests also run inside it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { backends } from '../src/index.js';
import { containerSandbox, type Sandbox } from './support/container.js';
import { runChecked } from './support/child.js';
import { scratchPath } from './support/files.js';

const timeout = 60_000;
const dist = fileURLToPath(new URL('..', import.meta.url));
const docker = containerSandbox();
const skip = 'skip' in docker ? docker.skip : false;

/** `script` (an ES module, run from dist/) in a child process inside `sandbox`: its last stdout line as JSON. */
function inside(sandbox: Sandbox, script: string, env: NodeJS.ProcessEnv = {}): any {
  if ('skip' in sandbox) throw new Error(sandbox.skip);
  const [command, ...args] = sandbox.command([process.execPath, '--input-type=module', '-e', script]);
  const { stdout } = runChecked(command, args, { cwd: dist, env: { ...process.env, AIOFS_BACKEND: undefined, ...env }, timeout: timeout - 5_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

it('the sandbox can be made where AIOFS_EXPECT_SANDBOX=1 says it can (CI sets it, so that its absence fails the run rather than skip these tests)', { timeout, skip: process.env.AIOFS_EXPECT_SANDBOX !== '1' && 'AIOFS_EXPECT_SANDBOX is not set' }, () => {
  assert.equal(skip, false);
});

it("the sandbox refuses io_uring as Docker 25+ does: auto chooses aio and says why it skipped uring", { timeout, skip }, () => {
  const seen = inside(docker, `
    import { backends, createContext } from './src/index.js';
    const ctx = createContext();
    console.log(JSON.stringify({ backends: backends(), chosen: ctx.backend }));
    await ctx.close();`);
  const [uring, aio] = seen.backends;
  assert.equal(uring.name, 'uring');
  assert.equal(uring.available, false);
  assert.match(uring.reason, /seccomp\/container policy \(EPERM\)/);
  assert.equal(aio.available, true, aio.reason);
  assert.equal(seen.chosen, 'aio');
  // Outside the sandbox this machine has io_uring: the refusal is the sandbox's.
  if (backends()[0].available) assert.equal(inside({ command: (argv) => argv, rules: '' }, `import { backends } from './src/index.js'; console.log(JSON.stringify(backends()[0]))`).available, true);
});

it('inside it, an explicit uring is an error that says why; aio and threads run', { timeout, skip }, () => {
  const seen = inside(docker, `
    import { createContext } from './src/index.js';
    const out = {};
    for (const backend of ['uring', 'aio', 'threads']) {
      try { const ctx = createContext({ backend }); out[backend] = ctx.backend; await ctx.close(); }
      catch (error) { out[backend] = { code: error.code, message: error.message }; }
    }
    console.log(JSON.stringify(out));`);
  assert.equal(seen.uring.code, 'ERR_AIOFS_BACKEND_UNAVAILABLE');
  assert.match(seen.uring.message, /EPERM/);
  assert.equal(seen.aio, 'aio');
  assert.equal(seen.threads, 'threads');
});

for (const delivery of ['poll', 'thread']) {
  it(`the runtime smoke test inside it, on auto (aio), completions by ${delivery === 'poll' ? 'the event loop' : 'a waiter thread'}`, { timeout, skip }, () => {
    if ('skip' in docker) return;
    const smoke = fileURLToPath(new URL('./fixtures/runtime-smoke.js', import.meta.url));
    const [command, ...args] = docker.command([process.execPath, smoke]);
    const { stdout, stderr } = runChecked(command, args, { env: { ...process.env, AIOFS_BACKEND: undefined, AIOFS_DELIVERY: delivery }, timeout: timeout - 5_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(result.backend, 'aio', stderr);
    assert.deepEqual(result.warnings, [], 'a sandbox is the machine\'s choice: no warning');
    assert.equal(result.checks.length, 9, stdout);
  });
}

it('io_uring allowed (a custom profile) but cachestat refused, as by any profile older than it: large bodies are spliced through the ring, whole', { timeout, skip }, () => {
  const allowingUring = containerSandbox([]);
  const root = scratchPath('sandbox-serve');
  fs.mkdirSync(root, { recursive: true });
  const body = Buffer.alloc(5 << 20);
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
  fs.writeFileSync(`${root}/big.bin`, body);
  const seen = inside(allowingUring, `
    import http from 'node:http';
    import { createHash } from 'node:crypto';
    import { serveStatic } from './src/http/index.js';
    import { spliceCounts } from './src/http/splice-body.js';
    import { createContext } from './src/index.js';
    const context = createContext();
    const server = http.createServer(serveStatic(${JSON.stringify(root)}, { context }));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hashes = [];
    for (let i = 0; i < 3; i++) {
      hashes.push(await new Promise((resolve, reject) => http.get({ port: server.address().port, host: '127.0.0.1', path: '/big.bin' }, (res) => {
        const hash = createHash('sha256');
        res.on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
      }).on('error', reject)));
    }
    server.close();
    console.log(JSON.stringify({ backend: context.backend, hashes, spliceCounts }));
    await context.close();`);
  assert.equal(seen.backend, 'uring');
  const expected = createHash('sha256').update(body).digest('hex');
  assert.deepEqual(seen.hashes, [expected, expected, expected]);
  assert.ok(seen.spliceCounts.bytes >= 3 * body.length - 3 * (1 << 20), `spliced ${seen.spliceCounts.bytes}`);
  assert.equal(seen.spliceCounts.resident, 0, 'no splice from the event loop without cachestat');
});

const suite = ['context-io', 'context-meta', 'context-errors', 'promises', 'file-reader-writer', 'http', 'workers'];
it(`the file-I/O suites and the worker tests inside it (${suite.join(', ')}): every backend the sandbox allows`, { timeout: 30 * 60_000, skip: skip || (process.env.AIOFS_CONTAINER_SUITE !== '1' && 'takes minutes: npm run test:container') }, () => {
  if ('skip' in docker) return;
  const files = suite.map((name) => fileURLToPath(new URL(`./${name}.test.js`, import.meta.url)));
  const [command, ...args] = docker.command([process.execPath, '--expose-gc', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files]);
  const run = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined, AIOFS_BACKEND: undefined, AIOFS_EXPECT_BACKENDS: undefined }, timeout: 29 * 60_000, maxBuffer: 256 << 20 });
  const summary = run.stdout.split('\n').filter((line) => /^# (tests|pass|fail|skipped)/.test(line)).join('\n');
  const failures = run.stdout.split('\n').filter((line) => /^\s*not ok/.test(line)).join('\n');
  assert.equal(run.status, 0, `${summary}\n${failures}\n${run.stderr.slice(-4000)}`);
  // uring's tests are skipped with the sandbox's reason, not run.
  assert.match(run.stdout, /# SKIP uring backend unavailable: io_uring is not permitted here/);
});
