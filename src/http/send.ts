/**
 * One file as one HTTP response, for node:http's ServerResponse (and what Express, connect and
 * Fastify's `reply.raw` hand over, which is the same object): status, headers, body.
 *
 * The file is opened, checked and stat'ed through an IoContext (on io_uring: on the event loop,
 * no thread hop), then sent as the request asks: 304 when the client's copy is fresh (ETag,
 * Last-Modified), 206 for one satisfiable byte range, 416 for an unsatisfiable one, HEAD without
 * a body. A large body on a plain TCP socket moves file -> socket inside the kernel where the
 * backend can (splice-body.ts); otherwise it is read in chunks through the context, one read
 * ahead of the socket, never faster than the socket drains. A client that goes away stops the
 * transfer, and the fd is closed only once no operation on it is in flight.
 */
import fs, { promises as fsp, type Stats } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { type IoContext, openBeneath } from '../context.js';
import { getDefaultContext } from '../create-context.js';
import { abortError } from '../errors.js';
import { readFully } from '../file/transfer.js';
import { contentType } from './content-type.js';
import { spliceBody, spliceTarget } from './splice-body.js';

/** Bytes per read of a body: large enough that a 64 MiB file is 256 reads, small enough to start at once. */
const CHUNK = 256 * 1024;
/**
 * Bodies of at least this many bytes move file -> socket inside the kernel where they can
 * (splice-body.ts); smaller ones cost less as one read and one write with the headers.
 */
const SPLICE_FROM = 64 * 1024;

/** How a file is served; every field has its default filled in (see sendFile's options). */
export interface ServeSettings {
  context: IoContext | undefined;
  etag: boolean;
  lastModified: boolean;
  /** The Cache-Control header sent unless the response has one (undefined: none). */
  cacheControl: string | undefined;
  /** Send Accept-Ranges and answer Range. */
  acceptRanges: boolean;
  /** Called with the response, the file's path and its stats before the headers are built: what it sets stands. */
  setHeaders: ((res: ServerResponse, path: string, stats: Stats) => void) | undefined;
  headers: OutgoingHttpHeaders | undefined;
  /** 'inside': a file whose real path leaves `root` (through a symbolic link) is not served. */
  symlinks: 'inside' | 'follow';
  signal: AbortSignal | undefined;
  /** The byte range of the file that is the representation (sendFile's start/end). */
  start: number;
  end: number;
}

/** What became of a request for a file. 'missing' and 'directory' have sent nothing yet. */
export type Outcome = 'sent' | 'missing' | 'directory';

/** The directory a served file must stay in: its real path, and a directory fd of it for openat2 where one can be had. */
export interface Confinement {
  readonly real: string;
  dirfd(): number | undefined;
}

/**
 * Open flags of a served file: read only, and without waiting. A FIFO (or a device that waits for
 * a peer) opened for reading blocks its open until a writer comes; on the thread pool that is a
 * pool thread lost for good, four of them every later request. O_NONBLOCK opens it at once, and
 * the file type check then refuses it; on a regular file the flag changes nothing. io_uring
 * opens without waiting by itself (a first attempt made non-blocking), and its reads are left
 * exactly as they are.
 */
function openFlags(context: IoContext): number {
  return context.backend === 'uring' ? fs.constants.O_RDONLY : fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;
}

/**
 * Serve `file` (absolute) for `req` on `res`. `root` is the directory it must stay in (when
 * settings.symlinks is 'inside'). Errors other than a missing file are answered (403, 500); a
 * missing file or a directory is left to the caller. With `directoryOnly` (a URL that ends in a
 * slash), a file is missing, as it is to the kernel ('file.txt/' is ENOTDIR) and to send.
 */
export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: string,
  root: Confinement | undefined,
  settings: ServeSettings,
  directoryOnly = false,
): Promise<Outcome> {
  const context = settings.context ?? getDefaultContext();
  const opened = await openServed(context, file, root, settings, directoryOnly);
  if (opened === 'missing' || opened === 'directory') return opened;
  if ('error' in opened) return failed(res, req, opened.error);
  return sendOpened(req, res, context, opened.fd, file, opened.stats, settings);
}

/** Send the open regular file `fd` (see respond), then close it: 'sent', or 'missing' for an error that means no file. */
export async function sendOpened(req: IncomingMessage, res: ServerResponse, context: IoContext, fd: number, file: string, stats: Stats, settings: ServeSettings): Promise<Outcome> {
  let inFlight: Promise<unknown> | undefined;
  try {
    const sent = respond(req, res, context, fd, file, stats, settings);
    inFlight = sent;
    await sent;
    return 'sent';
  } catch (error) {
    if (!res.headersSent) return failed(res, req, error);
    res.destroy(error as Error);
    return 'sent';
  } finally {
    await inFlight?.catch(() => undefined);
    await context.closeFd(fd).catch(() => undefined);
  }
}

