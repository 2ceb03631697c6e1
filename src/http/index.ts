/**
 * aiofs/http: static files for node:http servers (and Express, connect, Fastify's raw objects),
 * with every file operation on aiofs's context: open, stat, read and close on the ring where the
 * machine has io_uring, on the thread pool elsewhere.
 *
 *   import { serveStatic, sendFile } from 'aiofs/http';
 *   http.createServer(serveStatic('public')).listen(8080);
 *   app.use(serveStatic('public'));                                  // Express, connect: next() on a miss
 *   app.get('/report', (req, res) => sendFile(res, 'report.pdf', { root: 'reports' }));
 *   await fastify.register(fastifyStatic, { root: 'public' });     // Fastify (fastify.ts)
 *   koa.use(koaStatic('public'));                                    // Koa
 *   Bun.serve({ fetch: webStatic('public') });                       // Web-standard (web.ts)
 * The options and the road to a file are static.ts's; what a response holds, send.ts's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { invalidArgType, invalidArgValue, invalidState } from '../errors.js';
import { validateKnownKeys, validateObject } from '../validate.js';
import { fileOnly, findUnder, type Lookup, lookupOf, type SendFileOptions, type ServeStaticOptions, sendKeys, settingsFor, settingsOf, staticKeys, staticOptionsOf } from './static.js';
import { directoryRedirect, namePath, redirectHeaders, requestPath } from './request-path.js';
import { errorStatus, type Outcome, sendOpened, serveFile, type ServeSettings, sendStatus } from './send.js';
import { ServedRoot } from './root.js';
import { getDefaultContext } from '../create-context.js';

export { contentType } from './content-type.js';
export type { SendFileOptions, ServeStaticOptions } from './static.js';
export { webStatic, type WebStaticOptions } from './web.js';
export { fastifyStatic, type FastifyStaticOptions } from './fastify.js';

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

/** findUnder, then the file sent on node:http's `res` (see send.ts), or what was found instead. */
async function serveUnder(
  req: IncomingMessage,
  res: ServerResponse,
  served: ServedRoot,
  segments: string[],
  options: { settings: ServeSettings; preCompressed: boolean },
  lookup: Lookup,
): Promise<Outcome> {
  const context = options.settings.context ?? getDefaultContext();
  const found = await findUnder(context, served, segments, options.settings, lookup);
  if (typeof found !== 'object') return found;
  if ('error' in found) {
    sendStatus(req, res, errorStatus(found.error));
    return 'sent';
  }
  return sendOpened(req, res, context, found.fd, found.file, found.stats, settingsFor(options, found));
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
    outcome = await serveUnder(req, res, served, named.segments, { settings, preCompressed: false }, fileOnly);
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
  const parsed = staticOptionsOf(options, staticKeys);
  const { dotfiles, redirect, fallthrough } = parsed;

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
      const lookup = lookupOf(parsed, requested, req.headers['accept-encoding']);
      const outcome = await serveUnder(req, res, served, requested.segments, parsed, lookup);
      if (outcome === 'directory' && !slash && redirect) redirectToDirectory(req, res);
      else if (outcome !== 'sent') miss();
    } catch (error) {
      if (next) next(error);
      else if (!res.headersSent) sendStatus(req, res, 500);
      else res.destroy(error as Error);
    }
  };
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
