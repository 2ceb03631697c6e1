/**
 * `aiofs cp SRC DST [--direct] [--block SIZE]`: copy one file with 8 MiB of blocks in flight at
 * once (reads ahead of writes, writes behind reads), all positional, so the device and the page
 * cache stay busy. Blocks are 256 KiB by default (32 in flight): larger buffered writes into a
 * new file's page cache are slower on this kernel (docs/benchmarks.md, "aiofs cp"). With --direct there is
 * no page cache to fill, and 1 MiB blocks (8 in flight) copy faster than 256 KiB ones.
 *
 * The destination is treated as GNU cp treats it: an existing one is written in place and keeps
 * its inode, owner and mode; a new one gets SRC's permission bits less the umask. On any error
 * the command fails with `aiofs: PATH: message`, and removes DST only if it made it.
 *
 * With --direct both files are opened as direct AIOFiles (O_DIRECT, aligned buffers, the last
 * partial block through the bounce path), which keeps a large copy out of the page cache.
 */
import { constants } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { adoptFd, AIOFile } from '../file/aiofile.js';
import { positionalIo, type PositionalFile } from '../positional.js';
import { getDefaultContext, type IoContext } from '../index.js';
import { CliError } from './errors.js';
import { byteProgress } from './progress.js';
import { parseSize } from './size.js';

export const cpUsage = `Usage: aiofs cp SRC DST [--direct] [--block SIZE]

Copy the file SRC to DST (or into DST, if DST is a directory). An existing DST is
overwritten in place and keeps its mode and owner; a new one gets SRC's mode, less the umask.
On failure, DST is removed only if this copy created it.

Options:
  --block SIZE  bytes per read and write (default 256K, with --direct 1M; with --direct, best a
                multiple of the files' O_DIRECT alignment, or each block goes through a bounce
                buffer); blocks adding up to 8 MiB (2 to 32 of them) are in flight
  --direct      bypass the page cache (O_DIRECT) on both files
  -h, --help    show this help
`;

/** Bytes of blocks in flight, and the bounds on how many blocks that is. */
const { O_CREAT, O_EXCL, O_RDWR, O_WRONLY } = constants;
const IN_FLIGHT_BYTES = 8 << 20;
const MIN_IN_FLIGHT = 2;
const MAX_IN_FLIGHT = 32;
const DEFAULT_BLOCK = '256K';
const DEFAULT_DIRECT_BLOCK = '1M';

