/**
 * serveStatic's options that serve-static also has, held to serve-static itself: the same root,
 * the same requests, each option set on both, and what a client sees compared (status, the
 * headers those options decide, the body). serve-static is the middleware Express ships as
 * express.static; aiofs/http takes the same names for the same behaviour (docs/api.md says where
 * it is stricter). Also sendFile after a handler set another status (a custom 404 page).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import serveStaticPeer from 'serve-static';
import sirv from 'sirv';
import { sendFile, serveStatic, type ServeStaticOptions } from '../src/http/index.js';
import { forEachBackend } from './support/backends.js';
import { scratchPath } from './support/files.js';
import { raw, type Reply } from './support/http-client.js';
import { createContext, type IoContext } from '../src/index.js';

const timeout = 60_000;
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void;

/** A server over `handler` whose next() answers 404 (x-next: next) or the error's status (x-next: error). */
async function listen(handler: Handler): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    handler(req, res, (error?: unknown) => {
      const status = (error as { status?: number } | undefined)?.status ?? (error ? 500 : 404);
      res.writeHead(status, { 'x-next': error ? 'error' : 'next' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * What both must agree on: the status, the body of a 200 or 206, the headers the options decide.
 * Cache-Control and Accept-Ranges are a file's (200, 206, 304); on an error answer serve-static
 * leaves what send set before the error (a 416's Cache-Control), where aiofs sends the error's own.
 * Who answers a 4xx other than 404 (serve-static hands a 416 or 412 to next(error), aiofs answers
 * it itself) is not compared: the client gets the same status either way.
 */
function seen(reply: Reply): unknown {
  const ofFile = reply.status === 200 || reply.status === 206 || reply.status === 304;
  const kept = ['location', 'content-range', 'allow', 'x-set', ...(ofFile ? ['cache-control', 'accept-ranges'] : []), ...(reply.status === 404 ? ['x-next'] : [])];
  const headers = Object.fromEntries(kept.filter((name) => reply.headers[name] !== undefined).map((name) => [name, reply.headers[name]]));
  const body = reply.status === 200 || reply.status === 206 ? reply.body.toString('latin1') : undefined;
  return { status: reply.status, headers, body };
}

forEachBackend('aiofs/http against serve-static', (backend) => {
  let context: IoContext;
  let root: string;
  before(() => {
    context = createContext({ backend });
    root = scratchPath('peer-root');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(root, 'bare'));
    fs.writeFileSync(path.join(root, 'a.txt'), 'alpha\n'.repeat(100));
    fs.writeFileSync(path.join(root, 'about.html'), '<p>about</p>\n');
    fs.writeFileSync(path.join(root, 'sub', 'index.html'), '<p>sub</p>\n');
  });
  after(() => context.close());

  const optionSets: [string, ServeStaticOptions][] = [
    ['the defaults', {}],
    ['maxAge in ms', { maxAge: 5500 }],
    ['maxAge as a string, immutable', { maxAge: '30d', immutable: true }],
    ['maxAge past a year', { maxAge: '5y' }],
    ['cacheControl false', { cacheControl: false, maxAge: 1000 }],
    ['redirect false', { redirect: false }],
    ['extensions', { extensions: ['html', 'txt'] }],
    ['acceptRanges false', { acceptRanges: false }],
    ['fallthrough false', { fallthrough: false }],
    ['index false', { index: false }],
    ['setHeaders', { setHeaders: (res, file, stats) => res.setHeader('x-set', `${path.basename(file)} ${stats.size}`) }],
    ['setHeaders taking over Cache-Control', { maxAge: 1000, setHeaders: (res) => res.setHeader('Cache-Control', 'no-store') }],
  ];
  const requests: [string, string, Record<string, string>?][] = [
    ['GET', '/a.txt'],
    ['HEAD', '/a.txt'],
    ['GET', '/sub'],
    ['GET', '/sub?x=1&y=%20z'],
    ['GET', '/sub/'],
    ['GET', '//sub'],
    ['GET', '/bare'],
    ['GET', '/bare/'],
    ['GET', '/about'],
    ['GET', '/a'],
    ['GET', '/missing'],
    ['POST', '/a.txt'],
    ['GET', '/a.txt', { Range: 'bytes=6-11' }],
    ['GET', '/a.txt', { Range: 'bytes=9999-' }],
    ['GET', '/a.txt', { 'If-Match': '"nothing"' }],
    ['GET', '/a.txt', { 'If-Match': '*' }],
    ['GET', '/a.txt', { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' }],
    ['GET', '/a.txt', { 'If-Unmodified-Since': 'Fri, 31 Dec 9999 23:59:59 GMT' }],
    ['GET', '/a.txt', { 'If-Modified-Since': 'Fri, 31 Dec 9999 23:59:59 GMT' }],
    ['GET', '/a.txt', { 'If-Modified-Since': 'Fri, 31 Dec 9999 23:59:59 GMT', 'Cache-Control': 'no-cache' }],
  ];

  for (const [name, options] of optionSets) {
    it(`${name}: what a client sees is serve-static's`, { timeout }, async () => {
      const ours = await listen(serveStatic(root, { ...options, context }) as Handler);
      const theirs = await listen(serveStaticPeer(root, options as never) as unknown as Handler);
      try {
        for (const [method, target, headers] of requests) {
          const [a, b] = [await raw(ours.port, target, method, headers), await raw(theirs.port, target, method, headers)];
          assert.deepEqual(seen(a), seen(b), `${method} ${target} ${JSON.stringify(headers ?? {})}`);
        }
      } finally {
        await ours.close();
        await theirs.close();
      }
    });
  }

  it('sendFile after a handler set another status (a custom 404 page): that status, the body, never a 304 or a 206', { timeout }, async () => {
    const server = await listen((req, res) => {
      res.statusCode = 404;
      void sendFile(res, 'about.html', { root, context });
    });
    try {
      for (const headers of [{}, { 'If-Modified-Since': 'Fri, 31 Dec 9999 23:59:59 GMT' }, { Range: 'bytes=0-1' }] as Record<string, string>[]) {
        const reply = await raw(server.port, '/anything', 'GET', headers);
        assert.equal(reply.status, 404, JSON.stringify(headers));
        assert.equal(reply.body.toString(), '<p>about</p>\n');
      }
    } finally {
      await server.close();
    }
  });

  // sirv's `single`, held to sirv itself (dev mode: it looks files up as they are now, as aiofs
  // does; sirv's default extensions, which it also needs to find its fallback): status and body,
  // as its other headers differ.
  for (const [name, single] of [['single: true, the index', true], ['single: a file', 'sub/index.html']] as const) {
    it(`${name}: a miss that names no asset gets it, as from sirv`, { timeout }, async () => {
      fs.writeFileSync(path.join(root, 'index.html'), '<p>shell</p>\n');
      const ours = await listen(serveStatic(root, { context, single, extensions: ['html', 'htm'] }) as Handler);
      const theirs = await listen(sirv(root, { dev: true, single }) as unknown as Handler);
      try {
        for (const target of ['/', '/a.txt', '/app', '/app/route', '/app/route?tab=2', '/deep/x/y/', '/missing.js', '/app.js/', '/app/v1.2/logo.png', '/sub/', '/about']) {
          const [a, b] = [await raw(ours.port, target), await raw(theirs.port, target)];
          assert.deepEqual({ status: a.status, body: a.body.toString() }, { status: b.status, body: b.body.toString() }, target);
        }
        // Where aiofs differs, on purpose: a dotfile path stays a miss (sirv serves the shell there),
        // and a directory's URL without its slash is redirected first.
        assert.equal((await raw(ours.port, '/.git/config')).status, 404);
        assert.equal((await raw(ours.port, '/sub')).status, 301);
        // With index false, a directory's URL with its slash is a miss like any other: the fallback.
        const noIndex = await listen(serveStatic(root, { context, single, index: false }) as Handler);
        try {
          for (const target of ['/', '/sub/', '/app/route']) assert.equal((await raw(noIndex.port, target)).body.toString(), single === true ? '<p>shell</p>\n' : '<p>sub</p>\n', target);
          assert.equal((await raw(noIndex.port, '/sub')).status, 301);
        } finally {
          await noIndex.close();
        }
        // With redirect false, a directory's URL without its slash is a miss: the fallback too.
        const noRedirect = await listen(serveStatic(root, { context, single, redirect: false }) as Handler);
        try {
          assert.equal((await raw(noRedirect.port, '/bare')).status, 200);
        } finally {
          await noRedirect.close();
        }
      } finally {
        await ours.close();
        await theirs.close();
        fs.rmSync(path.join(root, 'index.html'));
      }
    });
  }

  it('single naming a directory, or a file that is not there: a miss (next), never a redirect', { timeout }, async () => {
    for (const single of ['sub', 'nothing.html']) {
      const server = await listen(serveStatic(root, { context, single }) as Handler);
      try {
        for (const target of ['/route', '/deep/x?q=1', '/bare/']) {
          const reply = await raw(server.port, target);
          assert.deepEqual([reply.status, reply.headers['x-next']], [404, 'next'], `${single} ${target}`);
        }
      } finally {
        await server.close();
      }
    }
  });

  it('bad options are refused when the handler is made', () => {
    for (const options of [{ single: 1 }, { single: '../x.html' }, { single: '/etc/passwd' }, { single: '' }, { maxAge: -1 }, { maxAge: '3 fortnights' }, { maxAge: Infinity }, { immutable: 'yes' }, { redirect: 1 }, { extensions: 'html' }, { extensions: ['a/b'] }, { setHeaders: 'x' }, { fallthrough: null }]) {
      assert.throws(() => serveStatic(root, options as never), { code: /^ERR_INVALID_ARG_(TYPE|VALUE)$/ }, JSON.stringify(options));
    }
  });
});