/**
 * Open `file` (absolute) to serve it: its fd and stats, which the caller closes; or 'missing'
 * (nothing there, a link out of `root`, a FIFO, a device, a socket, a file named with a trailing
 * slash), 'directory', or the error that stopped it, with the fd closed.
 */
export async function openServed(
  context: IoContext,
  file: string,
  root: Confinement | undefined,
  settings: Pick<ServeSettings, 'symlinks'>,
  directoryOnly = false,
): Promise<{ fd: number; stats: Stats } | 'missing' | 'directory' | { error: unknown }> {
  const confine = root !== undefined && settings.symlinks === 'inside';
  let fd: number;
  /** The open itself kept the path under the root (openat2 RESOLVE_BENEATH). */
  let confined = false;
  try {
    const beneath = confine ? await openUnder(context, root!, file) : undefined;
    confined = beneath !== undefined;
    fd = beneath ?? (await context.open(file, openFlags(context)));
  } catch (error) {
    return missingOn(error) ? 'missing' : { error };
  }
  let kept = false;
  try {
    if (confine && !confined && !inside(await realPathOf(fd, file), root!.real)) return 'missing';
    const stats = await context.stat(fd);
    if (stats.isDirectory()) return 'directory';
    if (!stats.isFile() || directoryOnly) return 'missing'; // a FIFO, a device, a socket: never read on behalf of a client
    kept = true;
    return { fd, stats };
  } catch (error) {
    return missingOn(error) ? 'missing' : { error };
  } finally {
    if (!kept) await context.closeFd(fd).catch(() => undefined);
  }
}

/** Errors of an open or a stat that mean "no file to serve here": the caller's miss. */
function missingOn(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ENXIO: a Unix socket (or a device without its driver), which open(2) refuses: no file to serve.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'ENODEV';
}

/** Answer an error from opening or reading: 404 is the caller's ('missing'), the rest is ours. */
function failed(res: ServerResponse, req: IncomingMessage, error: unknown): Outcome {
  if (missingOn(error)) return 'missing';
  sendStatus(req, res, errorStatus(error));
  return 'sent';
}

/** The status of an error that is no miss: 403 for one the server may not read, else 500. */
export function errorStatus(error: unknown): 403 | 500 {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 403 : 500;
}

