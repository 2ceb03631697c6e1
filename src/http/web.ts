/**
 * aiofs/http for the Web-standard handler, `(request: Request) => Promise<Response>`, which Hono,
 * Bun.serve, Deno.serve and node:http adapters take: serveStatic's answers (the same options but
 * those that act on node:http's response, `setHeaders` and `fallthrough`), with the body a
 * ReadableStream read through aiofs's context. The request's URL is the WHATWG one, already
 * resolved (`/a/%2e%2e/b` is `/b` there): it is checked again as serveStatic checks a raw one.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { getDefaultContext } from '../create-context.js';
import { findUnder, lookupOf, type ServeStaticOptions, settingsFor, staticOptionsOf, webKeys } from './static.js';
import { webBody } from './file-body.js';
import { directoryRedirect, redirectHeaders, requestPath } from './request-path.js';
import { ServedRoot } from './root.js';
import { errorStatus, planAnswer, statusText } from './send.js';

export type WebStaticOptions = Omit<ServeStaticOptions, 'setHeaders' | 'fallthrough'>;

/**
 * A handler serving the files under `root` for GET and HEAD as Responses: 200, 206, 304, 412,
 * 416, 301 for a directory's URL without its slash, 404 for a miss, 405 (with Allow) for another
 * method, 403 and 400 as serveStatic answers them.
 */
export function webStatic(root: string, options?: WebStaticOptions): (request: Request) => Promise<Response> {
  const served = new ServedRoot(root, 'root');
  const parsed = staticOptionsOf(options, webKeys);
  const { settings, dotfiles, redirect } = parsed;
  return async (request) => {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') return answer(method, 405, { Allow: 'GET, HEAD' });
    const url = new URL(request.url);
    const requested = requestPath(url.pathname);
    if (!requested.ok) return answer(method, requested.status);
    if (dotfiles === 'ignore' && requested.segments.some((s) => s.startsWith('.'))) return answer(method, 404);
    const context = settings.context ?? getDefaultContext();
    const slash = requested.trailingSlash;
    const lookup = lookupOf(parsed, requested, request.headers.get('accept-encoding') ?? undefined);
    const found = await findUnder(context, served, requested.segments, settings, lookup);
    if (found === 'directory' && !slash && redirect) {
      const { location, body } = directoryRedirect(url.pathname + url.search);
      return new Response(method === 'HEAD' ? null : body, { status: 301, headers: { ...redirectHeaders, Location: location } });
    }
    if (found === 'missing' || found === 'directory') return answer(method, 404);
    if ('error' in found) return answer(method, errorStatus(found.error));
    const { fd, file, stats } = found;
    let handedOver = false;
    try {
      const headers = Object.fromEntries([...request.headers].map(([name, value]) => [name, value]));
      const plan = planAnswer({ method, headers }, 200, { has: () => false, get: () => undefined }, file, stats, settingsFor(parsed, found));
      if (plan.kind === 'error') return answer(method, plan.status, plan.headers);
      if (plan.kind === 'not-modified') return new Response(null, { status: 304, headers: webHeaders(plan.headers) });
      const body = method === 'HEAD' || plan.length === 0 ? null : webBody(context, fd, plan.position, plan.length);
      handedOver = body !== null;
      return new Response(body, { status: plan.status, headers: webHeaders(plan.headers) });
    } finally {
      if (!handedOver) await context.closeFd(fd).catch(() => undefined);
    }
  };
}

/** A short plain-text answer with `status` (no body for HEAD), as sendStatus's. */
function answer(method: string, status: number, headers: OutgoingHttpHeaders = {}): Response {
  const body = `${status} ${statusText[status] ?? 'Error'}\n`;
  return new Response(method === 'HEAD' ? null : body, { status, headers: { ...webHeaders(headers), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) } });
}

function webHeaders(headers: OutgoingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}
