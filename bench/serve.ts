/**
 * Static files over HTTP (`npx aiofs bench serve`): one file of 4 KiB, 64 KiB, 1 MiB or 64 MiB
 * fetched again and again over loopback by 64 keep-alive connections, from aiofs's serveStatic on
 * node:http and from what Node users serve files with (sirv and serve-static on node:http,
 * @fastify/static), with nginx (sendfile on, one worker: one core, as Node's one thread) as the
 * limit when it is installed, and node:http sending the same bytes from memory as the limit of
 * any server built on node:http. Each server runs in a process of its own (serve-server.ts), started
 * by the driver, loaded by wrk (2 threads) when it is installed, else by autocannon in the
 * driver's process. A response that is not 200 counts as an error.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import type { Case, Driver, Measurement, Missing, Runtime, Settings } from './case.js';

export interface ServeParams {
  root: string;
  file: string;
  size: number;
  seconds: number;
  /** Sent with every request (Accept-Encoding for the precompressed case). */
  headers?: Record<string, string>;
}

const CONNECTIONS = 64;

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Whether `module` resolves from here, as serve-server.js imports it. */
function installed(module: string): boolean {
  try {
    import.meta.resolve(module);
    return true;
  } catch {
    return false;
  }
}

/** A load generator: wrk, else autocannon (a development dependency, absent from an installed aiofs). */
function missingLoad(): Missing[] {
  return which('wrk') || installed('autocannon') ? [] : [{ name: 'a load generator (wrk or autocannon)', apt: 'wrk' }];
}

/** The peer modules (name: the npm packages it takes) a server kind needs that are not installed. */
export function missingModules(modules: Record<string, string[]>): Missing[] {
  return [...missingLoad(), ...Object.entries(modules).filter(([name]) => !installed(name)).map(([name, npm]) => ({ name, npm }))];
}

/** A file of `size` incompressible bytes under the run's serve root. */
export function dataFile(settings: Settings, size: number): { root: string; file: string } {
  const root = path.join(settings.dir, 'serve');
  fs.mkdirSync(root, { recursive: true });
  const file = `file-${size}.bin`;
  const full = path.join(root, file);
  if (!fs.existsSync(full)) {
    const fd = fs.openSync(full, 'w');
    const chunk = Buffer.alloc(Math.min(size, 1 << 20));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + (i >>> 9)) & 0xff;
    for (let written = 0; written < size; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
    fs.closeSync(fd);
  }
  return { root, file };
}

/** Load `url` for `seconds` (after a 1 s warm-up): requests per second, bytes per second, non-200s. */
async function load(url: string, seconds: number, headers: Record<string, string> = {}): Promise<{ requests: number; bytes: number; errors: number; seconds: number; tool: string }> {
  const wrk = which('wrk');
  if (wrk) {
    // A 64 MiB response can take seconds with 64 of them sharing the link: no timeout below 30 s.
    const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
    const run = (duration: number) => spawnSync(wrk, ['-t2', `-c${CONNECTIONS}`, `-d${duration}s`, '--timeout', '30s', ...headerArgs, url], { encoding: 'utf8', timeout: (duration + 90) * 1000 });
    run(1);
    const out = run(seconds);
    if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr || out.stdout}`);
    const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1]);
    const total = Number(/(\d+) requests in/.exec(out.stdout)?.[1]);
    const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out.stdout);
    const unit = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30 }[transfer?.[2] ?? 'B'] ?? 1;
    const non200 = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out.stdout)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out.stdout);
    const errors = non200 + (socketErrors ? Number(socketErrors[1]) + Number(socketErrors[4]) : 0);
    return { requests: total || rate * seconds, bytes: Number(transfer?.[1] ?? 0) * unit * seconds, errors, seconds: total ? total / rate : seconds, tool: 'wrk' };
  }
  const autocannon = (await import('autocannon')).default;
  const once = (duration: number) => autocannon({ url, connections: CONNECTIONS, duration, headers });
  await once(1);
  const result = await once(seconds);
  return { requests: result.requests.total, bytes: result.throughput.total, errors: result.non2xx + result.errors + result.timeouts, seconds, tool: 'autocannon' };
}

/** A port nobody listens on now (for nginx, which cannot report the one it picked). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Files this large are measured in bytes per second: a few dozen responses a second say little. */
export const BYTES_FROM = 16 << 20;

async function measure(params: ServeParams, start: () => Promise<{ port: number; stop: () => void }>): Promise<Measurement> {
  const server = await start();
  try {
    const result = await load(`http://127.0.0.1:${server.port}/${params.file}`, params.seconds, params.headers);
    const mbps = result.bytes / result.seconds / 1e6;
    // Large files: 64 connections share the link, so few responses end within the run, and a
    // rate of them says little: the bytes moved are the measure; the count is shown as it is.
    if (params.size >= BYTES_FROM) return { amount: result.bytes / 1e6, seconds: result.seconds, errors: result.errors, note: `${Math.round(result.requests)} responses completed, ${result.tool}` };
    return { amount: result.requests, seconds: result.seconds, errors: result.errors, note: `${mbps >= 100 ? mbps.toFixed(0) : mbps.toFixed(1)} MB/s, ${result.tool}` };
  } finally {
    server.stop();
  }
}

