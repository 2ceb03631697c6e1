/**
 * A file's bytes as a stream a framework sends itself (where aiofs does not write to the socket:
 * webStatic's Response, the Fastify plugin's reply): `length` bytes of the open `fd` from
 * `position`, read through the context a chunk at a time as the consumer pulls; `fd` is closed at
 * the end, on cancel or destroy, or on an error, once no read is in flight.
 */
import { Readable } from 'node:stream';
import type { IoContext } from '../context.js';
import { readFully } from '../file/transfer.js';

/** Bytes per read of a body. */
const CHUNK = 256 * 1024;

/** The reads of one body and the close of its fd, shared by both kinds of stream. */
class FileBody {
  #left: number;
  #position: number;
  #closed = false;
  #reading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: IoContext,
    private readonly fd: number,
    position: number,
    length: number,
  ) {
    this.#position = position;
    this.#left = length;
  }

  get left(): number {
    return this.#left;
  }

  /** The next chunk; an error if the file ended early (the promised length cannot be kept). */
  async next(): Promise<Buffer> {
    const size = Math.min(CHUNK, this.#left);
    const bytes = Buffer.allocUnsafe(size);
    const read = readFully(this.context, this.fd, bytes, this.#position);
    this.#reading = read;
    const n = await read;
    if (n === 0) throw new Error(`the file ended ${this.#left} bytes early`);
    this.#position += n;
    this.#left -= n;
    return n === size ? bytes : bytes.subarray(0, n);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reading.catch(() => undefined);
    await this.context.closeFd(this.fd).catch(() => undefined);
  }
}

/** As a WHATWG ReadableStream (a Response's body). */
export function webBody(context: IoContext, fd: number, position: number, length: number): ReadableStream<Uint8Array> {
  const body = new FileBody(context, fd, position, length);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Buffer;
        try {
          chunk = await body.next();
        } catch (error) {
          await body.close();
          controller.error(error);
          return;
        }
        controller.enqueue(chunk);
        if (body.left === 0) {
          await body.close();
          controller.close();
        }
      },
      cancel: () => body.close(),
    },
    { highWaterMark: 0 },
  );
}

/** As a node:stream Readable (what Fastify's reply.send and its onSend hooks take). */
export function nodeBody(context: IoContext, fd: number, position: number, length: number): Readable {
  const body = new FileBody(context, fd, position, length);
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (body.left === 0) {
        this.push(null);
        return;
      }
      body.next().then(
        (chunk) => {
          this.push(chunk);
          if (body.left === 0) this.push(null);
        },
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      body.close().then(() => callback(error), () => callback(error));
    },
  });
}
