/**
 * What every adapter of aiofs/http shares (serveStatic and sendFile on node:http, koaStatic,
 * webStatic, fastifyStatic): the options, checked once with their defaults, and the road to a
 * file under a root (findUnder: the index, the extensions, the precompressed siblings, the
 * confinement). The adapters differ only in how they answer.
 */
import type { Stats } from 'node:fs';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import path from 'node:path';
import { IoContext } from '../context.js';
import { invalidArgType, invalidArgValue } from '../errors.js';
import { validateBoolean, validateKnownKeys, validateObject, validateSignal } from '../validate.js';
import { namePath } from './request-path.js';
import { ServedRoot } from './root.js';
import { openServed, type ServeSettings } from './send.js';

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
  /**
   * A single-page application's fallback (sirv's option): a GET or HEAD whose path names no file
   * (or a directory that is not redirected and has no index), and that ends in a slash or whose
   * last segment does not look like a file's name (`name.ext`), is answered 200 with this file
   * instead of a miss: true, the `index` (default 'index.html'), or a path under the root such as
   * 'app/shell.html' (default false). A dotfile path, a directory's URL without its slash while
   * `redirect` is on, a missing asset (`/app.js`) and a fallback that is no file stay misses.
   */
  single?: boolean | string;
}

export const sendKeys: ReadonlySet<string> = new Set(['root', 'start', 'end', 'headers', 'etag', 'lastModified', 'signal', 'symlinks', 'context', 'maxAge', 'immutable', 'cacheControl', 'acceptRanges']);
export const staticKeys: ReadonlySet<string> = new Set([
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
  'single',
]);
/** serveStatic's options but those that act on node:http's response (webStatic's, fastifyStatic's). */
export const webKeys: ReadonlySet<string> = new Set([...staticKeys].filter((key) => key !== 'setHeaders' && key !== 'fallthrough'));

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

export function settingsOf(options: Record<string, unknown>, name: string): ServeSettings {
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

/** What findUnder tries for a request's segments, past the file they name. */
export interface Lookup {
  /** The file a directory serves; false: a directory is found as 'directory'. */
  index: string | false;
  /** The URL named a directory (its trailing slash): only a directory is found there. */
  directoryOnly: boolean;
  /** A directory found is a miss (its URL had the slash and it has no index, or it is not redirected): the fallback's. */
  directoryMisses?: boolean;
  /** Extensions tried, in order, after a name that is no file. */
  extensions: readonly string[];
  /** The Content-Encodings of the precompressed siblings the client takes (none without preCompressed). */
  encodings: readonly string[];
  /** A miss is this file instead (`single`: segments under the root). */
  fallback?: readonly string[];
}

/** The lookup of a file named to serve (sendFile, reply.sendFile): that file, nothing else. */
export const fileOnly: Lookup = Object.freeze({ index: false, directoryOnly: false, extensions: [], encodings: [] });

/**
 * The Lookup of a request's path under staticOptionsOf's options: a directory is its index only
 * by its URL with the slash (without it, a directory is found, to be redirected or missed, as
 * serve-static does); the SPA fallback only for a path whose last segment names no asset.
 */
export function lookupOf(options: StaticOptions, requested: { segments: string[]; trailingSlash: boolean }, acceptEncoding: string | undefined): Lookup {
  const { segments, trailingSlash } = requested;
  const last = segments.at(-1);
  return {
    index: trailingSlash ? options.index : false,
    directoryOnly: trailingSlash && segments.length > 0,
    directoryMisses: trailingSlash || !options.redirect,
    extensions: options.extensions,
    encodings: options.preCompressed ? acceptedEncodings(acceptEncoding) : [],
    fallback: options.single && (trailingSlash || last === undefined || !/\.\w+$/.test(last)) ? options.single : undefined,
  };
}

/**
 * Find and open the file `segments` name under what `served` names now (see ServedRoot): a miss
 * while it names nothing. A directory is `lookup.index` (false: 'directory', left to the caller);
 * a name that is no file tries each of the extensions after it, then the fallback; a file found
 * is replaced by its precompressed sibling in the first of `lookup.encodings` it has.
 */
export async function findUnder(context: IoContext, served: ServedRoot, segments: string[], settings: ServeSettings, lookup: Lookup): Promise<Found> {
  const directory = await served.enter(context);
  if (directory === undefined) return 'missing';
  try {
    const confinement = { real: directory.real, dirfd: () => served.fdOf(directory) };
    const open = async (file: string, onlyDirectory = false): Promise<Found> => {
      const opened = await openServed(context, file, confinement, settings, onlyDirectory);
      return typeof opened === 'object' && 'fd' in opened ? { file, ...opened } : opened;
    };
    const file = path.join(directory.real, ...segments);
    let found = await open(file, lookup.directoryOnly);
    if (found === 'directory' && lookup.index !== false) found = await open(path.join(file, lookup.index));
    if (found === 'missing' && !lookup.directoryOnly && segments.length > 0) {
      for (const extension of lookup.extensions) {
        const tried = await open(`${file}.${extension}`);
        if (typeof tried === 'object') {
          found = tried;
          break;
        }
      }
    }
    if (lookup.fallback && (found === 'missing' || (found === 'directory' && lookup.directoryMisses))) {
      // The fallback is a file or nothing: a directory there is a miss, never redirected to.
      const fallback = await open(path.join(directory.real, ...lookup.fallback));
      found = fallback === 'directory' ? 'missing' : fallback;
    }
    // A file found, and encodings the client takes: its precompressed sibling, if it has one
    // (never one without the file itself, which the access rules were applied to).
    if (typeof found === 'object' && 'fd' in found) {
      for (const { encoding, suffix } of siblings) {
        if (!lookup.encodings.includes(encoding)) continue;
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

/**
 * The settings of the response to a file `found` under `options`: with preCompressed, `Vary:
 * Accept-Encoding` always, so that a cache never gives one client another's variant, and the
 * Content-Encoding of the sibling sent, if one is.
 */
export function settingsFor(options: Pick<StaticOptions, 'settings' | 'preCompressed'>, found: { encoding?: string }): ServeSettings {
  const { settings } = options;
  if (!options.preCompressed) return settings;
  const headers: OutgoingHttpHeaders = { Vary: 'Accept-Encoding', ...(found.encoding && { 'Content-Encoding': found.encoding }), ...settings.headers };
  return { ...settings, headers };
}

/** staticOptionsOf's answer. */
export type StaticOptions = ReturnType<typeof staticOptionsOf>;

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
    single: singleOf(checked.single, index),
  };
}

/** `single` as the segments of its file under the root, or undefined when unset or false. */
function singleOf(value: unknown, index: unknown): string[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return [typeof index === 'string' ? index : 'index.html'];
  if (typeof value !== 'string') throw invalidArgType('options.single', ['boolean', 'string'], value);
  const named = namePath(value);
  if (!named.ok || named.segments.length === 0) throw invalidArgValue('options.single', value, 'must be a file under the root');
  return named.segments;
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

