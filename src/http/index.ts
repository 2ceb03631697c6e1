/**
 * aiofs/http: static files for node:http servers (and Express, connect, Fastify's raw objects),
 * with every file operation on aiofs's context: open, stat, read and close on the ring where the
 * machine has io_uring, on the thread pool elsewhere.
 *
 *   import { serveStatic, sendFile } from 'aiofs/http';
 *   http.createServer(serveStatic('public')).listen(8080);
 *   app.use(serveStatic('public'));                                  // Express, connect: next() on a miss
 *   app.get('/report', (req, res) => sendFile(res, 'report.pdf', { root: 'reports' }));
 *   fastify.get('/*', (req, reply) => { reply.hijack(); handler(req.raw, reply.raw); });
 */
import type { Stats } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { IoContext } from '../context.js';
import { invalidArgType, invalidArgValue, invalidState } from '../errors.js';
import { validateBoolean, validateKnownKeys, validateObject, validateSignal } from '../validate.js';
import { directoryRedirect, namePath, redirectHeaders, requestPath } from './request-path.js';
import { errorStatus, openServed, type Outcome, sendOpened, serveFile, type ServeSettings, sendStatus } from './send.js';
import { ServedRoot } from './root.js';
import { getDefaultContext } from '../create-context.js';

export { contentType } from './content-type.js';
export { webStatic, type WebStaticOptions } from './web.js';
export { fastifyStatic, type FastifyStaticOptions } from './fastify.js';

export interface SendFileOptions {
  /** `file` is relative to this directory and may not leave it (`..`, or a link out of it: 404). */
  root?: string;
  /** Only these bytes of the file (inclusive), as the whole representation; Range applies within. */
  start?: number;
  end?: number;
  /** Headers added to (and overriding) the defaults. */
  headers?: OutgoingHttpHeaders;
  /** Send a weak ETag and answer If-None-Match (default true). */
  etag?: boolean;
  /** Send Last-Modified and answer If-Modified-Since (default true). */
  lastModified?: boolean;
  /**
   * How long caches may keep the file: milliseconds, or a string such as '30d', '12h', '90s',
   * '1y' (default 0); sent as `Cache-Control: public, max-age=SECONDS`, at most a year, as send does.
   */
  maxAge?: number | string;
  /** Add `immutable` to Cache-Control (default false): the file at this URL never changes. */
  immutable?: boolean;
  /** Send Cache-Control (default true); false: none, for the app to set its own. */
  cacheControl?: boolean;
  /** Send `Accept-Ranges: bytes` and answer Range (default true). */
  acceptRanges?: boolean;
  /** Aborting stops the body and destroys the response. */
  signal?: AbortSignal;
  /** With `root`: 'inside' (default) serves a file only if its real path is under root's; 'follow' serves any link's target. */
  symlinks?: 'inside' | 'follow';
  /** The IoContext the file operations use (default: getDefaultContext()). */
  context?: IoContext;
}

export interface ServeStaticOptions extends Omit<SendFileOptions, 'root' | 'start' | 'end' | 'signal'> {
  /** The file a directory's URL serves (default 'index.html'); false: none, a directory is a miss. */
  index?: string | false;
  /** Path segments starting with '.': 'ignore' (default: a miss, 404) or 'allow'. */
  dotfiles?: 'ignore' | 'allow';
  /**
   * A directory's URL without its trailing slash is redirected to the URL with it (301, the query
   * kept), so that the index page's relative links work (default true); false: such a URL is a
   * miss, as with serve-static.
   */
  redirect?: boolean;
  /** Extensions tried, in order, for a URL that names no file: ['html'] serves /about from about.html (default: none). */
  extensions?: string[] | false;
  /**
   * With `next` (connect, Express): a miss goes on to it (default true); false: a missing file is
   * next(error) with `status` 404, and a method other than GET and HEAD a 405, as serve-static does.
   */
  fallthrough?: boolean;
  /** Called as each file is about to be sent, with the response, the file's path and its stats, to set headers (as serve-static's). */
  setHeaders?: (res: ServerResponse, path: string, stats: Stats) => void;
  /**
   * Send a file's precompressed sibling (`NAME.br`, then `NAME.gz`) to a client whose
   * Accept-Encoding takes it, with its Content-Encoding and `Vary: Accept-Encoding` (default
   * false), as @fastify/static's option of that name. Only for a file that exists itself.
   */
  preCompressed?: boolean;
}

