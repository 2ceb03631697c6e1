/**
 * Writer: sequential writes to an AIOFile from an offset. Each write() takes its place at once,
 * so writes issued without waiting are in flight together and still land one after another.
 * On an 'a' mode file, where the kernel puts every write at the end, they are issued one at a
 * time instead, so that they land in the order they were made.
 */
import { validateKnownKeys, validateObject } from '../validate.js';
import { validateData, validatePosition, type AIOFile } from './aiofile.js';
import { bytesOf } from './text.js';

export interface WriterOptions {
  /** Where the first write lands (default 0; 'a' mode files append whatever it is). */
  offset?: number;
}

const writerKeys: ReadonlySet<string> = new Set(['offset']);

export class Writer {
  readonly file: AIOFile;
  #offset: number;
  readonly #pending = new Set<Promise<unknown>>();
  #firstError: unknown;
  #previous: Promise<unknown> = Promise.resolve();

  constructor(file: AIOFile, options?: WriterOptions) {
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, writerKeys, 'options');
    this.file = file;
    this.#offset = validatePosition(checked.offset, 'options.offset');
  }

  /** Where the next write lands. */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Append `data` (strings in the file's encoding); resolves with its byte count once all of it
   * is written, or rejects with the error that stopped it.
   */
  write(data: string | ArrayBufferView): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = bytesOf(validateData(data), this.file.encoding);
    } catch (error) {
      return Promise.reject(error);
    }
    const at = this.#offset;
    this.#offset += bytes.length;
    const written = this.file.append
      ? this.#previous.then(() => this.file.write(bytes, at))
      : this.file.write(bytes, at);
    const settled = written.then(
      () => undefined,
      (error) => {
        this.#firstError ??= error;
      },
    );
    this.#previous = settled;
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return written;
  }

  /**
   * Wait for every write made so far; rejects with the first error any of them met since the
   * last flush(), so that a failure is reported even to a caller that did not await each write.
   */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    const error = this.#firstError;
    if (error !== undefined) {
      this.#firstError = undefined;
      throw error;
    }
  }
}
