/**
 * Positional I/O on one open file: the one interface every layer above IoContext moves bytes
 * through. Read-ahead reads chunks through it, write-behind writes blocks through it, streams and
 * `aiofs cp` use it, and the files that offer it (AIOFile, the aiofs/promises FileHandle) each
 * implement it once: plainly on a buffered fd (file/transfer.ts), through aligned bounce buffers
 * on an O_DIRECT one (file/direct-io.ts). It knows nothing of contexts or backends.
 */
export interface PositionalFile {
  /** Fill `view` from `position`; resolves with the bytes read, fewer only at end of file. */
  readInto(view: ArrayBufferView, position: number): Promise<number>;
  /**
   * Fill `views` in order from `position`, in one request to the kernel where it can (up to
   * IOV_MAX views, limits.ts); resolves with the bytes read into all of them, fewer than their total only
   * at end of file. Offered where one request for several views is cheaper than one each (a
   * buffered fd: one system call for several chunks); absent on an O_DIRECT file, whose reads
   * go through bounce buffers one by one.
   */
  readvInto?(views: Uint8Array[], position: number): Promise<number>;
  /** Write all of `bytes` at `position`; resolves with its length, or rejects with what stopped it. */
  writeAt(bytes: Uint8Array, position: number): Promise<number>;
  /** A Buffer of `size` bytes (not zeroed) that transfers on this file can use without a copy. */
  allocate(size: number): Buffer;
  /**
   * The file has no position (a pipe, a FIFO, a socket, a terminal): its bytes come and go in
   * sequence, whatever position a transfer names. Transfers on it run one after another, in call
   * order (two reads at once would split its bytes between them in any order), and a layer that
   * reads ahead or writes behind must not keep several in flight. Absent: false.
   */
  readonly stream?: boolean;
}

/**
 * The method under which the library's files hand their PositionalFile to the library's own
 * layers (Reader, Writer, LineReader, asyncOpen, aiofs cp): any offset, length and memory, with
 * the file's open/closed and mode checks. Not exported from the package.
 */
export const positionalIo: unique symbol = Symbol('aiofs.positionalIo');
