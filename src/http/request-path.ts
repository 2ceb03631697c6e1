/**
 * Which file under a root a request's URL (or sendFile's relative name) names, or why it names
 * none. The only place where a URL or a name under a root becomes a path: everything that could step outside the root is refused here, before any
 * file is touched (symbolic links, which only the filesystem knows, are checked on the opened
 * file: see send.ts).
 *
 * Refused with 400 (a malformed request): a target that is not a path ('*', an authority), a
 * percent sign not followed by two hex digits, bytes that are not UTF-8 (overlong forms such as
 * %c0%ae included: decodeURIComponent refuses them), NUL in any form. Refused with 403: a `.` or
 * `..` segment, raw or encoded (%2e%2e), a backslash, raw or encoded (%5c), and an encoded slash
 * (%2f) inside a segment. A path is never absolute once joined: its segments are joined under
 * the root, and none can be empty, `.` or `..` or hold a separator.
 */
import { isAbsolute } from 'node:path';

export type RequestPath = { ok: true; segments: string[]; trailingSlash: boolean } | { ok: false; status: 400 | 403 };

const bad = { ok: false, status: 400 } as const;
const forbidden = { ok: false, status: 403 } as const;

/** The decoded segments of `url`'s path (an origin-form request target, `/a/b?query`). */
export function requestPath(url: string | undefined): RequestPath {
  if (typeof url !== 'string') return bad;
  let target = url;
  // An absolute-form target (a request to a proxy) names the path after the authority.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      target = new URL(target).pathname;
    } catch {
      return bad;
    }
  }
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  if (!path.startsWith('/')) return bad;
  if (path.includes('\0')) return bad;
  if (path.includes('\\')) return forbidden;
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return bad;
    }
    if (segment.includes('\0')) return bad;
    if (segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\\')) return forbidden;
    segments.push(segment);
  }
  return { ok: true, segments, trailingSlash: path.endsWith('/') };
}

/**
 * The segments of `name`, a file name relative to a root as sendFile takes it (not URL-encoded):
 * forbidden (403) when it is absolute, holds a `..` segment or a NUL; `.` and empty segments are
 * dropped. Slashes and backslashes both separate.
 */
export function namePath(name: string): RequestPath {
  if (isAbsolute(name) || name.startsWith('/') || name.startsWith('\\') || name.includes('\0')) return forbidden;
  const parts = name.split(/[/\\]/);
  if (parts.includes('..')) return forbidden;
  return { ok: true, segments: parts.filter((p) => p !== '' && p !== '.'), trailingSlash: false };
}

/**
 * The answer to a directory's URL without its trailing slash, as serve-static redirects: the URL
 * as the client sent it (`target`: a path and its query; Express's originalUrl under a mount
 * path) with the slash added, its query kept, percent-encoded where it is not, and never
 * protocol-relative (leading slashes made one: `//evil.com/` is not a way off the site); and a
 * short HTML body saying so.
 */
export function directoryRedirect(target: string): { location: string; body: string } {
  const end = target.search(/[?#]/);
  const [pathname, rest] = end === -1 ? [target, ''] : [target.slice(0, end), target.slice(end)];
  const location = encodeUrl(`${pathname}/`.replace(/^\/+/, '/') + rest);
  const body = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Redirecting</title>\n</head>\n<body>\n<pre>Redirecting to ${escapeHtml(location)}</pre>\n</body>\n</html>\n`;
  return { location, body };
}

/** The headers of directoryRedirect's 301 besides Location and Content-Length. */
export const redirectHeaders = Object.freeze({
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'",
  'X-Content-Type-Options': 'nosniff',
});

/** `url` with every character a URL may not hold percent-encoded, and a `%` that starts no escape made `%25`; escapes kept. */
function encodeUrl(url: string): string {
  return url.replace(/%(?![0-9A-Fa-f]{2})|[^\w\-.~!$&'()*+,;=:@/?#[\]%]/gu, (c) => encodeURIComponent(c));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