const sendKeys: ReadonlySet<string> = new Set(['root', 'start', 'end', 'headers', 'etag', 'lastModified', 'signal', 'symlinks', 'context', 'maxAge', 'immutable', 'cacheControl', 'acceptRanges']);
const staticKeys: ReadonlySet<string> = new Set([
  'headers',
  'etag',
  'lastModified',
  'symlinks',
  'context',
  'index',
  'dotfiles',
  'maxAge',
  'immutable',
  'cacheControl',
  'acceptRanges',
  'redirect',
  'extensions',
  'fallthrough',
  'setHeaders',
  'preCompressed',
]);

/** A year, the longest max-age sent (send's bound, and RFC 9111's advice). */
const MAX_AGE_MS = 365 * 24 * 60 * 60 * 1000;
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_557_600_000 };
const unitNames: Record<string, string> = {
  msec: 'ms', msecs: 'ms', millisecond: 'ms', milliseconds: 'ms',
  sec: 's', secs: 's', second: 's', seconds: 's',
  min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  day: 'd', days: 'd', week: 'w', weeks: 'w', yr: 'y', yrs: 'y', year: 'y', years: 'y',
};

/** maxAge as milliseconds: a number, or a duration string ('30d', '1.5 hours', '500': ms). */
function maxAgeOf(value: unknown, name: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(value);
    const unit = match ? (match[2] === '' ? 'ms' : (unitNames[match[2].toLowerCase()] ?? match[2].toLowerCase())) : '';
    if (!match || !Object.hasOwn(units, unit)) throw invalidArgValue(name, value, "must be milliseconds or a duration such as '30d', '12h', '90s'");
    ms = Number(match[1]) * units[unit];
  } else throw invalidArgType(name, ['number', 'string'], value);
  if (!Number.isFinite(ms) || ms < 0) throw invalidArgValue(name, value, 'must be a finite duration of 0 or more');
  return Math.min(ms, MAX_AGE_MS);
}

function settingsOf(options: Record<string, unknown>, name: string): ServeSettings {
  const symlinks = options.symlinks ?? 'inside';
  if (symlinks !== 'inside' && symlinks !== 'follow') throw invalidArgValue(`${name}.symlinks`, symlinks, "must be 'inside' or 'follow'");
  const headers = options.headers === undefined ? undefined : (validateObject(options.headers, `${name}.headers`) as OutgoingHttpHeaders);
  const position = (key: 'start' | 'end', fallback: number) => {
    const value = options[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalidArgValue(`${name}.${key}`, value, 'must be a non-negative integer');
    return value;
  };
  if (options.context !== undefined && !(options.context instanceof IoContext)) throw invalidArgType(`${name}.context`, ['IoContext'], options.context);
  const flag = (key: string, fallback: boolean) => (options[key] === undefined ? fallback : validateBoolean(options[key], `${name}.${key}`));
  const maxAge = options.maxAge === undefined ? 0 : maxAgeOf(options.maxAge, `${name}.maxAge`);
  const immutable = flag('immutable', false);
  const setHeaders = options.setHeaders;
  if (setHeaders !== undefined && typeof setHeaders !== 'function') throw invalidArgType(`${name}.setHeaders`, ['function'], setHeaders);
  return {
    context: options.context as IoContext | undefined,
    etag: flag('etag', true),
    lastModified: flag('lastModified', true),
    cacheControl: flag('cacheControl', true) ? `public, max-age=${Math.floor(maxAge / 1000)}${immutable ? ', immutable' : ''}` : undefined,
    acceptRanges: flag('acceptRanges', true),
    setHeaders: setHeaders as ServeSettings['setHeaders'],
    headers,
    symlinks,
    signal: validateSignal(options.signal, `${name}.signal`),
    start: position('start', 0),
    end: position('end', Number.MAX_SAFE_INTEGER),
  };
}

/** sendFile's roots, by the path given (at most MAX_ROOTS, the first ones): each followed as serveStatic's is. */
const sendFileRoots = new Map<string, ServedRoot>();
const MAX_ROOTS = 64;

function sendFileRoot(root: unknown): ServedRoot {
  const served = new ServedRoot(root, 'options.root');
  const known = sendFileRoots.get(served.path);
  if (known) return known;
  if (sendFileRoots.size < MAX_ROOTS) sendFileRoots.set(served.path, served);
  return served;
}

/**
 * A file found to serve, open (the caller closes `fd`), or what was found instead. `encoding`:
 * `fd` is the file's precompressed sibling in that Content-Encoding (`file` still names the
 * file, whose type it is).
 */
export type Found = { file: string; fd: number; stats: Stats; encoding?: string } | 'missing' | 'directory' | { error: unknown };

/** The precompressed siblings preCompressed looks for, best first: their suffix and Content-Encoding. */
const siblings = [
  { encoding: 'br', suffix: '.br' },
  { encoding: 'gzip', suffix: '.gz' },
] as const;

/** The Content-Encodings of `siblings` that `Accept-Encoding` takes (a q of 0 refuses one; `*` takes any not named). */
export function acceptedEncodings(header: string | undefined): string[] {
  if (!header) return [];
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    weights.set(name.trim(), q ? Number(q[1]) : 1);
  }
  const any = weights.get('*');
  return siblings.filter(({ encoding }) => (weights.get(encoding) ?? any ?? 0) > 0).map(({ encoding }) => encoding);
}

