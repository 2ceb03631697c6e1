/**
 * Every program in examples/ runs as its comment tells a user to run it, on every backend
 * (AIOFS_BACKEND), and does what it says: so that none of them rots. They import `aiofs` by name,
 * which resolves to this checkout (a package may import itself by its name).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { runChecked } from './support/child.js';
import { scratchPath } from './support/files.js';

const timeout = 60_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const example = (name: string) => path.join(root, 'examples', name);

/** A directory of files to serve and read: text, a binary of 3 MiB (a body sent in pieces), a subdirectory. */
function content(): { dir: string; files: Record<string, Buffer> } {
  const base = scratchPath('site');
  const dir = path.join(base, 'root');
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha\nbeta\ngamma\n'),
    'big.bin': big,
    'sub/page.html': Buffer.from('<!doctype html><p>sub</p>\n'),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [name, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), bytes);
  }
  fs.writeFileSync(path.join(base, 'outside.txt'), 'not to be served');
  return { dir, files };
}

/** Starts a server example; resolves once it says where it listens. */
async function startServer(args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /on (http:\/\/\S+)/.exec(out);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${out}\n${stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

/** GET `url` with node:http, its path sent as written (fetch would resolve a `%2e%2e` away). */
async function get(url: string): Promise<{ status: number; body: Buffer; type: string | null }> {
  const { hostname, port, origin } = new URL(url);
  const request = http.get({ hostname, port, path: url.slice(origin.length) });
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode!, body: Buffer.concat(chunks), type: response.headers['content-type'] ?? null };
}

/** How many io_uring instances process `pid` has open (Node's libuv may have its own: Node 22.23 does). */
function rings(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[io_uring]';
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/** The files every server must serve as they are, and the answers it must give around them. */
async function servesFiles(url: string, files: Record<string, Buffer>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    const reply = await get(`${url}/${name}`);
    assert.equal(reply.status, 200, name);
    assert.ok(reply.body.equals(bytes), `${name}: other bytes`);
  }
  assert.match((await get(`${url}/a.txt`)).type ?? '', /^text\/plain/);
  assert.equal((await get(`${url}/no-such-file`)).status, 404);
}

forEachBackend('examples', (backend: BackendName) => {
  const env = { AIOFS_BACKEND: backend };

  it('static-server.mjs: node:http serves the directory; misses are 404, a way out 403', { timeout }, async () => {
    const { dir, files } = content();
    const server = await startServer([example('static-server.mjs'), dir, '0'], env);
    try {
      await servesFiles(server.url, files);
      assert.equal((await get(`${server.url}/%2e%2e/outside.txt`)).status, 403);
    } finally {
      await server.stop();
    }
  });

  it('express.mjs: the files, and the JSON route reading with aiofs/promises', { timeout }, async () => {
    const { dir, files } = content();
    const server = await startServer([example('express.mjs'), dir, '0'], env);
    try {
      await servesFiles(server.url, files);
      const stat = await get(`${server.url}/api/stat/big.bin`);
      assert.equal(stat.status, 200);
      assert.equal((JSON.parse(stat.body.toString()) as { size: number }).size, 3 << 20);
      assert.equal((await get(`${server.url}/api/stat/nope`)).status, 404);
    } finally {
      await server.stop();
    }
  });

  it('fastify.mjs under --import aiofs/register: @fastify/static, unchanged, reads on aiofs', { timeout }, async () => {
    const { dir, files } = content();
    const counted: Record<string, number> = {};
    for (const registered of [true, false]) {
      const server = await startServer([...(registered ? ['--import', 'aiofs/register'] : []), example('fastify.mjs'), dir, '0'], env);
      try {
        await servesFiles(server.url, files);
        counted[String(registered)] = rings(server.pid);
      } finally {
        await server.stop();
      }
    }
    // aiofs's engine adds a ring to the server once a file was served through it: with the
    // preload only (and only where the backend is io_uring). Node's libuv may hold rings of its
    // own (Node 22.23's do), the same in both servers.
    if (backend === 'uring') assert.ok(counted.true > counted.false, `io_uring instances: ${counted.true} with aiofs/register, ${counted.false} without`);
    else assert.equal(counted.true, counted.false);
  });

  it('fastify-plugin.mjs: fastifyStatic at /static/, reply.sendFile, and the app\'s own 404 handler', { timeout }, async () => {
    const { dir, files } = content();
    fs.writeFileSync(path.join(dir, 'index.html'), '<p>home</p>');
    const server = await startServer([example('fastify-plugin.mjs'), dir, '0'], env);
    try {
      await servesFiles(server.url, files);
      assert.equal((await get(server.url.replace(/\/static$/, '/'))).body.toString(), '<p>home</p>');
      const miss = await get(`${server.url}/no-such-file`);
      assert.deepEqual(JSON.parse(miss.body.toString()), { error: 'nothing at /static/no-such-file' });
    } finally {
      await server.stop();
    }
  });

  it('web.mjs: webStatic on node:http through its adapter (Bun and Deno take the handler as it is)', { timeout }, async () => {
    const { dir, files } = content();
    const server = await startServer([example('web.mjs'), dir, '0'], env);
    try {
      await servesFiles(server.url, files);
      // A Request's URL is resolved already: /%2e%2e/outside.txt is /outside.txt there, under the root.
      const out = await get(`${server.url}/%2e%2e/outside.txt`);
      assert.equal(out.status, 404);
      assert.ok(!out.body.includes('not to be served'));
    } finally {
      await server.stop();
    }
  });

  it('koa.mjs: the middleware serves files and hands misses down the stack', { timeout }, async () => {
    const { dir, files } = content();
    const server = await startServer([example('koa.mjs'), dir, '0'], env);
    try {
      await servesFiles(server.url, files);
      const miss = await get(`${server.url}/no-such-file`);
      assert.deepEqual(JSON.parse(miss.body.toString()), { error: 'nothing at /no-such-file' });
      assert.equal((await get(`${server.url}/%2e%2e/outside.txt`)).status, 403);
    } finally {
      await server.stop();
    }
  });

  it('line-count.cjs: CommonJS counts lines and writes the summary', { timeout }, () => {
    const { dir } = content();
    const names = ['a.txt', 'empty.txt', 'sub/page.html'].map((name) => path.join(dir, name));
    const summary = path.join(dir, 'summary.tsv');
    const { stdout } = runChecked(process.execPath, [example('line-count.cjs'), summary, ...names], { cwd: root, env: { ...process.env, ...env }, timeout });
    const expected = `3\t${names[0]}\n0\t${names[1]}\n1\t${names[2]}\n`;
    assert.equal(stdout, expected);
    assert.equal(fs.readFileSync(summary, 'utf8'), expected);
  });

  it('checksum.mjs: the SHA-256 of each file; a missing one is an error naming it, exit 1', { timeout }, async () => {
    const { dir, files } = content();
    const names = Object.keys(files);
    const { stdout } = runChecked(process.execPath, [example('checksum.mjs'), ...names.map((name) => path.join(dir, name))], { cwd: root, env: { ...process.env, ...env }, timeout });
    const expected = names.map((name) => `${createHash('sha256').update(files[name]).digest('hex')}  ${path.join(dir, name)}\n`).join('');
    assert.equal(stdout, expected);
    const missing = path.join(dir, 'missing');
    const child = spawn(process.execPath, [example('checksum.mjs'), missing], { cwd: root, env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.equal(stderr, `checksum: ${missing}: ENOENT\n`);
  });

  it('workers.mjs: workers read their share of the files on rings of their own', { timeout }, () => {
    const { dir, files } = content();
    const names = Object.keys(files).map((name) => path.join(dir, name));
    const newlines = Object.values(files).reduce((sum, bytes) => sum + bytes.filter((b) => b === 10).length, 0);
    const { stdout } = runChecked(process.execPath, [example('workers.mjs'), '3', ...names], { cwd: root, env: { ...process.env, ...env }, timeout });
    assert.equal(stdout, `${newlines} newlines in ${names.length} files, counted by 3 workers\n`);
  });
});
