/**
 * LineReader: the lines of an AIOFile, read in big chunks and split in bulk, so that the cost is
 * one read per chunk and one decode and split per chunk, never one read per line. The decoder
 * holds back a character cut by a chunk boundary until the rest of it arrives; a separator cut by
 * a chunk boundary is found across it. UTF-8 lines (the default) copy the partial line they carry
 * over, so each chunk's memory is read into again once its lines are split.
 */
import { invalidArgType, invalidArgValue, stringTooLong } from '../errors.js';
import { validateKnownKeys, validateObject } from '../validate.js';
import { validatePosition, type AIOFile } from './aiofile.js';
import { ReadAhead, validateReadAhead } from '../buffering/read-ahead.js';
import { positionalIo } from '../positional.js';
import { validateChunkSize } from './reader.js';
import { chunkDecoder, type ChunkDecoder, type Encoding, isAscii, validateEncoding } from './text.js';

export interface LineReaderOptions {
  /** Where reading starts (default 0). */
  offset?: number;
  /** Bytes per read (default 64 KiB). */
  chunkSize?: number;
  /** Chunks read ahead while lines are split (default 4). */
  readAhead?: number;
  /** What ends a line: any non-empty string (default '\n'; a '\r' before it is dropped too). */
  separator?: string;
  /** How to decode lines (default: the file's encoding, 'utf8' unless opened otherwise); null yields Buffers. */
  encoding?: string | null;
}

const lineReaderKeys: ReadonlySet<string> = new Set(['offset', 'chunkSize', 'readAhead', 'separator', 'encoding']);
const CR = 13;

/** Turns chunks into complete lines; what is left of a line waits for the next chunk. */
interface Splitter<T> {
  /** The lines `chunk` completes, without separators. */
  push(chunk: Buffer): T[];
  /** The last line, if the data did not end with a separator. */
  end(): T[];
  /** push() keeps no reference to its chunk's memory (it copies what it carries): the chunk may be read into again. */
  readonly copiesChunks: boolean;
}

/** A line longer than V8 can hold as a string fails with Node's code, not a bare RangeError. */
function withinStringLimit<T>(split: () => T): T {
  try {
    return split();
  } catch (error) {
    if (error instanceof RangeError && /string length/i.test(error.message)) throw stringTooLong();
    throw error;
  }
}

/** Drop the '\r' that ends a line (of lines split at '\n'), in place. */
function dropCRs(lines: string[]): void {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.charCodeAt(line.length - 1) === CR) lines[i] = line.slice(0, -1);
  }
}

class TextSplitter implements Splitter<string> {
  /** What its decoder holds back of a chunk (a cut character) is the runtime's to keep as it likes. */
  readonly copiesChunks = false;
  readonly #decoder: ChunkDecoder;
  readonly #separator: string;
  readonly #stripCR: boolean;
  /** Pieces of the line in progress, joined only once a separator completes it. */
  #carry: string[] = [];

  constructor(encoding: Encoding, separator: string) {
    this.#decoder = chunkDecoder(encoding);
    this.#separator = separator;
    this.#stripCR = separator === '\n';
  }

