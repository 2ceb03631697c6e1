/**
 * Writer: sequential writes to an AIOFile from an offset, with write-behind
 * (src/buffering/write-behind.ts): a write is copied into a bounded buffer and resolves at once while
 * there is room; the buffer goes to the file in large blocks, several in flight. flush() waits for
 * all of it and rejects with the first error any write met; after an error every write and flush
 * rejects with it. On an 'a' mode file, where the kernel puts each write at the end, blocks go one
 * at a time, so that they land in order.
 */
import { DEFAULT_BLOCK_SIZE, validateWriteBehind, WriteBehind } from '../buffering/write-behind.js';
import { validateInteger, validateKnownKeys, validateObject } from '../validate.js';
import { validateData, validatePosition, type AIOFile } from './aiofile.js';
import { positionalIo } from '../positional.js';
import { bytesOf } from './text.js';

export interface WriterOptions {
  /** Where the first write lands (default 0; 'a' mode files append whatever it is). */
  offset?: number;
  /** Bytes accepted and not yet written, at most (default 8 MiB; 0: every write waits until written). */
  writeBehind?: number;
  /** Bytes gathered into one write to the file (default 1 MiB). */
  blockSize?: number;
}

const writerKeys: ReadonlySet<string> = new Set(['offset', 'writeBehind', 'blockSize']);

export class Writer {
  readonly file: AIOFile;
  readonly #behind: WriteBehind;

  constructor(file: AIOFile, options?: WriterOptions) {
    const checked = validateObject(options, 'options') ?? {};
    validateKnownKeys(checked, writerKeys, 'options');
    this.file = file;
    const offset = validatePosition(checked.offset, 'options.offset');
    const limit = validateWriteBehind(checked.writeBehind);
    const blockSize = checked.blockSize === undefined ? DEFAULT_BLOCK_SIZE : validateInteger(checked.blockSize, 'options.blockSize', 1, 1 << 30);
    this.#behind = new WriteBehind(file[positionalIo](), offset, {
      limit,
      blockSize: Math.min(blockSize, Math.max(limit, 1)),
      ordered: file.append,
    });
  }

  /** Where the next write lands. */
  get offset(): number {
    return this.#behind.offset;
  }

  /** Bytes accepted and not yet written. */
  get buffered(): number {
    return this.#behind.buffered;
  }

  /**
   * Append `data` (strings in the file's encoding); resolves with its byte count once accepted
   * (written, with `writeBehind: 0`), waiting while the buffer is full. Rejects once any write
   * has failed.
   */
  async write(data: string | ArrayBufferView): Promise<number> {
    const bytes = bytesOf(validateData(data), this.file.encoding);
    await this.#behind.write(bytes);
    return bytes.length;
  }

  /** Write everything accepted so far; rejects with the first error any write met. */
  flush(): Promise<void> {
    return this.#behind.flush();
  }
}