/**
 * A driver serving with `kind` (serve-server.ts) in a process of its own; `env` goes to the
 * driver's process and, through it, the server's (NODE_OPTIONS='--import ...' preloads there).
 */
export function nodeServer(kind: string, name: string, label: string, backend?: 'auto', env?: Record<string, string>, runtimes?: readonly Runtime[]): Driver<ServeParams> {
  return {
    name,
    label,
    ...(runtimes && { runtimes }),
    missing: () => missingModules(peers[kind] ?? {}),
    ...(backend && { backend }),
    ...(env && { env }),
    run: (params) =>
      measure(params, async () => {
        const script = fileURLToPath(new URL('./serve-server.js', import.meta.url));
        // The runtime this driver runs on (bench --runtime): Deno takes its permissions first.
        const args = 'Deno' in globalThis ? ['run', '-A', script, kind, params.root] : [script, kind, params.root];
        const child = spawn(process.execPath, args, {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, ...(params.headers?.['Accept-Encoding'] && { PRECOMPRESSED: '1' }) },
        });
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.setEncoding('utf8');
          child.stdout.on('data', (chunk: string) => {
            out += chunk;
            if (out.includes('\n')) resolve(Number(out.trim()));
          });
          child.once('exit', (code) => reject(new Error(`the ${kind} server exited (${code}) before listening`)));
        });
        return { port, stop: () => child.kill('SIGKILL') };
      }),
  };
}

/** The modules each server kind of serve-server.ts imports, with the npm packages that provide them. */
const peers: Record<string, Record<string, string[]>> = {
  'aiofs-fastify': { fastify: ['fastify'] },
  sirv: { sirv: ['sirv'] },
  'serve-static': { 'serve-static': ['serve-static'] },
  'fastify-static': { fastify: ['fastify'], '@fastify/static': ['@fastify/static'] },
  'express-static': { express: ['express'] },
  hono: { hono: ['hono'] },
};

const nginxPath = () => which('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);

const nginxDriver: Driver<ServeParams> = {
  name: 'nginx',
  label: 'nginx, sendfile on, 1 worker',
  missing: () => [...missingLoad(), ...(nginxPath() ? [] : [{ name: 'nginx', apt: 'nginx' }])],
  async run(params) {
    const nginx = nginxPath();
    if (!nginx) throw new Error('nginx is not installed (apt-get install nginx)');
    return measure(params, async () => {
      const port = await freePort();
      const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-nginx-'));
      const conf = path.join(prefix, 'nginx.conf');
      fs.writeFileSync(
        conf,
        `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log stderr error;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server { listen 127.0.0.1:${port}; root ${params.root}; }
}
`,
      );
      // A process group of its own: nginx's worker must go with its master (an orphaned worker
      // would keep this process's stderr open, and the benchmark waiting on it).
      const child = spawn(nginx, ['-p', prefix, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
      const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`nginx exited (${code})`))));
      // Listening once a connection is accepted.
      for (let i = 0; ; i++) {
        const up = await Promise.race([
          new Promise<boolean>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve(true);
            });
            socket.once('error', () => resolve(false));
          }),
          exited,
        ]);
        if (up) break;
        if (i > 100) throw new Error('nginx did not start listening');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return {
        port,
        stop: () => {
          process.kill(-child.pid!, 'SIGKILL');
          fs.rmSync(prefix, { recursive: true, force: true });
        },
      };
    });
  },
};

