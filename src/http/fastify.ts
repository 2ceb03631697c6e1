/**
 * aiofs/http as a Fastify plugin: `app.register(fastifyStatic, { root, prefix })` serves the
 * files under `root` at `prefix` and adds `reply.sendFile(name)`, as @fastify/static does, with
 * serveStatic's options. Responses go through `reply.send`, so that Fastify's hooks (onSend:
 * compression, headers), its logging and its 404 handler (a miss is `reply.callNotFound()`) all
 * see them; the body is a stream read through aiofs's context. Written against Fastify's public
 * plugin interface only: no dependency on fastify or fastify-plugin.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { getDefaultContext } from '../create-context.js';
import { invalidArgValue } from '../errors.js';
import { nodeBody } from './file-body.js';
import { findUnder, lookupOf, type ServeStaticOptions, settingsFor, type StaticOptions, staticOptionsOf, webKeys } from './static.js';
import { directoryRedirect, namePath, redirectHeaders, requestPath } from './request-path.js';
import { ServedRoot } from './root.js';
import { errorStatus, planAnswer, statusText } from './send.js';

/** What the plugin uses of Fastify's reply. */
export interface FastifyReplyLike {
  statusCode: number;
  request: { raw: IncomingMessage; headers: IncomingHttpHeaders };
  code(status: number): FastifyReplyLike;
  header(name: string, value: unknown): FastifyReplyLike;
  headers(values: Record<string, unknown>): FastifyReplyLike;
  hasHeader(name: string): boolean;
  getHeader(name: string): unknown;
  send(payload?: unknown): FastifyReplyLike;
  callNotFound(): void;
}

/** What the plugin uses of a Fastify instance. */
export interface FastifyInstanceLike {
  route(options: { method: string | string[]; url: string; handler: (request: { raw: IncomingMessage }, reply: FastifyReplyLike) => Promise<unknown> }): unknown;
  decorateReply(name: string, value: unknown): unknown;
}

export interface FastifyStaticOptions extends Omit<ServeStaticOptions, 'setHeaders' | 'fallthrough'> {
  /** The directory served. */
  root: string;
  /** Where its files are, a path ending in '/' (default '/'). */
  prefix?: string;
  /** Add `reply.sendFile(name, root?)` (default true; false for a second registration). */
  decorateReply?: boolean;
  /** Register the route (default true; false: only reply.sendFile). */
  serve?: boolean;
}

const pluginKeys = new Set([...webKeys, 'root', 'prefix', 'decorateReply', 'serve']);

/** The Fastify plugin (Fastify's `register` calls it with the instance, the options and `done`). */
export function fastifyStatic(fastify: FastifyInstanceLike, options: FastifyStaticOptions, done: (error?: Error) => void): void {
  try {
    const { root, prefix = '/', decorateReply = true, serve = true, ...rest } = (options ?? {}) as FastifyStaticOptions;
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw invalidArgValue('options.prefix', prefix, "must be a path starting with '/'");
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const served = new ServedRoot(root, 'options.root');
    const parsed = staticOptionsOf(rest, pluginKeys);
    const answer = (reply: FastifyReplyLike, segments: string[], slash: boolean, redirectTo: string | undefined, under = served) =>
      sendUnder(reply, under, segments, slash, redirectTo, parsed);
    if (serve) {
      fastify.route({
        method: ['GET', 'HEAD'],
        url: `${base}*`,
        handler: async (request, reply) => {
          const url = request.raw.url ?? '/';
          const requested = requestPath(url.slice(base.length - 1));
          if (!requested.ok) return status(reply, requested.status);
          if (parsed.dotfiles === 'ignore' && requested.segments.some((s) => s.startsWith('.'))) return notFound(reply);
          return answer(reply, requested.segments, requested.trailingSlash, url);
        },
      });
    }
    if (decorateReply) {
      fastify.decorateReply('sendFile', function sendFile(this: FastifyReplyLike, name: string, otherRoot?: string) {
        const named = namePath(String(name));
        if (!named.ok) return status(this, named.status);
        return answer(this, named.segments, false, undefined, otherRoot === undefined ? served : new ServedRoot(otherRoot, 'root'));
      });
    }
    done();
  } catch (error) {
    done(error as Error);
  }
}
// As fastify-plugin marks a plugin: its decorations and routes belong to the instance it is registered on.
Object.assign(fastifyStatic, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'aiofs/http' });

/** Fastify's 404 handler (the app's own, if it set one). */
function notFound(reply: FastifyReplyLike): FastifyReplyLike {
  reply.callNotFound();
  return reply;
}

/** A short plain-text answer with `status`, as sendStatus's. */
function status(reply: FastifyReplyLike, code: number): FastifyReplyLike {
  return reply.code(code).header('Content-Type', 'text/plain; charset=utf-8').send(`${code} ${statusText[code] ?? 'Error'}\n`);
}

async function sendUnder(
  reply: FastifyReplyLike,
  served: ServedRoot,
  segments: string[],
  slash: boolean,
  redirectTo: string | undefined,
  options: StaticOptions,
): Promise<unknown> {
  const { settings, redirect } = options;
  const context = settings.context ?? getDefaultContext();
  const req = reply.request.raw;
  const routed = redirectTo !== undefined;
  // A directory is its index only by a URL with its slash (reply.sendFile names a file, and
  // has no SPA fallback: it is what an app's not-found handler calls for one).
  const lookup = lookupOf(options, { segments, trailingSlash: slash }, req.headers['accept-encoding']);
  if (!routed) lookup.fallback = undefined;
  const found = await findUnder(context, served, segments, settings, lookup);
  if (found === 'directory' && routed && !slash && redirect) {
    const { location, body } = directoryRedirect(redirectTo);
    return reply.code(301).headers({ ...redirectHeaders, Location: location }).send(body);
  }
  if (found === 'missing' || found === 'directory') return notFound(reply);
  if ('error' in found) return status(reply, errorStatus(found.error));
  const { fd, file, stats } = found;
  let handedOver = false;
  try {
    const existing = { has: (name: string) => reply.hasHeader(name), get: (name: string) => reply.getHeader(name) };
    const plan = planAnswer(req, reply.statusCode || 200, existing, file, stats, settingsFor(options, found));
    if (plan.kind === 'error') return status(reply.headers(plan.headers), plan.status);
    if (plan.kind === 'not-modified') return reply.code(304).headers(plan.headers).send();
    reply.code(plan.status).headers(plan.headers);
    if (req.method === 'HEAD' || plan.length === 0) return reply.send();
    handedOver = true;
    return reply.send(nodeBody(context, fd, plan.position, plan.length));
  } finally {
    if (!handedOver) await context.closeFd(fd).catch(() => undefined);
  }
}
