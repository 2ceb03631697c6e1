/**
 * aiofs/http in the frameworks it offers an adapter for, each in its own framework as a user
 * mounts it: koaStatic in a Koa app (files, HEAD, ranges, the directory redirect, a miss handed
 * down the stack, fallthrough false through Koa's error handling).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import Koa from 'koa';
import { koaStatic } from '../src/http/index.js';
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
});