  push(chunk: Buffer): string[] {
    return withinStringLimit(() => this.#split(this.#decoder.write(chunk), false));
  }

  end(): string[] {
    return withinStringLimit(() => this.#split(this.#decoder.end(), true));
  }

  #split(text: string, last: boolean): string[] {
    const separator = this.#separator;
    if (!last && !text.includes(separator) && !this.#straddles(text)) {
      if (text.length > 0) this.#carry.push(text);
      return [];
    }
    const whole = this.#carry.length === 0 ? text : this.#carry.join('') + text;
    const lines = whole.split(separator);
    const rest = lines.pop()!;
    if (this.#stripCR) dropCRs(lines);
    this.#carry = rest.length > 0 ? [rest] : [];
    if (last && rest.length > 0) lines.push(rest);
    return lines;
  }

  /** Whether a separator of several characters begins in the carry and ends in `text`. */
  #straddles(text: string): boolean {
    const reach = this.#separator.length - 1;
    if (reach === 0 || this.#carry.length === 0) return false;
    let tail = '';
    for (let i = this.#carry.length - 1; i >= 0 && tail.length < reach; i--) tail = this.#carry[i] + tail;
    return (tail.slice(-reach) + text.slice(0, reach)).includes(this.#separator);
  }
}

const LF = 10;

/**
 * UTF-8 lines that end in '\n' (the default), found in the bytes. The newline is ASCII: it is never
 * part of a character and ends a malformed one, so each line decodes by itself as it does within
 * the whole (Buffer#toString, replacement characters included). The lines between a chunk's first
 * and last newline are copied into a one-byte string (latin1) and split there; the few with a
 * byte outside ASCII are then decoded again from their bytes. Node 20's decoders take several
 * times the copy's time on such text (its streaming TextDecoder goes through ICU)
 * (docs/benchmarks.md, "Measurements the code relies on").
 */
class Utf8LineSplitter implements Splitter<string> {
  readonly copiesChunks = true;
  /** The bytes of the line in progress (what followed the last newline), copied from the chunks. */
  #carry: Buffer[] = [];

  push(chunk: Buffer): string[] {
    return withinStringLimit(() => this.#split(chunk));
  }

  #split(chunk: Buffer): string[] {
    const last = chunk.lastIndexOf(LF);
    if (last === -1) {
      if (chunk.length > 0) this.#carry.push(Buffer.from(chunk));
      return [];
    }
    const first = chunk.indexOf(LF);
    const head = chunk.subarray(0, first);
    const firstLine = this.#carry.length === 0 ? head : Buffer.concat([...this.#carry, head]);
    const lines = first === last ? [] : splitLines(chunk.subarray(first + 1, last));
    lines.unshift(firstLine.toString('utf8'));
    dropCRs(lines);
    this.#carry = last + 1 < chunk.length ? [Buffer.from(chunk.subarray(last + 1))] : [];
    return lines;
  }

  end(): string[] {
    const rest = this.#carry;
    this.#carry = [];
    return rest.length === 0 ? [] : [withinStringLimit(() => Buffer.concat(rest).toString('utf8'))];
  }
}

/** The lines of `bytes`, whole lines separated by '\n', decoded as UTF-8. */
function splitLines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const lines = text.split('\n');
  if (isAscii(bytes)) return lines;
  // A latin1 character is a byte: offsets in `text` are offsets in `bytes`.
  const scan = new AsciiScan(bytes);
  let line = 0;
  let start = 0;
  for (let found = scan.next(0); found !== -1; found = scan.next(start)) {
    while (start + lines[line].length < found) start += lines[line++].length + 1;
    const end = start + lines[line].length;
    lines[line] = bytes.toString('utf8', start, end);
    start = end + 1;
    line++;
  }
  return lines;
}

/**
 * Finds the bytes outside ASCII (0x80 and above) in a view, four at a time where the view's
 * memory is aligned for it: in JavaScript that is faster than a regular expression over the
 * latin1 copy, which tests a character at a time (docs/benchmarks.md, "Measurements the code relies on").
 */
class AsciiScan {
  readonly #bytes: Buffer;
  /** The whole aligned 4-byte words of the view, the first one `#wordsAt` bytes in. */
  readonly #words: Int32Array;
  readonly #wordsAt: number;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.#wordsAt = -bytes.byteOffset & 3;
    this.#words = new Int32Array(bytes.buffer, bytes.byteOffset + this.#wordsAt, Math.max(0, bytes.length - this.#wordsAt) >> 2);
  }

  /** The offset of the first byte outside ASCII at or after `from`, or -1 if there is none. */
  next(from: number): number {
    const bytes = this.#bytes;
    const words = this.#words;
    const wordsAt = this.#wordsAt;
    let at = from;
    const aligned = at <= wordsAt ? wordsAt : wordsAt + ((at - wordsAt + 3) & ~3);
    for (const stop = Math.min(aligned, bytes.length); at < stop; at++) if (bytes[at] >= 0x80) return at;
    for (let word = (at - wordsAt) >> 2; word < words.length; word++) {
      if ((words[word] & 0x80808080) !== 0) {
        at = wordsAt + word * 4;
        while (bytes[at] < 0x80) at++;
        return at;
      }
    }
    for (at = Math.max(at, wordsAt + words.length * 4); at < bytes.length; at++) if (bytes[at] >= 0x80) return at;
    return -1;
  }
}

class ByteSplitter implements Splitter<Buffer> {
  /** Its lines are views of the chunks. */
  readonly copiesChunks = false;
  readonly #separator: Buffer;
  readonly #stripCR: boolean;
  #carry: Buffer[] = [];

  constructor(separator: string) {
    this.#separator = Buffer.from(separator, 'utf8');
    this.#stripCR = separator === '\n';
  }

  push(chunk: Buffer): Buffer[] {
    const separator = this.#separator;
    if (chunk.indexOf(separator) === -1 && !this.#straddles(chunk)) {
      if (chunk.length > 0) this.#carry.push(chunk);
      return [];
    }
    const whole = this.#carry.length === 0 ? chunk : Buffer.concat([...this.#carry, chunk]);
    const lines: Buffer[] = [];
    let start = 0;
    for (let at = whole.indexOf(separator); at !== -1; at = whole.indexOf(separator, start)) {
      const end = this.#stripCR && at > start && whole[at - 1] === CR ? at - 1 : at;
      lines.push(whole.subarray(start, end));
      start = at + separator.length;
    }
    this.#carry = start < whole.length ? [whole.subarray(start)] : [];
    return lines;
  }

  end(): Buffer[] {
    const rest = this.#carry;
    this.#carry = [];
    return rest.length === 0 ? [] : [rest.length === 1 ? rest[0] : Buffer.concat(rest)];
  }

  #straddles(chunk: Buffer): boolean {
    const reach = this.#separator.length - 1;
    if (reach === 0 || this.#carry.length === 0) return false;
    const tail = Buffer.concat(this.#carry.slice(-reach));
    const edge = Buffer.concat([tail.subarray(Math.max(0, tail.length - reach)), chunk.subarray(0, reach)]);
    return edge.indexOf(this.#separator) !== -1;
  }
}

export class LineReader<T extends string | Buffer = string> implements AsyncIterable<T> {
  readonly #chunks: ReadAhead;
  readonly #splitter: Splitter<T>;
  #lines: T[] = [];
  #index = 0;
  #ended = false;
  #filling: Promise<void> | undefined;

  constructor(file: AIOFile, options?: LineReaderOptions) {
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, lineReaderKeys, 'options');
    const offset = validatePosition(checked.offset, 'options.offset');
    const chunkSize = validateChunkSize(checked.chunkSize);
    const separator = checked.separator ?? '\n';
    if (typeof separator !== 'string') throw invalidArgType('options.separator', ['string'], separator);
    if (separator.length === 0) throw invalidArgValue('options.separator', separator, 'must not be empty');
    const encoding = checked.encoding === undefined ? file.encoding : checked.encoding;
    this.#chunks = new ReadAhead(file[positionalIo](), offset, chunkSize, validateReadAhead(checked.readAhead));
    const text = encoding === null ? null : validateEncoding(encoding, 'options.encoding');
    this.#splitter = (
      text === null ? new ByteSplitter(separator) : text === 'utf8' && separator === '\n' ? new Utf8LineSplitter() : new TextSplitter(text, separator)
    ) as unknown as Splitter<T>;
  }

  /** The next line without its separator, or null once the file is exhausted. */
  async readline(): Promise<T | null> {
    while (this.#index >= this.#lines.length) {
      if (this.#ended) return null;
      await this.#fill();
    }
    return this.#lines[this.#index++];
  }

  /**
   * The remaining lines a read's worth at a time: each array holds the complete lines of one
   * chunk (the lines readline() had not returned yet come first). One await per chunk instead of
   * one per line, for callers who want the throughput.
   */
  async *batches(): AsyncGenerator<T[], void, undefined> {
    for (;;) {
      if (this.#index < this.#lines.length) {
        const batch = this.#index === 0 ? this.#lines : this.#lines.slice(this.#index);
        this.#lines = [];
        this.#index = 0;
        yield batch;
        continue;
      }
      if (this.#ended) return;
      await this.#fill();
    }
  }

  /** Lines from where reading stands now; a `break` leaves the rest for the next reader call. */
  [Symbol.asyncIterator](): AsyncIterator<T> & AsyncIterable<T> {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      // The common case, a line already split, costs one resolved promise and no generator.
      next: (): Promise<IteratorResult<T>> =>
        this.#index < this.#lines.length
          ? Promise.resolve({ done: false, value: this.#lines[this.#index++] })
          : this.readline().then((line) => (line === null ? done : { done: false, value: line })),
      return: () => Promise.resolve(done),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Read chunks until at least one line is complete or the file ends; one fill at a time. */
  #fill(): Promise<void> {
    this.#filling ??= (async () => {
      try {
        let lines: T[] = [];
        while (lines.length === 0 && !this.#ended) {
          const chunk = await this.#chunks.next();
          if (chunk.length === 0) {
            this.#ended = true;
            lines = this.#splitter.end();
          } else {
            lines = this.#splitter.push(chunk);
            if (this.#splitter.copiesChunks) this.#chunks.recycle(chunk);
          }
        }
        this.#lines = lines;
        this.#index = 0;
      } finally {
        this.#filling = undefined;
      }
    })();
    return this.#filling;
  }
}
