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
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { IoContext } from '../context.js';
import { invalidArgType, invalidArgValue, invalidState } from '../errors.js';
import { validateBoolean, validateKnownKeys, validateObject, validateSignal } from '../validate.js';
import { namePath, requestPath } from './request-path.js';
import { type Outcome, serveFile, type ServeSettings, sendStatus } from './send.js';
import { ServedRoot } from './root.js';
import { getDefaultContext } from '../create-context.js';

export { contentType } from './content-type.js';

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
}

const sendKeys: ReadonlySet<string> = new Set(['root', 'start', 'end', 'headers', 'etag', 'lastModified', 'signal', 'symlinks', 'context']);
const staticKeys: ReadonlySet<string> = new Set(['headers', 'etag', 'lastModified', 'symlinks', 'context', 'index', 'dotfiles']);

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
  return {
    context: options.context as IoContext | undefined,
    etag: options.etag === undefined ? true : validateBoolean(options.etag, `${name}.etag`),
    lastModified: options.lastModified === undefined ? true : validateBoolean(options.lastModified, `${name}.lastModified`),
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
 * Serve `file` under what `served` names now (see ServedRoot): a miss while it names nothing.
 * `segments` are the file's names below the root.
 */
async function serveUnder(req: IncomingMessage, res: ServerResponse, served: ServedRoot, segments: string[], settings: ServeSettings, index: string | false, directoryOnly: boolean): Promise<Outcome> {
  const context = settings.context ?? getDefaultContext();
  const directory = await served.enter(context);
  if (directory === undefined) return 'missing';
  try {
    const confinement = { real: directory.real, dirfd: () => served.fdOf(directory) };
    const file = path.join(directory.real, ...segments);
    let outcome = await serveFile(req, res, file, confinement, settings, directoryOnly);
    if (outcome === 'directory' && index !== false) outcome = await serveFile(req, res, path.join(file, index), confinement, settings);
    return outcome;
  } finally {
    served.leave(directory);
  }
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
  const checked = validateObject(options ?? {}, 'options')!;
  validateKnownKeys(checked, staticKeys, 'options');
  const settings = settingsOf(checked, 'options');
  const index = checked.index ?? 'index.html';
  if (index !== false && (typeof index !== 'string' || index === '' || /[/\\\0]/.test(index))) throw invalidArgValue('options.index', index, 'must be a file name or false');
  const dotfiles = checked.dotfiles ?? 'ignore';
  if (dotfiles !== 'ignore' && dotfiles !== 'allow') throw invalidArgValue('options.dotfiles', dotfiles, "must be 'ignore' or 'allow'");

  return async (req, res, next) => {
    const miss = () => (next ? next() : sendStatus(req, res, 404));
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (next) next();
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
      const outcome = await serveUnder(req, res, served, requested.segments, settings, index, requested.trailingSlash && requested.segments.length > 0);
      if (outcome !== 'sent') miss();
    } catch (error) {
      if (next) next(error);
      else if (!res.headersSent) sendStatus(req, res, 500);
      else res.destroy(error as Error);
    }
  };
}
