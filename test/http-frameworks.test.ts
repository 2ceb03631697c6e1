/**
 * aiofs/http in the frameworks it offers an adapter for, each in its own framework as a user
 * mounts it: koaStatic in a Koa app (files, HEAD, ranges, the directory redirect, a miss handed
 * down the stack, fallthrough false through Koa's error handling); webStatic, the Web-standard
 * handler (Hono, Bun.serve, Deno.serve), held to serveStatic on the same requests; fastifyStatic
 * in a Fastify app, held to @fastify/static on the same requests, its hooks and 404 handler seen.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import Koa from 'koa';
import http from 'node:http';
import zlib from 'node:zlib';
import Fastify from 'fastify';
import fastifyStaticPeer from '@fastify/static';
import { fastifyStatic, koaStatic, serveStatic, webStatic } from '../src/http/index.js';
import { createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { scratchPath } from './support/files.js';
import { raw } from './support/http-client.js';

const timeout = 60_000;

forEachBackend('aiofs/http in frameworks', (backend) => {
  let context: IoContext;
  let root: string;
  before(() => {
    context = createContext({ backend });
    root = scratchPath('framework-root');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub</p>\n');
  });
  after(() => context.close());

  it('koaStatic in a Koa app: files, HEAD, ranges, the directory redirect, misses down the stack, fallthrough false as a Koa error', { timeout }, async () => {
    for (const fallthrough of [true, false]) {
      const app = new Koa();
      app.use(koaStatic(root, { context, fallthrough, maxAge: '1h' }));
      app.use((ctx: { status: number; body: unknown; path: string }) => {
        ctx.status = 404;
        ctx.body = { error: `nothing at ${ctx.path}` };
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const file = await raw(port, '/a.txt');
        assert.equal(file.status, 200);
        assert.equal(file.body.toString(), 'alpha\n');
        assert.equal(file.headers['cache-control'], 'public, max-age=3600');
        const head = await raw(port, '/a.txt', 'HEAD');
        assert.equal(head.status, 200);
        assert.equal(head.headers['content-length'], '6');
        assert.equal(head.body.length, 0);
        const part = await raw(port, '/a.txt', 'GET', { Range: 'bytes=1-3' });
        assert.equal(part.status, 206);
        assert.equal(part.body.toString(), 'lph');
        const moved = await raw(port, '/sub?x=1');
        assert.equal(moved.status, 301);
        assert.equal(moved.headers.location, '/sub/?x=1');
        assert.equal((await raw(port, '/sub/')).body.toString(), '<p>sub</p>\n');
        const miss = await raw(port, '/nothing');
        assert.equal(miss.status, 404);
        if (fallthrough) assert.deepEqual(JSON.parse(miss.body.toString()), { error: 'nothing at /nothing' });
        else assert.equal(miss.body.toString(), 'Not Found');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });

  it('webStatic answers each request as serveStatic does: status, headers, body; a cancelled body closes its file', { timeout }, async () => {
    fs.writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(3 << 20, 7));
    const options = { context, maxAge: '1d', extensions: ['txt'] };
    const web = webStatic(root, options);
    const server = http.createServer(serveStatic(root, options) as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const kept = ['content-type', 'content-length', 'content-range', 'cache-control', 'etag', 'last-modified', 'accept-ranges', 'location', 'allow'];
    try {
      const requests: [string, string, Record<string, string>?][] = [
        ['GET', '/a.txt'],
        ['HEAD', '/a.txt'],
        ['GET', '/a'],
        ['GET', '/big.bin'],
        ['GET', '/big.bin', { Range: 'bytes=1000-2000000' }],
        ['GET', '/big.bin', { Range: 'bytes=99999999-' }],
        ['GET', '/sub'],
        ['GET', '/sub?q=1'],
        ['GET', '/sub/'],
        ['GET', '/missing'],
        ['GET', '/.hidden'],
        ['POST', '/a.txt'],
        ['GET', '/a.txt', { 'If-Match': '"no"' }],
        ['GET', '/a.txt', { 'If-Modified-Since': 'Fri, 31 Dec 9999 23:59:59 GMT' }],
        ['GET', '/%zz'],
      ];
      for (const [method, target, headers = {}] of requests) {
        const node = await raw(port, target, method, headers);
        const response = await web(new Request(`http://localhost${target}`, { method, headers }));
        const body = response.body ? Buffer.from(await response.arrayBuffer()) : Buffer.alloc(0);
        const what = `${method} ${target} ${JSON.stringify(headers)}`;
        assert.equal(response.status, node.status, what);
        const pick = (get: (name: string) => string | null | undefined) => Object.fromEntries(kept.map((name) => [name, get(name) ?? null]));
        const webHeaders = pick((name) => response.headers.get(name));
        // A Response's body sets its own length where a node:http answer says it.
        if (webHeaders['content-length'] === null) webHeaders['content-length'] = node.headers['content-length'] ?? null;
        assert.deepEqual(webHeaders, pick((name) => node.headers[name]), what);
        assert.ok(body.equals(node.body), `${what}: body`);
      }
      // A consumer that stops: the body's file is closed, and nothing stays in flight.
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const before = fds();
      for (let i = 0; i < 10; i++) {
        const response = await web(new Request('http://localhost/big.bin'));
        const reader = response.body!.getReader();
        await reader.read();
        await reader.cancel();
      }
      assert.ok(fds() <= before, `fds before ${before}, after ${fds()}`);
      assert.equal(context.stats().inFlight, 0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('preCompressed: the brotli, then gzip sibling the client takes, with its Content-Encoding and Vary; never one without its file', { timeout }, async () => {
    const text = 'precompressed '.repeat(4000);
    fs.writeFileSync(path.join(root, 'p.txt'), text);
    fs.writeFileSync(path.join(root, 'p.txt.br'), zlib.brotliCompressSync(text));
    fs.writeFileSync(path.join(root, 'p.txt.gz'), zlib.gzipSync(text));
    fs.writeFileSync(path.join(root, 'only.txt.gz'), zlib.gzipSync('orphan'));
    fs.writeFileSync(path.join(root, 'plain.txt'), 'plain');
    const options = { context, preCompressed: true };
    const server = http.createServer(serveStatic(root, options) as http.RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const web = webStatic(root, options);
    try {
      const cases: [string, Record<string, string>, string | undefined][] = [
        ['/p.txt', { 'Accept-Encoding': 'gzip, deflate, br' }, 'br'],
        ['/p.txt', { 'Accept-Encoding': 'gzip' }, 'gzip'],
        ['/p.txt', { 'Accept-Encoding': 'br;q=0, gzip;q=0.5' }, 'gzip'],
        ['/p.txt', { 'Accept-Encoding': '*' }, 'br'],
        ['/p.txt', { 'Accept-Encoding': 'identity' }, undefined],
        ['/p.txt', {}, undefined],
        ['/plain.txt', { 'Accept-Encoding': 'br, gzip' }, undefined],
      ];
      for (const [target, headers, encoding] of cases) {
        const what = `${target} ${JSON.stringify(headers)}`;
        const reply = await raw(port, target, 'GET', headers);
        const response = await web(new Request(`http://localhost${target}`, { headers }));
        const webBody = Buffer.from(await response.arrayBuffer());
        for (const [status, got, body] of [[reply.status, (n: string) => reply.headers[n], reply.body], [response.status, (n: string) => response.headers.get(n) ?? undefined, webBody]] as const) {
          assert.equal(status, 200, what);
          assert.equal(got('content-encoding'), encoding, what);
          assert.equal(got('vary'), 'Accept-Encoding', what);
          assert.match(String(got('content-type')), /^text\/plain/, what);
          const decoded = encoding === 'br' ? zlib.brotliDecompressSync(body) : encoding === 'gzip' ? zlib.gunzipSync(body) : body;
          assert.equal(decoded.toString(), target === '/p.txt' ? text : 'plain', what);
        }
      }
      // A range is of the representation sent; its validator is that representation's.
      const part = await raw(port, '/p.txt', 'GET', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' });
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(zlib.gzipSync(text).subarray(0, 10)));
      const [identity, brotli] = [await raw(port, '/p.txt'), await raw(port, '/p.txt', 'GET', { 'Accept-Encoding': 'br' })];
      assert.notEqual(identity.headers.etag, brotli.headers.etag);
      // A sibling whose file does not exist is not served, nor are the siblings by their own names' rules.
      assert.equal((await raw(port, '/only.txt', 'GET', { 'Accept-Encoding': 'gzip' })).status, 404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fastifyStatic in a Fastify app answers as @fastify/static does, and its hooks, 404 handler and reply.sendFile work', { timeout }, async () => {
    const make = async (plugin: 'ours' | 'theirs') => {
      const app = Fastify();
      app.addHook('onSend', async (_request, reply, payload) => {
        reply.header('x-hook', 'seen');
        return payload;
      });
      app.setNotFoundHandler((_request, reply) => reply.code(404).send('custom 404'));
      const options = { root, prefix: '/static/', maxAge: '1h', redirect: true, index: 'index.html' };
      if (plugin === 'ours') await app.register(fastifyStatic as never, { ...options, context });
      else await app.register(fastifyStaticPeer, options);
      app.get('/page', (_request, reply) => (reply as unknown as { sendFile(name: string): unknown }).sendFile('a.txt'));
      return app;
    };
    const [ours, theirs] = [await make('ours'), await make('theirs')];
    try {
      const requests: [string, string, Record<string, string>?][] = [
        ['GET', '/static/a.txt'],
        ['HEAD', '/static/a.txt'],
        ['GET', '/static/a.txt', { range: 'bytes=1-3' }],
        ['GET', '/static/a.txt', { range: 'bytes=100-' }],
        ['GET', '/static/sub'],
        ['GET', '/static/sub/'],
        ['GET', '/static/nothing'],
        ['GET', '/static/.hidden'],
        ['GET', '/page'],
      ];
      for (const [method, url, headers = {}] of requests) {
        const [a, b] = [await ours.inject({ method: method as 'GET', url, headers }), await theirs.inject({ method: method as 'GET', url, headers })];
        const what = `${method} ${url} ${JSON.stringify(headers)}`;
        assert.equal(a.statusCode, b.statusCode, what);
        for (const name of ['x-hook', 'cache-control', 'content-range', 'location']) assert.equal(a.headers[name], b.headers[name], `${what}: ${name}`);
        if (a.statusCode === 200 || a.statusCode === 206 || a.statusCode === 404) assert.equal(a.body, b.body, `${what}: body`);
      }
    } finally {
      await ours.close();
      await theirs.close();
    }
  });
});