const drivers: Driver<ServeParams>[] = [
  nodeServer('aiofs', 'aiofs-serve', 'aiofs serveStatic on node:http', 'auto'),
  nodeServer('aiofs-fastify', 'aiofs-fastify', 'aiofs fastifyStatic in Fastify', 'auto'),
  nodeServer('aiofs-web', 'aiofs-web', 'aiofs webStatic (Bun.serve, Deno.serve; on Node through node:http)', 'auto'),
  nodeServer('sirv', 'sirv', 'sirv on node:http'),
  nodeServer('serve-static', 'serve-static', 'serve-static on node:http'),
  nodeServer('fastify-static', 'fastify-static', '@fastify/static'),
  nodeServer('hono', 'hono-static', "Hono's serveStatic (hono/bun, hono/deno)", undefined, undefined, ['bun', 'deno']),
  nodeServer('bun-file', 'bun-file', 'Bun.file in Bun.serve', undefined, undefined, ['bun']),
  nodeServer('node-memory', 'node-memory', 'node:http, the bytes from memory (no file I/O: the ceiling on node:http)'),
  { ...nodeServer('node-sync', 'node-sync', 'node:http, open + fstat + read + close with fs.*Sync per request'), optional: true },
  nginxDriver,
];

const sizes: [string, number][] = [
  ['4k', 4 << 10],
  ['64k', 64 << 10],
  ['1m', 1 << 20],
  ['64m', 64 << 20],
];

export const serveCases: Case<ServeParams>[] = sizes.map(([tag, size]) => ({
  name: `serve-${tag}`,
  title: `GET one ${tag.replace('k', ' KiB').replace('m', ' MiB')} file over loopback, ${CONNECTIONS} keep-alive connections`,
  unit: size >= BYTES_FROM ? 'MB/s' : 'req/s',
  timed: true,
  extended: true,
  prepare: (settings) => ({ ...dataFile(settings, size), size, seconds: settings.seconds }),
  minSeconds: 2,
  drivers,
  baselines: ['sirv', 'serve-static', 'fastify-static', 'hono-static', 'bun-file', 'node-sync', 'node-memory', 'nginx'],
  headline: 'aiofs-serve',
  targets:
    tag === '1m'
      ? [
          { driver: 'aiofs-serve', baseline: 'sirv', ratio: 2 },
          { driver: 'aiofs-serve', baseline: 'nginx', ratio: 0.8 },
        ]
      : tag === '64m'
        ? [{ driver: 'aiofs-serve', baseline: 'nginx', ratio: 0.95 }]
        : tag === '4k'
          ? [{ driver: 'aiofs-serve', baseline: 'sirv', ratio: 1.3 }]
          : [{ driver: 'aiofs-serve', baseline: 'nginx', ratio: 0.5 }],
}));

/** A text file of 1 MiB with its brotli and gzip siblings, as a build step writes them. */
function precompressedFile(settings: Settings): { root: string; file: string; size: number } {
  const root = path.join(settings.dir, 'serve-precompressed');
  fs.mkdirSync(root, { recursive: true });
  const file = 'app.js';
  const full = path.join(root, file);
  if (!fs.existsSync(full)) {
    const lines = Array.from({ length: 20_000 }, (_, i) => `export const value${i} = ${(i * 2654435761) % 1000003}; // line ${i}\n`);
    const text = Buffer.from(lines.join('')).subarray(0, 1 << 20);
    fs.writeFileSync(full, text);
    fs.writeFileSync(`${full}.br`, zlib.brotliCompressSync(text));
    fs.writeFileSync(`${full}.gz`, zlib.gzipSync(text, { level: 9 }));
  }
  return { root, file, size: fs.statSync(`${full}.br`).size };
}

/** A 1 MiB script fetched by clients that take brotli: each server sends its precompressed sibling. */
export const precompressedCase: Case<ServeParams> = {
  name: 'serve-precompressed',
  title: `GET one 1 MiB script with Accept-Encoding: br (its precompressed .br sent), ${CONNECTIONS} keep-alive connections`,
  unit: 'req/s',
  timed: true,
  extended: true,
  prepare: (settings) => ({ ...precompressedFile(settings), seconds: settings.seconds, headers: { 'Accept-Encoding': 'br' } }),
  minSeconds: 2,
  drivers: drivers.filter((d) => !['serve-static', 'nginx', 'node-memory', 'node-sync', 'bun-file'].includes(d.name)),
  baselines: ['sirv', 'fastify-static', 'hono-static'],
  headline: 'aiofs-serve',
  targets: [],
};
