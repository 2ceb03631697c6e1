// aiofs/http's webStatic, the Web-standard handler ((Request) => Promise<Response>): the same
// file serves on Bun (Bun.serve), Deno (Deno.serve) and Node (node:http, through the few lines
// of adapter below). Hono takes it too: app.get('/*', (c) => files(c.req.raw)).
//
//   bun examples/web.mjs [DIR] [PORT]
//   deno run -A examples/web.mjs [DIR] [PORT]
//   node examples/web.mjs [DIR] [PORT]
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { webStatic } from 'aiofs/http';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8080);
const files = webStatic(root, { maxAge: '1h', preCompressed: true });
const listening = (where) => console.log(`serving ${root} on ${where}`);

if (globalThis.Bun) {
  const server = Bun.serve({ port, hostname: '127.0.0.1', fetch: files });
  listening(`http://127.0.0.1:${server.port}`);
} else if (globalThis.Deno) {
  Deno.serve({ port, hostname: '127.0.0.1', onListen: ({ port: p }) => listening(`http://127.0.0.1:${p}`) }, files);
} else {
  // node:http: a Request from the IncomingMessage, the Response written back.
  const server = http.createServer(async (req, res) => {
    const response = await files(new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, { method: req.method, headers: req.headers }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (response.body) Readable.fromWeb(response.body).pipe(res);
    else res.end();
  });
  server.listen(port, '127.0.0.1', () => listening(`http://127.0.0.1:${server.address().port}`));
}