/**
 * Find and open the file `segments` name under what `served` names now (see ServedRoot): a miss
 * while it names nothing. A directory is its `index` (false: 'directory', left to the caller); a
 * name that is no file tries each of `extensions` after it.
 */
export async function findUnder(
  context: IoContext,
  served: ServedRoot,
  segments: string[],
  settings: ServeSettings,
  index: string | false,
  directoryOnly: boolean,
  extensions: readonly string[] = [],
  encodings: readonly string[] = [],
): Promise<Found> {
  const directory = await served.enter(context);
  if (directory === undefined) return 'missing';
  try {
    const confinement = { real: directory.real, dirfd: () => served.fdOf(directory) };
    const open = async (file: string, onlyDirectory = false): Promise<Found> => {
      const opened = await openServed(context, file, confinement, settings, onlyDirectory);
      return typeof opened === 'object' && 'fd' in opened ? { file, ...opened } : opened;
    };
    const file = path.join(directory.real, ...segments);
    let found = await open(file, directoryOnly);
    if (found === 'directory' && index !== false) found = await open(path.join(file, index));
    if (found === 'missing' && !directoryOnly && segments.length > 0) {
      for (const extension of extensions) {
        const tried = await open(`${file}.${extension}`);
        if (typeof tried === 'object') {
          found = tried;
          break;
        }
      }
    }
    // A file found, and encodings the client takes: its precompressed sibling, if it has one
    // (never one without the file itself, which the access rules were applied to).
    if (typeof found === 'object' && 'fd' in found) {
      for (const { encoding, suffix } of siblings) {
        if (!encodings.includes(encoding)) continue;
        const sibling = await open(`${found.file}${suffix}`);
        if (typeof sibling === 'object' && 'fd' in sibling) {
          await context.closeFd(found.fd).catch(() => undefined);
          return { file: found.file, fd: sibling.fd, stats: sibling.stats, encoding };
        }
      }
    }
    return found;
  } finally {
    served.leave(directory);
  }
}