/** A short plain-text answer with `status` (no body for HEAD). */
export function sendStatus(req: IncomingMessage, res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  const body = `${status} ${statusText[status] ?? 'Error'}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export const statusText: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
  500: 'Internal Server Error',
};

/** Contexts whose backend or kernel has no openat2. */
const withoutOpenat2 = new WeakSet<IoContext>();

/**
 * Open `file` (under `root`) so that the kernel refuses any way out of the root while resolving
 * it (openat2 RESOLVE_BENEATH, io_uring only): the open is then the containment check, and the
 * procfs check is not needed. Undefined when this cannot decide, and the open by name with the
 * procfs check does: a symbolic link (an absolute one, even pointing inside, is refused here), a
 * missing name (the root may have been replaced since its fd was opened), no openat2.
 */
async function openUnder(context: IoContext, root: Confinement, file: string): Promise<number | undefined> {
  if (context.backend !== 'uring' || withoutOpenat2.has(context)) return undefined;
  const dirfd = root.dirfd();
  if (dirfd === undefined) return undefined;
  try {
    return await context[openBeneath](dirfd, path.relative(root.real, file) || '.', file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EINVAL') withoutOpenat2.add(context);
    else if (code !== 'EXDEV' && code !== 'ELOOP' && code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    return undefined;
  }
}

/**
 * Where the opened file really is: the kernel's name for the fd, race-free (a link swapped after
 * the open changes nothing). Read synchronously on purpose: procfs builds it from the dentry
 * cache, with no storage behind it, in about a microsecond, where a trip to the thread pool
 * would cost tens. Without /proc (a container may lack it): realpath, on the pool.
 */
async function realPathOf(fd: number, file: string): Promise<string> {
  if (process.platform === 'linux') {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // no /proc: fall through
    }
  }
  return fsp.realpath(file);
}

function inside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** What the answer for a file depends on in a request: its method and headers (node:http's, names in lower case). */
export interface RequestLike {
  method?: string;
  headers: IncomingHttpHeaders;
}

/**
 * The answer for a regular file: 412 or 416 (an error answer with these headers), 304 (these
 * headers, no body), or `status` with these headers and `length` bytes of the file from
 * `position`. `status` is the response's own (200 unless a handler before set another, as for a
 * custom 404 page); only a 2xx one is conditional or partial, as in send. `existing` are the
 * headers the response has already (a default is added only where it has none).
 */
export type Answer =
  | { kind: 'error'; status: 412 | 416; headers: OutgoingHttpHeaders }
  | { kind: 'not-modified'; headers: OutgoingHttpHeaders }
  | { kind: 'body'; status: number; headers: OutgoingHttpHeaders; position: number; length: number };

export function planAnswer(
  req: RequestLike,
  status: number,
  existing: { has(name: string): boolean; get(name: string): unknown },
  file: string,
  stats: Stats,
  settings: ServeSettings,
): Answer {
  const first = Math.min(settings.start, stats.size);
  const last = Math.min(settings.end, stats.size - 1);
  const size = Math.max(0, last - first + 1);
  const headers: OutgoingHttpHeaders = {};
  const byDefault = (name: string, value: string | undefined) => {
    if (value !== undefined && !existing.has(name)) headers[name] = value;
  };
  byDefault('Accept-Ranges', settings.acceptRanges ? 'bytes' : undefined);
  byDefault('Cache-Control', settings.cacheControl);
  byDefault('Content-Type', contentType(path.basename(file)));
  byDefault('ETag', settings.etag ? `W/"${size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"` : undefined);
  byDefault('Last-Modified', settings.lastModified ? stats.mtime.toUTCString() : undefined);
  Object.assign(headers, settings.headers);
  const header = (name: string) => {
    const value = headers[name] ?? existing.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const etag = header('ETag');
  const modified = header('Last-Modified');
  const cachable = status >= 200 && status < 300;
  if (cachable && preconditionFailed(req, etag, modified)) return { kind: 'error', status: 412, headers: {} };
  if (cachable && notModified(req, etag, modified)) {
    // Without the body's own fields, as send's 304 (Accept-Ranges, the validators and Cache-Control stay).
    const { 'Content-Type': _type, ...kept } = headers;
    return { kind: 'not-modified', headers: kept };
  }
  const range = cachable && settings.acceptRanges ? rangeOf(req, size, etag, modified) : undefined;
  if (range === 'unsatisfiable') return { kind: 'error', status: 416, headers: { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' } };
  if (!range) return { kind: 'body', status, headers: { ...headers, 'Content-Length': size }, position: first, length: size };
  const length = range.end - range.start + 1;
  return {
    kind: 'body',
    status: 206,
    headers: { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': length },
    position: first + range.start,
    length,
  };
}

/** Status, headers and body of `fd` (a regular file) for `req` on node:http's `res` (see planAnswer). */
async function respond(req: IncomingMessage, res: ServerResponse, context: IoContext, fd: number, file: string, stats: Stats, settings: ServeSettings): Promise<void> {
  settings.setHeaders?.(res, file, stats);
  if (res.headersSent) return; // setHeaders answered itself
  const answer = planAnswer(req, res.statusCode || 200, { has: (name) => res.hasHeader(name), get: (name) => res.getHeader(name) }, file, stats, settings);
  if (answer.kind === 'error') {
    sendStatus(req, res, answer.status, answer.headers);
    return;
  }
  if (answer.kind === 'not-modified') {
    for (const name of ['Content-Type', 'Content-Length']) res.removeHeader(name);
    res.writeHead(304, answer.headers);
    res.end();
    return;
  }
  res.writeHead(answer.status, answer.headers);
  if (req.method === 'HEAD' || answer.length === 0) {
    res.end();
    return;
  }
  await sendBody(res, context, fd, answer.position, answer.length, settings.signal);
}

/** An entity tag without its weakness mark, for the weak comparison (RFC 9110 8.8.3.2). */
const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * RFC 9110 13.1.1/13.1.4, as send answers them: If-Match that matches no tag (weak comparison,
 * as send's), or, without If-Match, If-Unmodified-Since older than Last-Modified (or no
 * Last-Modified to compare): 412.
 */
function preconditionFailed(req: RequestLike, etag: string | undefined, modified: string | undefined): boolean {
  const match = req.headers['if-match'];
  if (match !== undefined) {
    if (!etag) return true;
    return match.trim() !== '*' && !match.split(',').some((tag) => opaque(tag) === opaque(etag));
  }
  const header = req.headers['if-unmodified-since'];
  const unmodifiedSince = header === undefined ? NaN : httpDate(header);
  if (Number.isNaN(unmodifiedSince)) return false;
  const lastModified = modified === undefined ? NaN : Date.parse(modified);
  return Number.isNaN(lastModified) || lastModified > unmodifiedSince;
}

/**
 * RFC 9110 13.1.2/13.1.3: If-None-Match decides when present (weak comparison), else
 * If-Modified-Since; a request that says `Cache-Control: no-cache` wants the body all the same.
 */
function notModified(req: RequestLike, etag: string | undefined, modified: string | undefined): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const noneMatch = req.headers['if-none-match'];
  const since = req.headers['if-modified-since'];
  if (noneMatch === undefined && since === undefined) return false;
  const cacheControl = req.headers['cache-control'];
  if (cacheControl !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(cacheControl)) return false;
  if (noneMatch !== undefined) {
    if (!etag) return false;
    return noneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
  }
  const time = httpDate(since!);
  const lastModified = modified === undefined ? NaN : Date.parse(modified);
  return !Number.isNaN(time) && !Number.isNaN(lastModified) && lastModified <= time;
}

/**
 * An HTTP-date (RFC 9110 5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms) as
 * milliseconds, NaN for anything else: Date.parse alone takes '99999' as a year, which made a
 * header that is no date answer 304; a recipient must ignore such a header.
 */
function httpDate(value: string): number {
  const text = value.trim();
  const imf = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
  const rfc850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
  const asctime = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
  if (imf.test(text) || rfc850.test(text)) return Date.parse(text);
  if (asctime.test(text)) return Date.parse(`${text} GMT`);
  return NaN;
}

/**
 * The one byte range `Range` asks for (RFC 9110 14.1.2), within `size` bytes; undefined to send
 * everything (no Range, several ranges, a malformed one, or an If-Range that no longer matches).
 */
function rangeOf(req: RequestLike, size: number, etag: string | undefined, modified: string | undefined): { start: number; end: number } | 'unsatisfiable' | undefined {
  const header = req.headers.range;
  if (header === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return undefined;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== etag?.replace(/^W\//, '') && ifRange !== modified) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? Infinity : Number(match[2]);
  if (end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/**
 * `length` bytes of `fd` from `position` to `res`: one read ahead of the socket, waiting for it to
 * drain. Stops when the client goes away or `signal` aborts; returns once no read is in flight.
 */
async function sendBody(res: ServerResponse, context: IoContext, fd: number, position: number, length: number, signal: AbortSignal | undefined): Promise<void> {
  const socketFd = length >= SPLICE_FROM ? spliceTarget(res, context) : undefined;
  if (socketFd !== undefined) {
    const { sent, unsupported } = await spliceBody(res, context, fd, socketFd, position, length, signal);
    if (sent === length) {
      res.end();
      return;
    }
    if (signal?.aborted) {
      res.destroy(abortError(signal));
      return;
    }
    if (res.destroyed) return;
    if (!unsupported) {
      res.destroy(new Error(`the file ended ${length - sent} bytes early`));
      return;
    }
    // The kernel cannot splice here: the rest through memory.
    position += sent;
    length -= sent;
  }
  let gone = res.destroyed;
  const stop = () => {
    gone = true;
    wake?.();
  };
  let wake: (() => void) | undefined;
  const onAbort = () => {
    stop();
    res.destroy(abortError(signal!));
  };
  res.once('close', stop);
  signal?.addEventListener('abort', onAbort, { once: true });
  const read = (at: number, size: number) => {
    const bytes = Buffer.allocUnsafe(size);
    return readFully(context, fd, bytes, at).then((n) => (n < size ? bytes.subarray(0, n) : bytes));
  };
  let left = length;
  let next: Promise<Buffer> | undefined = read(position, Math.min(CHUNK, left));
  try {
    if (signal?.aborted) onAbort();
    while (next) {
      const chunk = await next;
      next = undefined;
      if (gone) return;
      if (chunk.length === 0) {
        // The file shrank under us: the promised Content-Length cannot be kept.
        res.destroy(new Error(`the file ended ${left} bytes early`));
        return;
      }
      position += chunk.length;
      left -= chunk.length;
      if (left > 0) next = read(position, Math.min(CHUNK, left));
      if (!res.write(chunk) && !gone) {
        // Woken by 'drain', or by the client going away (stop), whichever comes first.
        await new Promise<void>((resolve) => {
          wake = resolve;
          res.once('drain', resolve);
        });
        res.removeListener('drain', wake!);
        wake = undefined;
      }
    }
    if (!gone) res.end();
  } finally {
    await next?.catch(() => undefined);
    res.removeListener('close', stop);
    signal?.removeEventListener('abort', onAbort);
  }
}
