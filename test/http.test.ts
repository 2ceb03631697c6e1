/**
 * aiofs/http on a real node:http server, per backend: what a client sees (status, headers, body)
 * for plain, conditional, ranged and HEAD requests, misses, other methods, and requests that try
 * to leave the root, sent raw over a socket so that nothing normalises them first. A fuzz test
 * throws generated paths at it: every 200 is a file under the root, byte for byte.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os, { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import zlib from 'node:zlib';
import compression from 'compression';
import fc from 'fast-check';
import { spliceFd } from '../src/context.js';
import { backends, createContext, type IoContext } from '../src/index.js';
import { sendFile, serveStatic } from '../src/http/index.js';
import { spliceCounts } from '../src/http/splice-body.js';
import { forEachBackend } from './support/backends.js';
import { noCachestat } from './support/kernel.js';
import { othersCanRead, pattern, scratchPath } from './support/files.js';
import { raw } from './support/http-client.js';

const timeout = 60_000;
const { EBADF, ENOSYS, EOPNOTSUPP } = constants.errno;

/** A chunked body's bytes (RFC 9112 7.1), without the chunk sizes. */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; ; ) {
    const line = body.indexOf('\r\n', at);
    const size = Number.parseInt(body.subarray(at, line).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(body.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

/** A site: files with distinct contents, a directory with an index, a dotfile, links in and out. */
function site(): { root: string; secret: Buffer; files: Map<string, Buffer> } {
  const top = scratchPath('site');
  const root = path.join(top, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(root, 'empty'));
  const files = new Map<string, Buffer>([
    ['a.txt', Buffer.from('hello, a\n')],
    ['big.bin', pattern(3 * 256 * 1024 + 123, 5)],
    ['sub/index.html', Buffer.from('<h1>sub</h1>\n')],
    ['sub/space name.css', Buffer.from('body{}\n')],
    ['.hidden', Buffer.from('dotfile\n')],
    ['zero', Buffer.alloc(0)],
  ]);
  for (const [name, content] of files) fs.writeFileSync(path.join(root, name), content);
  const secret = Buffer.from('outside the root: never served\n');
  fs.writeFileSync(path.join(top, 'secret.txt'), secret);
  fs.symlinkSync(path.join(top, 'secret.txt'), path.join(root, 'out-link'));
  fs.symlinkSync(top, path.join(root, 'out-dir'));
  fs.symlinkSync(path.join(root, 'a.txt'), path.join(root, 'in-link'));
  // Relative links: one out through '..', one in (on uring the open itself refuses the first).
  fs.symlinkSync('../secret.txt', path.join(root, 'rel-out'));
  fs.symlinkSync('../a.txt', path.join(root, 'sub', 'rel-in'));
  return { root, secret, files };
}

forEachBackend('aiofs/http', (backend) => {
  let context: IoContext;
  let server: http.Server;
  let port: number;
  let root: string;
  let secret: Buffer;
  let files: Map<string, Buffer>;

  before(async () => {
    context = createContext({ backend });
    ({ root, secret, files } = site());
    // With extensions and precompressed siblings, so that every request below (the fuzz's too)
    // also goes through those fallbacks: they must not reach a dotfile, a file outside the root,
    // or another site.
    ({ server, port } = await listen(serveStatic(root, { context, extensions: ['html', 'txt'], preCompressed: true })));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await context.close();
  });

  it('GET: status, type, length, validators, body', { timeout }, async () => {
    const reply = await raw(port, '/a.txt');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.headers['content-length'], String(files.get('a.txt')!.length));
    assert.equal(reply.headers['accept-ranges'], 'bytes');
    assert.match(reply.headers.etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(reply.headers['last-modified'], fs.statSync(path.join(root, 'a.txt')).mtime.toUTCString());
    assert.deepEqual(reply.body, files.get('a.txt'));
    const big = await raw(port, '/big.bin');
    assert.equal(big.headers['content-type'], 'application/octet-stream');
    assert.ok(big.body.equals(files.get('big.bin')!), 'a body of several chunks arrives whole');
    assert.deepEqual((await raw(port, '/zero')).body, Buffer.alloc(0));
    assert.deepEqual((await raw(port, '/sub/space%20name.css')).body, files.get('sub/space name.css'));
    assert.deepEqual((await raw(port, '/a.txt?x=1#frag')).body, files.get('a.txt'));
  });

  it('HEAD: the headers of GET, no body', { timeout }, async () => {
    const reply = await raw(port, '/big.bin', 'HEAD');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String(files.get('big.bin')!.length));
    assert.equal(reply.body.length, 0);
  });

  it('HEAD of a missing file: the 404 head, no body', { timeout }, async () => {
    const reply = await raw(port, '/no-such-file', 'HEAD');
    assert.equal(reply.status, 404);
    assert.ok(Number(reply.headers['content-length']) > 0, 'the length of the body GET would get');
    assert.equal(reply.body.length, 0);
  });

  it('304 for a fresh ETag or date; 200 again when the file changes', { timeout }, async () => {
    const first = await raw(port, '/a.txt');
    const etag = first.headers.etag;
    const cached = await raw(port, '/a.txt', 'GET', { 'If-None-Match': etag });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    assert.equal(cached.headers.etag, etag);
    assert.equal((await raw(port, '/a.txt', 'GET', { 'If-None-Match': `"other", ${etag.slice(2)}` })).status, 304, 'weak comparison, in a list');
    assert.equal((await raw(port, '/a.txt', 'GET', { 'If-None-Match': '*' })).status, 304);
    assert.equal((await raw(port, '/a.txt', 'GET', { 'If-Modified-Since': first.headers['last-modified'] })).status, 304);
    assert.equal((await raw(port, '/a.txt', 'GET', { 'If-Modified-Since': new Date(0).toUTCString() })).status, 200);
    // If-None-Match wins over If-Modified-Since.
    assert.equal((await raw(port, '/a.txt', 'GET', { 'If-None-Match': '"nope"', 'If-Modified-Since': first.headers['last-modified'] })).status, 200);
    const file = path.join(root, 'changing.txt');
    fs.writeFileSync(file, 'one');
    const before = await raw(port, '/changing.txt');
    fs.writeFileSync(file, 'two, longer');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const afterChange = await raw(port, '/changing.txt', 'GET', { 'If-None-Match': before.headers.etag });
    assert.equal(afterChange.status, 200);
    assert.equal(afterChange.body.toString(), 'two, longer');
  });

  it('one byte range: 206 with Content-Range; unsatisfiable: 416; several or malformed: the whole file', { timeout }, async () => {
    const big = files.get('big.bin')!;
    const size = big.length;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-20', 10, 20],
      [`bytes=${size - 5}-`, size - 5, size - 1],
      ['bytes=-7', size - 7, size - 1],
      [`bytes=300000-${size + 1000}`, 300000, size - 1],
      [`bytes=-${size + 5}`, 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const reply = await raw(port, '/big.bin', 'GET', { Range: range });
      assert.equal(reply.status, 206, range);
      assert.equal(reply.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(reply.headers['content-length'], String(end - start + 1), range);
      assert.ok(reply.body.equals(big.subarray(start, end + 1)), range);
    }
    for (const range of [`bytes=${size}-`, 'bytes=-0', `bytes=${size + 10}-${size + 20}`]) {
      const reply = await raw(port, '/big.bin', 'GET', { Range: range });
      assert.equal(reply.status, 416, range);
      assert.equal(reply.headers['content-range'], `bytes */${size}`, range);
    }
    assert.equal((await raw(port, '/zero', 'GET', { Range: 'bytes=0-' })).status, 416);
    for (const range of ['bytes=0-1,5-6', 'bytes=abc', 'items=0-1', 'bytes=5-2']) {
      const reply = await raw(port, '/a.txt', 'GET', { Range: range });
      assert.equal(reply.status, 200, range);
      assert.deepEqual(reply.body, files.get('a.txt'), range);
    }
    const etag = (await raw(port, '/big.bin', 'HEAD')).headers.etag;
    assert.equal((await raw(port, '/big.bin', 'GET', { Range: 'bytes=0-3', 'If-Range': '"stale"' })).status, 200, 'a stale If-Range sends everything');
    assert.equal((await raw(port, '/big.bin', 'GET', { Range: 'bytes=0-3', 'If-Range': etag.slice(2) })).status, 206);
  });

  it('directories: their index.html, or 404; never a listing; without the slash, a redirect to it', { timeout }, async () => {
    const reply = await raw(port, '/sub/');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(reply.body, files.get('sub/index.html'));
    for (const [target, location] of [
      ['/sub', '/sub/'],
      ['/sub?x=1&y=%20', '/sub/?x=1&y=%20'],
      ['/empty', '/empty/'],
    ]) {
      const moved = await raw(port, target);
      assert.equal(moved.status, 301, target);
      assert.equal(moved.headers.location, location, target);
    }
    assert.equal((await raw(port, '/empty/')).status, 404);
    assert.equal((await raw(port, '/')).status, 404);
  });

  it('misses are 404, dotfiles too; other methods 405 with Allow', { timeout }, async () => {
    for (const target of ['/nope', '/a.txt/more', '/.hidden', '/sub/.x', '/%2ehidden']) assert.equal((await raw(port, target)).status, 404, target);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const reply = await raw(port, '/a.txt', method);
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'GET, HEAD');
    }
  });

  it('nothing outside the root: traversal is 403, malformed is 400, links out are 404', { timeout }, async () => {
    const forbidden = ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/..%2fsecret.txt', '/sub%2f..%2f..%2fsecret.txt', '/..%5csecret.txt', '/..\\secret.txt', '/.', '/sub/%2e'];
    for (const target of forbidden) {
      const reply = await raw(port, target);
      assert.equal(reply.status, 403, target);
      assert.ok(!reply.body.includes(secret), target);
    }
    const malformed = ['/%', '/%zz', '/a%00.txt', '/%c0%ae%c0%ae/secret.txt', '/%ff', '/%ed%a0%80', 'secret.txt', '*'];
    for (const target of malformed) {
      const reply = await raw(port, target);
      assert.equal(reply.status, 400, target);
    }
    for (const target of ['/out-link', '/rel-out', '/out-dir/secret.txt', '//etc/passwd', '/etc/passwd']) {
      const reply = await raw(port, target);
      assert.equal(reply.status, 404, target);
      assert.ok(!reply.body.includes(secret), target);
    }
    assert.deepEqual((await raw(port, '/in-link')).body, files.get('a.txt'), 'a link inside the root is served');
    assert.deepEqual((await raw(port, '/sub/rel-in')).body, files.get('a.txt'), 'a relative link inside the root too');
  });

  it("the decode and normalise mismatches of 2026's advisories: each class is refused or a miss, never the secret", { timeout }, async () => {
    const cases: [string, number][] = [
      ['/%252e%252e/secret.txt', 404], // decoded once: a segment named '%2e%2e', not '..'
      ['/%252e%252e%252fsecret.txt', 404],
      ['/sub/%2e%2e/%2e%2e/secret.txt', 403],
      ['/sub/%2E%2E%2Fsecret.txt', 403],
      ['//secret.txt', 404], // '//' is no way up
      ['///../secret.txt', 403],
      ['/./a.txt', 403], // a '.' segment is refused before any file is touched (serve-static normalises it)
      ['/sub/./index.html', 403],
      ['/A.TXT', 404], // names are the file system's: case-sensitive here
      ['/SUB/', 404],
      [`/${'a'.repeat(300)}`, 404], // ENAMETOOLONG
      [`/${'a'.repeat(300)}/x`, 404],
      ['/a.txt/x', 404], // ENOTDIR
      ['/a.txt/', 404],
    ];
    for (const [target, status] of cases) {
      const reply = await raw(port, target);
      assert.equal(reply.status, status, target);
      assert.ok(!reply.body.includes(secret), target);
    }
  });

  it('a file that appears and disappears while it is asked for: 200 with its bytes or 404, never 500', { timeout }, async () => {
    const name = path.join(root, 'flicker.txt');
    const bytes = Buffer.from('here now\n');
    let on = true;
    const flicker = setInterval(() => {
      if (on) fs.writeFileSync(name, bytes);
      else fs.rmSync(name, { force: true });
      on = !on;
    }, 1);
    try {
      const seen = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const reply = await raw(port, '/flicker.txt');
        seen.add(reply.status);
        assert.ok(reply.status === 200 || reply.status === 404, `status ${reply.status}`);
        if (reply.status === 200) assert.ok(bytes.subarray(0, reply.body.length).equals(reply.body) && reply.body.length <= bytes.length);
      }
    } finally {
      clearInterval(flicker);
      fs.rmSync(name, { force: true });
    }
  });

  it('fuzz: every 200 is a file under the root, byte for byte', { timeout }, async () => {
    // A precompressed sibling, and one beside a dotfile (never to be served for it).
    const siblings = new Map([
      ['sub/index.html.br', zlib.brotliCompressSync(files.get('sub/index.html')!)],
      ['.hidden.gz', zlib.gzipSync(files.get('.hidden')!)],
    ]);
    for (const [name, bytes] of siblings) fs.writeFileSync(path.join(root, name), bytes);
    const contents = [...files.values(), siblings.get('sub/index.html.br')!].map((b) => b.toString('latin1'));
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '%2f', '%5c', '\\', '%00', '%c0%ae', '%e0%80%ae', 'sub', 'a.txt', 'out-dir', 'out-link', 'secret.txt', 'index.html', '', '%', '%2', '..%2f', '.hidden', 'in-link', 'rel-out', 'rel-in'),
      fc.string({ maxLength: 6 }).map((s) => encodeURIComponent(s)),
      fc.stringMatching(/^[a-z.%0-9]{0,6}$/),
    );
    // A second server answers a miss with an SPA's shell (single): that fallback may not reach
    // out of the root, a dotfile or its sibling either.
    const spa = await listen(serveStatic(root, { context, extensions: ['html'], preCompressed: true, single: 'sub/index.html' }));
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 5 }), fc.constantFrom('', 'br', 'gzip', 'br, gzip', '*'), fc.boolean(), async (segments, encodings, single) => {
        const target = `/${segments.join('/')}`;
        const reply = await raw(single ? spa.port : port, target.replace(/[\s]/g, '%20'), 'GET', encodings ? { 'Accept-Encoding': encodings } : {});
        assert.ok([200, 301, 400, 403, 404].includes(reply.status), `${target}: ${reply.status}`);
        // A redirect stays on this site: a path, never protocol-relative (//host) or absolute.
        if (reply.status === 301) assert.match(String(reply.headers.location), /^\/(?![/\\])/, `${target}: Location ${reply.headers.location}`);
        assert.ok(!reply.body.includes(secret), `${target} served the secret`);
        if (reply.status === 200) assert.ok(contents.includes(reply.body.toString('latin1')), `${target}: a body that is no file of the root`);
        assert.ok(!reply.body.equals(siblings.get('.hidden.gz')!), `${target}: a dotfile's sibling`);
      }),
      { numRuns: 400 },
    );
    spa.server.closeAllConnections();
    await new Promise((resolve) => spa.server.close(resolve));
    for (const name of siblings.keys()) fs.rmSync(path.join(root, name));
  });

  it('a client that goes away mid-body stops the reads and leaks no fd', { timeout }, async () => {
    const huge = path.join(root, 'huge.bin');
    fs.writeFileSync(huge, Buffer.alloc(64 << 20, 7));
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let received = 0;
        socket.on('data', (chunk) => {
          received += chunk.length;
          if (received > 1 << 20) socket.destroy();
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
        socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    }
    // Let the server notice and close: the fd goes when the close runs, its completion comes after.
    for (let i = 0; i < 100 && (fds() > before || context.stats().inFlight > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(fds() <= before, `fds before ${before}, after ${fds()}`);
    assert.equal(context.stats().inFlight, 0);
    fs.unlinkSync(huge);
  });

  it('large bodies: inside the kernel on uring (file, pipe, socket), whole and in order, to slow readers too', { timeout }, async (t) => {
    const big = files.get('big.bin')!;
    const spliced = spliceCounts.bytes;
    // Pipelined: the second large body waits for the first, whichever way each is sent.
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=70000-\r\nConnection: close\r\n\r\n');
    });
    const bodies: Buffer[] = [];
    for (let at = 0; at < reply.length; ) {
      const split = reply.indexOf('\r\n\r\n', at);
      const length = Number(/content-length: (\d+)/i.exec(reply.subarray(at, split).toString('latin1'))![1]);
      bodies.push(reply.subarray(split + 4, split + 4 + length));
      at = split + 4 + length;
    }
    assert.equal(bodies.length, 3);
    assert.ok(bodies[0].equals(big), 'the first large body, whole');
    assert.deepEqual(bodies[1], files.get('a.txt'));
    assert.ok(bodies[2].equals(big.subarray(70000)), 'the ranged large body, whole');
    // A reader that takes its time: the socket's buffer fills, and sending waits for it.
    const large = path.join(root, 'large.bin');
    const content = pattern(24 << 20, 9);
    fs.writeFileSync(large, content);
    const waits = spliceCounts.waits;
    const resident = spliceCounts.resident;
    const slow = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.pause();
      setTimeout(() => socket.resume(), 300);
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.write('GET /large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    fs.unlinkSync(large);
    const body = slow.subarray(slow.indexOf('\r\n\r\n') + 4);
    assert.equal(body.length, content.length);
    assert.ok(body.equals(content), 'a slowly read body, whole');
    if (backend === 'uring') {
      assert.ok(spliceCounts.bytes - spliced >= content.length, 'the large bodies were spliced');
      assert.ok(spliceCounts.waits > waits, 'the full socket (EAGAIN) was waited for');
      // Just written, so in memory: after the first pipe-full the file's side is spliced at once.
      if (!noCachestat()) assert.ok(spliceCounts.resident - resident >= content.length - (1 << 20), 'the pages in memory were spliced at once');
      else t.diagnostic(`not checked: the pages in memory spliced at once (${noCachestat()})`);
    } else {
      assert.equal(spliceCounts.bytes, spliced, `${backend} sends bodies through memory`);
    }
  });

  it('a large body whose pages are not in memory yet (a sparse file): whole, through the ring where it must', { timeout }, async () => {
    const sparse = path.join(root, 'sparse.bin');
    fs.writeFileSync(sparse, '');
    fs.truncateSync(sparse, 5 << 20);
    try {
      const reply = await raw(port, '/sparse.bin');
      assert.equal(reply.status, 200);
      assert.equal(reply.body.length, 5 << 20);
      assert.ok(reply.body.every((byte) => byte === 0), 'a hole reads as zeros');
    } finally {
      fs.unlinkSync(sparse);
    }
  });

  it('the internal splice settles a failure with its negative errno, and an abort with an AbortError', { timeout }, async () => {
    const fd = fs.openSync(path.join(root, 'a.txt'), 'r');
    try {
      // The output is not open for writing: the kernel refuses (EBADF); aio and threads cannot splice at all.
      const result = await context[spliceFd](fd, 0, fd, 10);
      assert.equal(result, backend === 'uring' ? -EBADF : -EOPNOTSUPP);
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(context[spliceFd](fd, 0, fd, 10, controller.signal), { name: 'AbortError' });
    } finally {
      fs.closeSync(fd);
    }
  });

  it('the headers leave with the first bytes of the body, never in a packet of their own', { timeout }, async () => {
    // Spliced bodies cork the socket (splice-body.ts); through memory, Node joins them to the first chunk.
    for (let i = 0; i < 3; i++) {
      const first = await new Promise<Buffer>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('data', (chunk) => {
          socket.destroy();
          resolve(chunk);
        });
        socket.on('error', reject);
        socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      });
      const head = first.indexOf('\r\n\r\n');
      assert.ok(head > 0, 'the first read holds the whole head');
      assert.ok(first.length > head + 4, `the first read holds body bytes too (${first.length} bytes, head ${head + 4})`);
      assert.ok(first.subarray(head + 4).equals(files.get('big.bin')!.subarray(0, first.length - head - 4)));
    }
  });

  it('keep-alive: pipelined requests are answered in order', { timeout }, async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
      socket.write('GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    const order = [...reply.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
    assert.deepEqual(order, ['200', '200', '404']);
    assert.ok(reply.indexOf('hello, a') < reply.indexOf('<h1>sub</h1>'));
  });

  it('a client that stops reading: the server gives up (signal), the connection ends, nothing leaks', { timeout }, async () => {
    const huge = path.join(root, 'stuck.bin');
    fs.writeFileSync(huge, Buffer.alloc(64 << 20, 3));
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    let sending: Promise<void> | undefined;
    const { server: other, port: otherPort } = await listen((req, res) => {
      sending = sendFile(res, huge, { context, signal: AbortSignal.timeout(500) });
    });
    const before = fds();
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const socket = net.connect(otherPort, '127.0.0.1');
        let bytes = 0;
        socket.pause(); // reads nothing until the server has given up
        socket.on('data', (chunk) => (bytes += chunk.length));
        socket.on('close', () => resolve(bytes));
        socket.on('error', () => resolve(bytes));
        socket.on('connect', () => {
          socket.write('GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n');
          setTimeout(() => socket.resume(), 1500);
        });
        setTimeout(() => reject(new Error('the connection never ended')), 20_000);
      });
      assert.ok(received < 64 << 20, `the client got ${received} bytes of a body the server abandoned`);
      await sending;
      for (let i = 0; i < 100 && (fds() > before || context.stats().inFlight > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(fds() <= before, `fds before ${before}, after ${fds()}`);
      assert.equal(context.stats().inFlight, 0);
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
      fs.unlinkSync(huge);
    }
  });

  it('a FIFO, a Unix socket or a file named with a trailing slash is 404, and a FIFO never holds a thread (five requests, then a file)', { timeout }, async () => {
    const fifo = path.join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const socketPath = path.join(root, 'sock');
    const listening = net.createServer().listen(socketPath);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await raw(port, '/fifo')).status, 404);
      assert.equal((await raw(port, '/sock')).status, 404);
      assert.equal((await raw(port, '/a.txt/')).status, 404);
      const file = await raw(port, '/a.txt');
      assert.equal(file.status, 200);
      assert.ok(file.body.equals(files.get('a.txt')!));
    } finally {
      listening.close();
      fs.unlinkSync(fifo);
    }
  });

  it('If-Modified-Since that is no HTTP-date is ignored (200); each of the three date forms is read', { timeout }, async () => {
    const mtime = Math.floor(fs.statSync(path.join(root, 'a.txt')).mtimeMs / 1000) * 1000;
    const later = new Date(mtime + 3600_000);
    for (const value of ['99999', '1', 'tomorrow', '2999', `${later.toUTCString()} junk`]) {
      assert.equal((await raw(port, '/a.txt', 'GET', { 'If-Modified-Since': value })).status, 200, value);
    }
    const day = later.toUTCString().slice(0, 3);
    const long = { Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday', Sun: 'Sunday' }[day]!;
    const [, dd, mon, yyyy, time] = later.toUTCString().split(' ');
    const forms = [later.toUTCString(), `${long}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`, `${day} ${mon} ${String(Number(dd)).padStart(2, ' ')} ${time} ${yyyy}`];
    for (const value of forms) assert.equal((await raw(port, '/a.txt', 'GET', { 'If-Modified-Since': value })).status, 304, value);
  });

  it('behind a response-wrapping middleware (compression), every body goes through it: gzip a client can decode, large ones too', { timeout }, async () => {
    const zipped = compression({ threshold: 0, filter: () => true });
    const handler = serveStatic(root, { context });
    const { server: other, port: otherPort } = await listen((req, res) => zipped(req as never, res as never, () => void handler(req, res)));
    try {
      for (const name of ['a.txt', 'big.bin']) {
        const reply = await raw(otherPort, `/${name}`, 'GET', { 'Accept-Encoding': 'gzip' });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers['content-encoding'], 'gzip', name);
        const body = reply.headers['transfer-encoding'] === 'chunked' ? dechunk(reply.body) : reply.body;
        assert.ok(zlib.gunzipSync(body).equals(files.get(name)!), name);
      }
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('a root that is replaced (mv root root.old; mkdir root) or re-pointed (an atomic deploy swapping a symbolic link) is followed from the next request', { timeout }, async () => {
    const top = scratchPath('deploys');
    fs.mkdirSync(path.join(top, 'releases', '1'), { recursive: true });
    fs.mkdirSync(path.join(top, 'releases', '2'), { recursive: true });
    fs.writeFileSync(path.join(top, 'releases', '1', 'v.txt'), 'one');
    fs.writeFileSync(path.join(top, 'releases', '2', 'v.txt'), 'two');
    fs.symlinkSync('releases/1', path.join(top, 'current'));
    const plain = path.join(top, 'plain');
    fs.mkdirSync(plain);
    fs.writeFileSync(path.join(plain, 'v.txt'), 'old');
    const byLink = serveStatic(path.join(top, 'current'), { context });
    const byName = serveStatic(plain, { context });
    const { server: other, port: otherPort } = await listen((req, res) => void (req.url!.startsWith('/link/') ? byLink : byName)(Object.assign(req, { url: req.url!.replace(/^\/(link|name)/, '') }), res));
    const body = async (url: string) => (await raw(otherPort, url)).body.toString();
    try {
      assert.equal(await body('/link/v.txt'), 'one');
      assert.equal(await body('/name/v.txt'), 'old');
      // The deploy: a new link renamed over the old one, atomically.
      fs.symlinkSync('releases/2', path.join(top, 'next'));
      fs.renameSync(path.join(top, 'next'), path.join(top, 'current'));
      fs.renameSync(plain, `${plain}.old`);
      fs.mkdirSync(plain);
      fs.writeFileSync(path.join(plain, 'v.txt'), 'new');
      assert.equal(await body('/link/v.txt'), 'two');
      assert.equal(await body('/name/v.txt'), 'new');
      // A link out of the new root is still refused.
      fs.symlinkSync(path.join(top, 'releases', '1', 'v.txt'), path.join(top, 'releases', '2', 'out'));
      assert.equal((await raw(otherPort, '/link/out')).status, 404);
      // A root that is gone is a miss, and back again is served.
      fs.renameSync(plain, `${plain}.gone`);
      assert.equal((await raw(otherPort, '/name/v.txt')).status, 404);
      fs.renameSync(`${plain}.gone`, plain);
      assert.equal(await body('/name/v.txt'), 'new');
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('sendFile: root, start/end, headers; next() from serveStatic on a miss', { timeout }, async () => {
    const { server: other, port: otherPort } = await listen((req, res) => {
      if (req.url === '/report') void sendFile(res, 'big.bin', { root, context, start: 100, end: 199, headers: { 'Cache-Control': 'max-age=60' } });
      else if (req.url === '/escape') void sendFile(res, '../secret.txt', { root, context });
      else if (req.url === '/absolute') void sendFile(res, path.join(root, 'a.txt'), { context });
      else {
        const handler = serveStatic(root, { context });
        void handler(req, res, () => {
          res.writeHead(299, { 'Content-Type': 'text/plain', 'Content-Length': 4 });
          res.end('next');
        });
      }
    });
    try {
      const report = await raw(otherPort, '/report');
      assert.equal(report.status, 200);
      assert.equal(report.headers['cache-control'], 'max-age=60');
      assert.ok(report.body.equals(files.get('big.bin')!.subarray(100, 200)));
      const ranged = await raw(otherPort, '/report', 'GET', { Range: 'bytes=10-19' });
      assert.equal(ranged.headers['content-range'], 'bytes 10-19/100');
      assert.ok(ranged.body.equals(files.get('big.bin')!.subarray(110, 120)));
      assert.equal((await raw(otherPort, '/escape')).status, 403);
      assert.deepEqual((await raw(otherPort, '/absolute')).body, files.get('a.txt'));
      const missed = await raw(otherPort, '/nope');
      assert.equal(missed.status, 299);
      assert.equal(missed.body.toString(), 'next');
      assert.equal((await raw(otherPort, '/a.txt', 'POST')).status, 299, 'with next, other methods go on');
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

it('bad arguments are TypeErrors with codes', { timeout }, async () => {
  assert.throws(() => serveStatic(42 as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => serveStatic('.', { dotfiles: 'yes' } as never), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => serveStatic('.', { index: '../x' }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => serveStatic('.', { bogus: 1 } as never), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => serveStatic('.', { context: {} } as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => serveStatic('.', { etag: 'yes' } as never), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sendFile({} as never, '/x'), { code: 'ERR_INVALID_ARG_TYPE' });
});

it('many slow clients on uring: an unprivileged server\'s pipes stay within a quarter of the user\'s pipe budget, so that other processes of the user keep full-size pipes; a client holds its socket and file beyond that', { timeout, skip: (!backends()[0].available && 'uring unavailable') || (process.platform !== 'linux' && 'Linux pipes') }, (t) => {
  const fixture = fileURLToPath(new URL('./fixtures/slow-clients.js', import.meta.url));
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-slow-'));
  try {
    fs.chmodSync(top, 0o755);
    fs.writeFileSync(path.join(top, 'slow.bin'), pattern(4 << 20, 7), { mode: 0o644 });
    const count = 80; // at 1 MiB a pipe, more than the user's whole budget
    const run = (asNobody: boolean) => {
      const argv = [process.execPath, fixture, top, String(count)];
      const child = asNobody ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { encoding: 'utf8', timeout: 60_000 }) : spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as { holdings: { bytes: number; budget: number | null }; extraFds: number; otherPipe: number };
    };
    const check = (report: ReturnType<typeof run>) => {
      const piped = Math.ceil(report.holdings.bytes / (1 << 20));
      // Each client: its socket on both ends and the file; a spliced body's pipe (two fds) and socket duplicate besides.
      assert.ok(report.extraFds <= 3 * count + 3 * piped + 4, `${report.extraFds} fds for ${count} slow clients (${piped} pipes)`);
    };
    check(run(false));
    if (process.getuid?.() !== 0) return t.skip('the budget run needs root, to run as nobody (a user the kernel counts pipes for)');
    if (!othersCanRead(fixture)) return t.skip('this checkout is in a directory other users cannot enter, so the server cannot run as nobody');
    const unprivileged = run(true);
    check(unprivileged);
    const budget = (Number(fs.readFileSync('/proc/sys/fs/pipe-user-pages-soft', 'utf8')) * 4096) / 4;
    assert.equal(unprivileged.holdings.budget, budget);
    assert.ok(unprivileged.holdings.bytes <= budget, `pipes hold ${unprivileged.holdings.bytes} bytes, over the budget of ${budget}`);
    if (unprivileged.otherPipe !== 0) assert.equal(unprivileged.otherPipe, 65536, 'another process of the user gets a full-size pipe');
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
