// Koa: aiofs/http's koaStatic, serveStatic as a Koa middleware. A file is sent by aiofs; a miss
// goes on down the middleware stack as usual.
//
//   npm install koa aiofs
//   node examples/koa.mjs [DIR] [PORT]
import path from 'node:path';
import Koa from 'koa';
import { koaStatic } from 'aiofs/http';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);

const app = new Koa();
app.use(koaStatic(root));
app.use((ctx) => {
  ctx.status = 404;
  ctx.body = { error: `nothing at ${ctx.path}` };
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}`);
});
