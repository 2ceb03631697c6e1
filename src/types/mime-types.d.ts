/** mime-types (the database send and Express use) ships no types: what src/http/content-type.ts calls. */
declare module 'mime-types' {
  /** The media type of a file name or an extension; false when the database has none. */
  export function lookup(pathOrExtension: string): string | false;
  /** The default charset of a media type ('UTF-8' for text types and some others); false when none. */
  export function charset(type: string): string | false;
}
