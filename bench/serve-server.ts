/**
 * One static file server in a process of its own, for bench/serve.ts: `node serve-server.js KIND
 * ROOT` listens on a free loopback port and prints it on stdout, then serves ROOT until killed.
 * KIND: aiofs (serveStatic on node:http), aiofs-web (webStatic on node:http, through the adapter
 * an app writes), aiofs-fastify (Fastify with aiofs/http's fastifyStatic), sirv and serve-static
 * (on node:http), fastify-static, express-static (Express 5 and its express.static, as an app
 * writes them). With PRECOMPRESSED=1 in the environment, each is told to send precompressed
 * siblings where it can (aiofs and @fastify/static: preCompressed; sirv: brotli and gzip).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const [kind, root] = process.argv.slice(2);
const precompressed = process.env.PRECOMPRESSED === '1';

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
