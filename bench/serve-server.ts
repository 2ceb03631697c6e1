/**
 * One static file server in a process of its own, for bench/serve.ts: `node serve-server.js KIND
 * ROOT` listens on a free loopback port and prints it on stdout, then serves ROOT until killed.
 * KIND: aiofs (serveStatic on node:http), aiofs-web (webStatic on node:http, through the adapter
 * an app writes), aiofs-fastify (Fastify with aiofs/http's fastifyStatic), sirv and serve-static
 * (on node:http), fastify-static, express-static (Express 5 and its express.static, as an app
 * writes them), node-memory (node:http answering every GET with the bytes of the file the URL
 * names, read once at start: no file I/O at all, the most any server on node:http can do),
 * node-sync (node:http opening, reading and closing the file with fs's synchronous calls on each
 * request, the loop blocked meanwhile: what the file work costs at the least, for a question).
 * On Bun and Deno (bench --runtime): aiofs-web serves with the runtime's own server (Bun.serve,
 * Deno.serve), as its users run it; hono is Hono's serveStatic for that runtime (hono/bun,
 * hono/deno) and bun-file a Bun.serve handler answering with Bun.file, what Bun's docs show. With PRECOMPRESSED=1 in the environment, each is told to send precompressed
 * siblings where it can (aiofs and @fastify/static: preCompressed; sirv: brotli and gzip).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const [kind, root] = process.argv.slice(2);
const precompressed = process.env.PRECOMPRESSED === '1';

type Fetch = (request: Request) => Response | Promise<Response>;
declare const Bun: { serve(options: { port: number; hostname: string; fetch: Fetch }): { port: number }; file(path: string): Blob & { exists(): Promise<boolean> } } | undefined;
declare const Deno: { serve(options: { port: number; hostname: string; onListen(addr: { port: number }): void }, handler: Fetch): unknown } | undefined;
const onBun = typeof Bun !== 'undefined';
const onDeno = typeof Deno !== 'undefined';

/** `fetch` served by the runtime's own server (Bun.serve, Deno.serve) on a free loopback port. */
function serveNative(fetch: Fetch): Promise<number> {
  if (typeof Bun !== 'undefined') return Promise.resolve(Bun.serve({ port: 0, hostname: '127.0.0.1', fetch }).port);
  if (typeof Deno !== 'undefined') {
    const deno = Deno;
    return new Promise((resolve) => deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => resolve(port) }, fetch));
  }
  throw new Error(`${kind} runs on Bun or Deno (bench --runtime)`);
}

/** A server of the runtime's own (Bun, Deno) for `kind`, listening: its port; undefined for the others. */
async function nativeServer(): Promise<number | undefined> {
  switch (kind) {
    case 'aiofs-web': {
      if (!onBun && !onDeno) return undefined;
      const { webStatic } = await import('../src/http/index.js');
      return serveNative(webStatic(root, { preCompressed: precompressed }));
    }
    case 'hono': {
      const { Hono } = await import('hono');
      // Hono's serveStatic takes a root relative to the working directory.
      process.chdir(root);
      const { serveStatic } = (await import(onBun ? 'hono/bun' : 'hono/deno')) as { serveStatic: (options: { root: string; precompressed?: boolean }) => never };
      const app = new Hono();
      app.use('/*', serveStatic({ root: './', precompressed }));
      return serveNative(app.fetch);
    }
    case 'bun-file':
      return serveNative(async (request) => {
        const name = path.join(root, decodeURIComponent(new URL(request.url).pathname));
        const file = name.startsWith(`${root}/`) ? Bun!.file(name) : undefined;
        return file && (await file.exists()) ? new Response(file) : new Response('Not Found', { status: 404 });
      });
    default:
      return undefined;
  }
}

async function handler(): Promise<http.RequestListener | undefined> {
  switch (kind) {
    case 'aiofs': {
      const { serveStatic } = await import('../src/http/index.js');
      const serve = serveStatic(root, { preCompressed: precompressed });
      return (req, res) => void serve(req, res);
    }
    case 'aiofs-web': {
      const { webStatic } = await import('../src/http/index.js');
      const { Readable } = await import('node:stream');
      const files = webStatic(root, { preCompressed: precompressed });
      return async (req, res) => {
        const response = await files(new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, { method: req.method, headers: req.headers as Record<string, string> }));
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (response.body) Readable.fromWeb(response.body as import('node:stream/web').ReadableStream).pipe(res);
        else res.end();
      };
    }
    case 'aiofs-fastify':
      return undefined;
    case 'sirv': {
      const sirv = (await import('sirv')).default;
      const serve = sirv(root, { dev: false, etag: true, brotli: precompressed, gzip: precompressed });
      return (req, res) => serve(req, res, () => {
        res.statusCode = 404;
        res.end();
      });
    }
    case 'serve-static': {
      const serveStatic = (await import('serve-static')).default;
      const serve = serveStatic(root, { index: false });
      return (req, res) => serve(req, res, () => {
        res.statusCode = 404;
        res.end();
      });
    }
    case 'fastify-static':
      return undefined;
    case 'node-sync': {
      const fs = await import('node:fs');
      return (req, res) => {
        let fd: number;
        try {
          fd = fs.openSync(path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)), 'r');
        } catch {
          res.statusCode = 404;
          res.end();
          return;
        }
        try {
          const stats = fs.fstatSync(fd);
          const body = Buffer.allocUnsafe(stats.size);
          fs.readSync(fd, body, 0, stats.size, 0);
          res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': stats.size, 'Last-Modified': stats.mtime.toUTCString(), ETag: `W/"${stats.size.toString(16)}-${stats.mtimeMs.toString(16)}"` });
          res.end(body);
        } finally {
          fs.closeSync(fd);
        }
      };
    }
    case 'node-memory': {
      const fs = await import('node:fs');
      const path = await import('node:path');
      const files = new Map(fs.readdirSync(root).filter((name) => fs.statSync(path.join(root, name)).isFile()).map((name) => [`/${name}`, fs.readFileSync(path.join(root, name))]));
      return (req, res) => {
        const body = files.get(req.url ?? '');
        if (!body) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
        res.end(body);
      };
    }
    case 'express-static': {
      const express = (await import('express')).default;
      const app = express();
      app.use(express.static(root));
      return app as unknown as http.RequestListener;
    }
    default:
      throw new Error(`unknown server kind ${kind}`);
  }
}

/** A peer that is not installed (they are aiofs's devDependencies) is said so, in one line. */
function fail(error: NodeJS.ErrnoException): never {
  const missing = error.code === 'ERR_MODULE_NOT_FOUND' ? /package '([^']+)'/.exec(error.message)?.[1] : undefined;
  process.stderr.write(missing ? `Error: ${missing} is not installed (npm install ${missing})\n` : `Error: ${error.stack ?? String(error)}\n`);
  process.exit(1);
}

async function listen(): Promise<number> {
  const native = await nativeServer();
  if (native !== undefined) return native;
  const listener = await handler();
  if (listener) {
    const server = http.createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }
  const fastify = (await import('fastify')).default({ logger: false });
  if (kind === 'aiofs-fastify') await fastify.register((await import('../src/http/index.js')).fastifyStatic as never, { root, preCompressed: precompressed });
  else await fastify.register((await import('@fastify/static')).default, { root, preCompressed: precompressed });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  return (fastify.server.address() as AddressInfo).port;
}

process.stdout.write(`${await listen().catch(fail)}\n`);
