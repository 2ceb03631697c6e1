/**
 * Content-Type by file extension, from mime-types (the database send and Express use, kept up
 * to date from IANA, Apache and nginx), with the charset: `; charset=utf-8` where the database
 * says a type is UTF-8 text, and for SVG and XML, which browsers decode so. A few extensions keep
 * the type browsers expect where the database says otherwise (below). Anything unknown is
 * application/octet-stream, which browsers download rather than guess at.
 */
import mime from 'mime-types';

/** Types chosen over the database's: what browsers load a script, a source map or an icon as. */
const preferred: Record<string, string> = {
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  map: 'application/json',
  ico: 'image/x-icon',
};

/** Types sent with `; charset=utf-8` besides those the database marks UTF-8. */
const utf8Too = new Set(['image/svg+xml', 'application/xml', 'text/xml']);

/** The resolved Content-Type per extension: the database is searched once per extension. */
const known = new Map<string, string>();
const OCTETS = 'application/octet-stream';

export function contentType(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0 || dot === fileName.length - 1) return OCTETS;
  const extension = fileName.slice(dot + 1).toLowerCase();
  let type = known.get(extension);
  if (type === undefined) {
    const found = Object.hasOwn(preferred, extension) ? preferred[extension] : mime.lookup(extension);
    type = found === false ? OCTETS : mime.charset(found) === 'UTF-8' || utf8Too.has(found) ? `${found}; charset=utf-8` : found;
    // Bounded: a client can ask for any number of extensions.
    if (known.size < 4096) known.set(extension, type);
  }
  return type;
}
