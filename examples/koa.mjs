// Koa: aiofs/http's serveStatic as a Koa middleware. It writes the response itself, so Koa is
// told not to (ctx.respond = false); a miss goes on down the middleware stack as usual.
//
//   npm install koa aiofs
//   node examples/koa.mjs [DIR] [PORT]
import path from 'node:path';
import Koa from 'koa';
import { serveStatic } from 'aiofs/http';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);

/** Koa middleware serving the files under `dir` (GET and HEAD). */
function serve(dir) {
  const handler = serveStatic(dir);
  return async (ctx, next) => {
    let passed = false;
    let failure;
    ctx.respond = false;
    // Koa starts every response at 404; a file is sent with the response's status, as send does.
    ctx.res.statusCode = 200;
    await handler(ctx.req, ctx.res, (error) => {
      passed = true;
      failure = error;
    });
    if (!passed) return; // sent
    ctx.respond = true;
    if (failure) throw failure;
    await next();
  };
}

const app = new Koa();
app.use(serve(root));
app.use((ctx) => {
  ctx.status = 404;
  ctx.body = { error: `nothing at ${ctx.path}` };
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}`);
});