/** findUnder, then the file sent on node:http's `res` (see send.ts), or what was found instead. */
async function serveUnder(
  req: IncomingMessage,
  res: ServerResponse,
  served: ServedRoot,
  segments: string[],
  settings: ServeSettings,
  index: string | false,
  directoryOnly: boolean,
  extensions: readonly string[] = [],
  preCompressed = false,
): Promise<Outcome> {
  const context = settings.context ?? getDefaultContext();
  const encodings = preCompressed ? acceptedEncodings(req.headers['accept-encoding']) : [];
  const found = await findUnder(context, served, segments, settings, index, directoryOnly, extensions, encodings);
  if (typeof found !== 'object') return found;
  if ('error' in found) {
    sendStatus(req, res, errorStatus(found.error));
    return 'sent';
  }
  return sendOpened(req, res, context, found.fd, found.file, found.stats, preCompressed ? withEncoding(settings, found.encoding) : settings);
}

/** 301 to the directory's URL with its trailing slash (see directoryRedirect), for node:http. */
function redirectToDirectory(req: IncomingMessage, res: ServerResponse): void {
  const { location, body } = directoryRedirect((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/');
  res.writeHead(301, { ...redirectHeaders, 'Content-Length': Buffer.byteLength(body), Location: location });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Send one file as the response to `res.req`: status, headers and body (see send.ts for what the
 * request can ask). `file` is absolute, or relative to `options.root`, which it may not leave.
 * Answers 404 for a missing file or a directory, 403 for one it may not read or a path that
 * leaves the root. Resolves once the response is complete or the client went away.
 */
export async function sendFile(res: ServerResponse, file: string, options?: SendFileOptions): Promise<void> {
  if (typeof res !== 'object' || res === null || typeof (res as ServerResponse).writeHead !== 'function') throw invalidArgType('res', ['http.ServerResponse'], res);
  if (typeof file !== 'string' || file === '') throw invalidArgType('file', ['string'], file);
  const checked = validateObject(options ?? {}, 'options')!;
  validateKnownKeys(checked, sendKeys, 'options');
  const settings = settingsOf(checked, 'options');
  const req = res.req;
  if (res.headersSent) throw invalidState('the response has already been sent');
  let outcome: Outcome;
  if (checked.root !== undefined) {
    const served = sendFileRoot(checked.root);
    const named = namePath(file);
    if (!named.ok) {
      sendStatus(req, res, named.status);
      return;
    }
    outcome = await serveUnder(req, res, served, named.segments, settings, false, false);
  } else {
    if (!path.isAbsolute(file)) throw invalidArgValue('file', file, 'must be absolute, or relative to options.root');
    outcome = await serveFile(req, res, file, undefined, settings);
  }
  if (outcome !== 'sent') sendStatus(req, res, 404);
}

export type StaticHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => Promise<void>;

/**
 * A request handler serving the files under `root`, for GET and HEAD. With `next` (connect,
 * Express), a miss and any other method go on to it; alone (node:http), a miss is 404 and another
 * method 405 with `Allow: GET, HEAD`. A URL that tries to leave the root is 403, a malformed one
 * 400: see request-path.ts. Never lists a directory.
 */
export function serveStatic(root: string, options?: ServeStaticOptions): StaticHandler {
  const served = new ServedRoot(root, 'root');
  const { settings, index, dotfiles, redirect, fallthrough, extensions, preCompressed } = staticOptionsOf(options, staticKeys);

  return async (req, res, next) => {
    const miss = () => (next ? (fallthrough ? next() : next(notFound())) : sendStatus(req, res, 404));
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (next && fallthrough) next();
        else sendStatus(req, res, 405, { Allow: 'GET, HEAD' });
        return;
      }
      const requested = requestPath(req.url);
      if (!requested.ok) {
        sendStatus(req, res, requested.status);
        return;
      }
      if (dotfiles === 'ignore' && requested.segments.some((s) => s.startsWith('.'))) {
        miss();
        return;
      }
      // Without its trailing slash, a directory's URL is redirected (or, with redirect false, a
      // miss) rather than served its index, as serve-static does.
      const slash = requested.trailingSlash;
      const outcome = await serveUnder(req, res, served, requested.segments, settings, slash ? index : false, slash && requested.segments.length > 0, extensions, preCompressed);
      if (outcome === 'directory' && !slash && redirect) redirectToDirectory(req, res);
      else if (outcome !== 'sent') miss();
    } catch (error) {
      if (next) next(error);
      else if (!res.headersSent) sendStatus(req, res, 500);
      else res.destroy(error as Error);
    }
  };
}

/**
 * `settings` for a response chosen by Accept-Encoding (preCompressed): `Vary: Accept-Encoding`
 * always, so that a cache never gives one client another's variant, and the Content-Encoding of
 * the sibling sent, if one is.
 */
export function withEncoding(settings: ServeSettings, encoding: string | undefined): ServeSettings {
  const headers: OutgoingHttpHeaders = { Vary: 'Accept-Encoding', ...(encoding && { 'Content-Encoding': encoding }), ...settings.headers };
  return { ...settings, headers };
}

/** serveStatic's options (and webStatic's, `keys` the ones it takes), checked, with their defaults. */
export function staticOptionsOf(options: unknown, keys: ReadonlySet<string>) {
  const checked = validateObject(options ?? {}, 'options')!;
  validateKnownKeys(checked, keys, 'options');
  const index = checked.index ?? 'index.html';
  if (index !== false && (typeof index !== 'string' || index === '' || /[/\\\0]/.test(index))) throw invalidArgValue('options.index', index, 'must be a file name or false');
  const dotfiles = checked.dotfiles ?? 'ignore';
  if (dotfiles !== 'ignore' && dotfiles !== 'allow') throw invalidArgValue('options.dotfiles', dotfiles, "must be 'ignore' or 'allow'");
  return {
    settings: settingsOf(checked, 'options'),
    index: index as string | false,
    dotfiles: dotfiles as 'ignore' | 'allow',
    redirect: checked.redirect === undefined ? true : validateBoolean(checked.redirect, 'options.redirect'),
    fallthrough: checked.fallthrough === undefined ? true : validateBoolean(checked.fallthrough, 'options.fallthrough'),
    extensions: extensionsOf(checked.extensions),
    preCompressed: checked.preCompressed === undefined ? false : validateBoolean(checked.preCompressed, 'options.preCompressed'),
  };
}

/** serveStatic's `extensions`: names of extensions without their dot (a leading one is dropped, as serve-static does). */
function extensionsOf(value: unknown): string[] {
  if (value === undefined || value === false) return [];
  if (!Array.isArray(value)) throw invalidArgType('options.extensions', ['Array', 'false'], value);
  return value.map((extension: unknown, i) => {
    const name = typeof extension === 'string' ? extension.replace(/^\./, '') : '';
    if (name === '' || /[/\\\0]/.test(name)) throw invalidArgValue(`options.extensions[${i}]`, extension, 'must be an extension such as html');
    return name;
  });
}

/** The error a miss hands to next() with fallthrough false: status 404, as serve-static's (http-errors) carries it. */
function notFound(): Error {
  return Object.assign(new Error('Not Found'), { status: 404, statusCode: 404, expose: true });
}

/** What koaStatic needs of Koa's context: its node:http request and response, and `respond`. */
export interface KoaContext {
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
}

/**
 * serveStatic as a Koa middleware: a file is sent by aiofs (Koa told not to respond itself); a
 * miss goes on down the stack with the response as Koa left it (status 404 until a handler sets
 * one). With `fallthrough: false`, a missing file throws an error whose `status` is 404, for
 * Koa's error handling. Options as serveStatic's.
 */
export function koaStatic(root: string, options?: ServeStaticOptions): (ctx: KoaContext, next: () => Promise<unknown>) => Promise<void> {
  const handler = serveStatic(root, options);
  return async (ctx, next) => {
    const { statusCode } = ctx.res;
    const { respond } = ctx;
    // Koa starts every response at 404; a file goes out with the response's own status (as with send).
    ctx.res.statusCode = 200;
    ctx.respond = false;
    let passed = false;
    let failure: unknown;
    await handler(ctx.req, ctx.res, (error?: unknown) => {
      passed = true;
      failure = error;
    });
    if (!passed) return; // answered
    ctx.res.statusCode = statusCode;
    ctx.respond = respond;
    if (failure) throw failure;
    await next();
  };
}
