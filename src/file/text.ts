/**
 * Character boundaries in encoded bytes, so that text is never decoded from half a character.
 * UTF-8 and UTF-16LE are variable-width and get real boundary logic; every other encoding Buffer
 * supports (latin1, ascii, hex, base64, base64url) is taken one byte per unit.
 */
import * as nodeBuffer from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { invalidArgValue } from '../errors.js';
import { bytesFrom } from '../views.js';

/** The encodings Buffer supports, under one canonical name each. */
export type Encoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii' | 'base64' | 'base64url' | 'hex';

const canonical: Record<string, Encoding> = {
  utf8: 'utf8',
  'utf-8': 'utf8',
  utf16le: 'utf16le',
  'utf-16le': 'utf16le',
  ucs2: 'utf16le',
  'ucs-2': 'utf16le',
  latin1: 'latin1',
  binary: 'latin1',
  ascii: 'ascii',
  base64: 'base64',
  base64url: 'base64url',
  hex: 'hex',
};

export function validateEncoding(value: unknown, name: string): Encoding {
  const found = typeof value === 'string' ? canonical[value.toLowerCase()] : undefined;
  if (!found) throw invalidArgValue(name, value, 'is invalid encoding');
  return found;
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

/** Bytes a UTF-8 sequence starting with `lead` has; 1 for a byte that cannot start one. */
function utf8Length(lead: number): number {
  if (lead < 0xc2) return 1; // ASCII, a stray continuation byte, or the overlong leads C0/C1
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf5) return 4;
  return 1;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * How many more bytes the character that `bytes[0, end)` ends inside needs (0 when `end` is on a
 * boundary). For UTF-16LE the answer can grow once those bytes arrive (an odd byte count, then a
 * high surrogate): callers ask again after reading them.
 */
export function missingBytes(bytes: Uint8Array, end: number, encoding: Encoding): number {
  if (encoding === 'utf8') {
    for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
      if (isContinuation(bytes[i])) continue;
      const have = end - i;
      const need = utf8Length(bytes[i]);
      return need > have ? need - have : 0;
    }
    return 0;
  }
  if (encoding === 'utf16le') {
    if (end % 2 === 1) return 1;
    if (end >= 2 && isHighSurrogate(bytes[end - 2] | (bytes[end - 1] << 8))) return 2;
  }
  return 0;
}

/**
 * The byte length of the first `count` characters (code points) of `bytes[start, end)`, or -1 if
 * fewer than `count` complete characters are there. A malformed UTF-8 byte counts as one character,
 * as the decoder turns it into one U+FFFD.
 */
export function prefixLength(bytes: Uint8Array, start: number, end: number, count: number, encoding: Encoding): number {
  if (encoding === 'utf8') {
    let i = start;
    for (; count > 0; count--) {
      if (i >= end) return -1;
      const stop = i + utf8Length(bytes[i]);
      let j = i + 1;
      while (j < stop && j < end && isContinuation(bytes[j])) j++;
      if (j === end && j < stop) return -1;
      i = j;
    }
    return i - start;
  }
  if (encoding === 'utf16le') {
    let i = start;
    for (; count > 0; count--) {
      if (i + 2 > end) return -1;
      if (isHighSurrogate(bytes[i] | (bytes[i + 1] << 8))) {
        if (i + 4 > end) return -1;
        i += isLowSurrogate(bytes[i + 2] | (bytes[i + 3] << 8)) ? 4 : 2;
      } else {
        i += 2;
      }
    }
    return i - start;
  }
  return end - start >= count ? count : -1;
}

/** The bytes of `data`: a string is encoded with `encoding`, a view is used as it is (no copy). */
export function bytesOf(data: string | ArrayBufferView, encoding: Encoding | BufferEncoding): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  // Its memory as it is (views.ts), whatever its own getters say once validated.
  const bytes = bytesFrom(data, 0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** An incremental decoder: write() holds back a character cut at the end of a chunk until the rest arrives. */
export interface ChunkDecoder {
  write(chunk: Uint8Array): string;
  /** What is left, decoded as Buffer#toString would (a cut UTF-8 character as U+FFFD). */
  end(): string;
}

/**
 * An incremental decoder for `encoding` whose output, over any split of the bytes, is what
 * Buffer#toString gives for the whole (test/text.test.ts holds it to that). UTF-8: see
 * Utf8Decoder. StringDecoder for the rest: TextDecoder turns a lone surrogate or a trailing odd
 * byte of UTF-16LE into U+FFFD where Buffer keeps the surrogate and drops the byte, and lacks or
 * redefines others (its 'latin1' is windows-1252). A BOM is kept, as Buffer#toString keeps it.
 */
export function chunkDecoder(encoding: Encoding): ChunkDecoder {
  if (encoding === 'utf8') return new Utf8Decoder();
  const decoder = new StringDecoder(encoding);
  return { write: (chunk) => decoder.write(chunk as Buffer), end: () => decoder.end() };
}

/**
 * UTF-8 in two ways. A chunk of ASCII alone, met while no character is cut, is copied into a
 * one-byte string (latin1Slice: several times the streaming TextDecoder on ASCII text in Node
 * 20, where that decoder goes through ICU); anything else goes to WHATWG TextDecoder in streaming
 * mode (faster than StringDecoder on non-ASCII text; the two replace malformed bytes alike), which
 * holds a cut character until its rest arrives (docs/benchmarks.md, "Measurements the code relies on").
 */
class Utf8Decoder implements ChunkDecoder {
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /**
   * Whether the streaming decoder is known to hold nothing. It is after a chunk of at least 4
   * bytes that does not end inside a character (anything it held then ended in that chunk),
   * whether the character was well-formed or not; for a shorter chunk it may still hold bytes of
   * an earlier one, so it is taken as holding some.
   */
  #clean = true;

  write(chunk: Uint8Array): string {
    if (this.#clean && isAscii(chunk)) return asciiText(chunk);
    this.#clean = chunk.length >= 4 && missingBytes(chunk, chunk.length, 'utf8') === 0;
    return this.#decoder.decode(chunk, { stream: true });
  }

  end(): string {
    this.#clean = true;
    return this.#decoder.decode();
  }
}

/** buffer.isAscii (Node 18.15, 19.6); a runtime without it takes every chunk to TextDecoder. */
export const isAscii: (bytes: Uint8Array) => boolean = (nodeBuffer as { isAscii?: (bytes: Uint8Array) => boolean }).isAscii ?? (() => false);

/** Buffer's one-byte copy into a string (exact for ASCII), where the runtime has it. */
const latin1Slice = (Buffer.prototype as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

function asciiText(bytes: Uint8Array): string {
  if (latin1Slice) return latin1Slice.call(bytes, 0, bytes.length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
