/**
 * `aiofs cp SRC DST [--direct] [--block 1M]`: copy one file with eight blocks in flight at once
 * (reads ahead of writes, writes behind reads), all positional, so the device and the page cache
 * stay busy. The copy gets SRC's permission bits. On any error the partial DST is removed and
 * the command fails with `aiofs: PATH: message`.
 *
 * With --direct both files are opened with O_DIRECT (aligned buffers; the last block is written
 * whole and the file then cut to its true length), which keeps a large copy out of the page cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeFully } from '../file/transfer.js';
import { allocAligned, getDefaultContext, type IoContext } from '../index.js';
import { CliError } from './errors.js';
import { byteProgress } from './progress.js';
import { parseSize } from './size.js';

export const cpUsage = `Usage: aiofs cp SRC DST [--direct] [--block SIZE]

Copy the file SRC to DST (or into DST, if DST is a directory), keeping SRC's mode.

Options:
  --block SIZE  bytes per read and write (default 1M; a multiple of 4K with --direct)
  --direct      bypass the page cache (O_DIRECT) on both files
  -h, --help    show this help
`;

const IN_FLIGHT = 8;
const DIRECT_ALIGNMENT = 4096;

/** An error from the copy, with the path it concerns, for `aiofs: PATH: message`. */
export class CopyError extends Error {
  constructor(
    readonly path: string,
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
    options: { direct: { type: 'boolean', default: false }, block: { type: 'string', default: '1M' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(cpUsage);
    return 0;
  }
  if (positionals.length !== 2) throw new CliError('cp needs a SRC and a DST', cpUsage);
  const block = parseSize(values.block!, '--block', cpUsage);
  if (block < 1 || block > 1 << 30) throw new CliError('--block must be between 1 byte and 1G', cpUsage);
  if (values.direct && block % DIRECT_ALIGNMENT !== 0) throw new CliError('--block must be a multiple of 4K with --direct', cpUsage);
  const [src, dst] = positionals;
  await copy(getDefaultContext(), src, dst, block, values.direct!);
  return 0;
}

async function copy(ctx: IoContext, src: string, requested: string, block: number, direct: boolean): Promise<void> {
  const source = await ctx.stat(src).catch(at(src));
  if (source.isDirectory()) throw new CopyError(src, new Error('is a directory (not copied)'));
  const existing = await ctx.stat(requested).catch(() => undefined);
  const dst = existing?.isDirectory() ? path.join(requested, path.basename(src)) : requested;
  const target = existing?.isDirectory() ? await ctx.stat(dst).catch(() => undefined) : existing;
  if (target && target.dev === source.dev && target.ino === source.ino) {
    throw new CopyError(dst, new Error(`'${src}' and '${dst}' are the same file`));
  }
  const directFlag = direct ? fs.constants.O_DIRECT : 0;
  const input = await ctx.open(src, fs.constants.O_RDONLY | directFlag).catch(at(src));
  let output = -1;
  try {
    output = await ctx.open(dst, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | directFlag, 0o600).catch(at(dst));
    const length = await copyBlocks(ctx, input, output, source.size, block, direct, src, dst);
    if (direct && length % DIRECT_ALIGNMENT !== 0) await ctx.ftruncate(output, length).catch(at(dst));
    await new Promise<void>((resolve, reject) => fs.fchmod(output, source.mode & 0o7777, (e) => (e ? reject(e) : resolve()))).catch(at(dst));
    await ctx.closeFd(output).catch(at(dst));
    output = -1;
  } catch (error) {
    if (output >= 0) await ctx.closeFd(output).catch(() => {});
    await ctx.unlink(dst).catch(() => {});
    throw error;
  } finally {
    await ctx.closeFd(input).catch(() => {});
  }
}

/**
 * IN_FLIGHT workers take blocks in turn: read one whole (a short read is the end of the file),
 * write it at the same offset. Returns the length copied, which is where the file ended.
 */
async function copyBlocks(ctx: IoContext, input: number, output: number, size: number, block: number, direct: boolean, src: string, dst: string): Promise<number> {
  const progress = byteProgress(size, 'copying');
  let next = 0;
  let end = Infinity;
  let copied = 0;
  const worker = async () => {
    const buffer = direct ? allocAligned(block, DIRECT_ALIGNMENT) : Buffer.allocUnsafe(block);
    for (;;) {
      const offset = next;
      if (offset >= end) return;
      next += block;
      let n = 0;
      while (n < block) {
        const got = await ctx.read(input, buffer.subarray(n), offset + n).catch(at(src));
        if (got === 0) break;
        n += got;
        if (direct && n % DIRECT_ALIGNMENT !== 0) break; // O_DIRECT reads stop short only at the end
      }
      if (n < block) end = Math.min(end, offset + n);
      if (n === 0) return;
      const length = direct ? Math.ceil(n / DIRECT_ALIGNMENT) * DIRECT_ALIGNMENT : n;
      if (direct && length > n) buffer.fill(0, n, length);
      await writeFully(ctx, output, buffer.subarray(0, length), offset).catch(at(dst));
      copied += n;
      progress.update(copied);
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    progress.stop();
  }
  return end === Infinity ? next : end;
}