/** An error from the copy, with the path it concerns, for `aiofs: PATH: message` (no path where the message names both files). */
export class CopyError extends Error {
  constructor(
    readonly path: string | undefined,
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

const at = (file: string) => (error: unknown) => {
  throw error instanceof CopyError ? error : new CopyError(file, error);
};

export async function cp(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { direct: { type: 'boolean', default: false }, block: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(cpUsage);
    return 0;
  }
  if (positionals.length !== 2) throw new CliError('cp needs a SRC and a DST', cpUsage);
  const block = parseSize(values.block ?? (values.direct ? DEFAULT_DIRECT_BLOCK : DEFAULT_BLOCK), '--block', cpUsage);
  if (block < 1 || block > 1 << 30) throw new CliError('--block must be between 1 byte and 1G', cpUsage);
  const [src, dst] = positionals;
  await copy(getDefaultContext(), src, dst, block, values.direct!);
  return 0;
}

async function copy(ctx: IoContext, src: string, requested: string, block: number, direct: boolean): Promise<void> {
  const source = await ctx.stat(src).catch(at(src));
  if (source.isDirectory()) throw new CopyError(src, new Error('is a directory (not copied)'));
  const existing = await ctx.stat(requested).catch(() => undefined);
  const dst = existing?.isDirectory() ? path.join(requested, path.basename(src)) : requested;
  const input = await AIOFile.open(src, 'rb', { context: ctx, direct }).catch(at(src));
  let output: AIOFile<Buffer> | undefined;
  let created = false;
  try {
    // A FIFO or a pipe is read first, before the destination is touched: open(2) of a FIFO waits
    // for a writer, and GNU cp leaves the destination as it is until then; io_uring's open does
    // not wait, and the wait is the first read's.
    const reads = input[positionalIo]();
    const head = reads.stream ? await readHead(reads, block, src) : undefined;
    // Permission bits only: GNU cp without --preserve gives a new file no setuid, setgid or sticky bit.
    const opened = await openDestination(ctx, dst, source.mode & 0o777, direct);
    created = opened.created;
    // Compared on the open files, so that no name swapped meanwhile can make the copy its own source.
    const [from, to] = await Promise.all([ctx.stat(input.fd), ctx.stat(opened.fd)]).catch(at(dst));
    if (from.dev === to.dev && from.ino === to.ino) {
      await ctx.closeFd(opened.fd).catch(() => {});
      throw new CopyError(undefined, new Error(`'${src}' and '${dst}' are the same file`));
    }
    if (!created && to.isFile() && to.size > 0) await ctx.ftruncate(opened.fd, 0).catch(at(dst));
    output = await AIOFile[adoptFd](opened.fd, dst, 'wb', ctx, direct).catch(at(dst));
    await copyBlocks(input, output, source.size, block, src, dst, head);
    await output.close().catch(at(dst));
  } catch (error) {
    if (output) await output.close().catch(() => {});
    // Only what this copy made is removed: an existing destination keeps its inode, owner and mode.
    if (created) await ctx.unlink(dst).catch(() => {});
    throw error;
  } finally {
    await input.close().catch(() => {});
  }
}

/**
 * The destination open for writing, as GNU cp opens it: an existing file (or device, or a file a
 * symbolic link names) in place, not truncated yet, so that it can be compared with the source
 * first; else a new file with the source's permission bits (less the umask), made here, never
 * over one made meanwhile (O_EXCL). A symbolic link to nothing is not written through. With
 * `direct`, read-write where allowed (the last partial block of an O_DIRECT copy may be read back).
 */
async function openDestination(ctx: IoContext, dst: string, mode: number, direct: boolean): Promise<{ fd: number; created: boolean }> {
  for (const access of direct ? [O_RDWR, O_WRONLY] : [O_WRONLY]) {
    try {
      return { fd: await ctx.open(dst, access), created: false };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' && access === O_RDWR) continue;
      if (code !== 'ENOENT') throw new CopyError(dst, error);
      break;
    }
  }
  const link = await ctx.lstat(dst).catch(() => undefined);
  if (link?.isSymbolicLink()) throw new CopyError(dst, new Error('not writing through a symbolic link to nothing'));
  return { fd: await ctx.open(dst, (direct ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL, mode).catch(at(dst)), created: true };
}

/**
 * Workers (8 MiB worth of blocks, 2 to 32 of them) take blocks in turn: read one whole (a short
 * read is the end of the file), write it at the same offset; one block at a time where either
 * file is a stream (PositionalFile.stream). On direct files the blocks are
 * aligned memory, and the last, partial block is written through the file's bounce path, which
 * leaves the exact length.
 */
/** The first block of a stream, read before anything else is done: `block` bytes, fewer only at its end. */
async function readHead(reads: PositionalFile, block: number, src: string): Promise<Buffer> {
  const buffer = reads.allocate(block);
  const n = await reads.readInto(buffer, 0).catch(at(src));
  return buffer.subarray(0, n);
}

async function copyBlocks(input: AIOFile, output: AIOFile, size: number, block: number, src: string, dst: string, head?: Buffer): Promise<void> {
  const reads = input[positionalIo]();
  const writes = output[positionalIo]();
  const progress = byteProgress(size, 'copying');
  if (reads.stream || writes.stream) {
    // A pipe, a FIFO or a socket at either end: its bytes come or go in one sequence, block after block.
    try {
      const buffer = reads.allocate(block);
      for (let copied = 0; ; ) {
        const chunk = copied === 0 && head !== undefined ? head : buffer.subarray(0, await reads.readInto(buffer, copied).catch(at(src)));
        if (chunk.length === 0) return;
        await writes.writeAt(chunk, copied).catch(at(dst));
        copied += chunk.length;
        progress.update(copied);
        if (chunk.length < block) return;
      }
    } finally {
      progress.stop();
    }
  }
  let next = 0;
  let end = Infinity;
  let copied = 0;
  const worker = async () => {
    const buffer = reads.allocate(block);
    for (;;) {
      const offset = next;
      if (offset >= end) return;
      next += block;
      const n = await reads.readInto(buffer, offset).catch(at(src));
      if (n < block) end = Math.min(end, offset + n);
      if (n === 0) return;
      await writes.writeAt(buffer.subarray(0, n), offset).catch(at(dst));
      copied += n;
      progress.update(copied);
    }
  };
  try {
    const workers = Math.min(MAX_IN_FLIGHT, Math.max(MIN_IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / block)));
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    progress.stop();
  }
}
