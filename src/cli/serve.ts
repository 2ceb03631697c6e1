/**
 * `aiofs serve [DIR] [--port N] [--host H]`: DIR (default `.`) over HTTP with serveStatic, on
 * 127.0.0.1:8080 unless told otherwise. Prints one line once listening, `aiofs: serving DIR on
 * http://HOST:PORT` (`--port 0` picks a free port, and the line says which); SIGINT and SIGTERM
 * stop accepting, close idle connections, let responses in progress finish, and exit 0.
 */
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serveStatic } from '../http/index.js';
import { CliError } from './errors.js';

export const serveUsage = `Usage: aiofs serve [DIR] [options]

Serve the files under DIR (default: the current directory) over HTTP: GET and HEAD, ranges,
ETag and Last-Modified; nothing outside DIR, no directory listings, no dotfiles.

Options:
  --port N     the port (default 8080; 0: any free port)
  --host H     the address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -h, --help   show this help
`;

export async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(serveUsage);
    return 0;
  }
  if (positionals.length > 1) throw new CliError('serve takes one DIR', serveUsage);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('--port must be a whole number from 0 to 65535', serveUsage);
  const dir = path.resolve(positionals[0] ?? '.');
  const stats = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stats) throw Object.assign(new Error('no such file or directory'), { path: dir, code: 'ENOENT' });
  if (!stats.isDirectory()) throw Object.assign(new Error('not a directory'), { path: dir, code: 'ENOTDIR' });

  const server = http.createServer(serveStatic(dir));
  server.listen(port, values.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  const address = server.address();
  const shown = typeof address === 'object' && address ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  process.stdout.write(`aiofs: serving ${dir} on http://${shown}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Responses in progress get a moment to finish; then the rest are cut.
  const timer = setTimeout(() => server.closeAllConnections(), 5000);
  await closed;
  clearTimeout(timer);
  return 0;
}
