// A static file server on node:http: aiofs/http's serveStatic opens, stats, reads and closes each
// file on io_uring (the thread pool where there is none), and sends large bodies file -> socket
// inside the kernel. A miss is 404, a URL that tries to leave the root 403.
//
//   node examples/static-server.mjs [DIR] [PORT]
import http from 'node:http';
import { serveStatic } from 'aiofs/http';

const root = process.argv[2] ?? '.';
const port = Number(process.argv[3] ?? 8080);

const server = http.createServer(serveStatic(root));
server.listen(port, '127.0.0.1', () => {
  console.log(`serving ${root} on http://127.0.0.1:${server.address().port}`);
});
