/**
 * aiofs/promises: a drop-in for node:fs/promises. The functions below have Node's names,
 * signatures, option objects, results and errors, and run on the default IoContext (on the ring
 * with io_uring: open, stat, read, write, close, rename, unlink, mkdir... each one round trip,
 * most of them finished inside the submitting system call when the data is cached). Every other
 * export of node:fs/promises is re-exported as it is, so that the module is complete.
 */
import fsp from 'node:fs/promises';
import fs, { type BigIntStats, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PathLike } from '../context.js';
import { getDefaultContext } from '../create-context.js';
import { systemError, type SystemError } from '../errors.js';
import { validateBoolean, validateInteger, validateMode, validateObject, validateOpenFlags, validatePath } from '../validate.js';
import { checkAborted, FdCursor, FileHandle, fileOptions, type FileOptions, readAll, validateWriteData, writeAll, type WriteData } from './file-handle.js';

export * from 'node:fs/promises';
export { FileHandle } from './file-handle.js';
export type { FileOptions, ReadOptions, ReadResult, WriteData, WriteResult } from './file-handle.js';

const { COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE } = fs.constants;
const COPY_CHUNK = 1 << 20;

/** Open `path` with node:fs flags (default 'r') and `mode` (default 0o666); a FileHandle. */
export async function open(path: PathLike, flags?: string | number, mode?: string | number): Promise<FileHandle> {
  const context = getDefaultContext();
  // The context validates path, then flags, then mode, in Node's order; the flags are parsed
  // again (a table lookup) only to learn whether the handle appends.
  const fd = await context.open(path, flags ?? 'r', mode ?? 0o666);
  return new FileHandle(fd, context, validatePath(path).text);
}

/** The whole file (a path or a FileHandle), as a Buffer or, with an encoding, a string. */
export async function readFile(file: PathLike | FileHandle, options?: FileOptions | BufferEncoding | null): Promise<string | Buffer> {
  if (file instanceof FileHandle) return file.readFile(options);
  const { encoding, flag, signal } = fileOptions(options, 'r');
  checkAborted(signal);
  const context = getDefaultContext();
  const fd = await context.open(file, validateOpenFlags(flag, 'flags'), 0o666);
  try {
    const bytes = await readAll(new FdCursor(context, fd), signal);
    return encoding ? bytes.toString(encoding) : bytes;
  } catch (error) {
    throw await withReadFilePath(error, file);
  } finally {
    await context.closeFd(fd);
  }
}

/** Whether the running Node's readFile names the path in a read's error (Node 26 does); learned once. */
let readFileNamesPath: Promise<boolean> | undefined;

/**
 * A read's error from readFile of `file`, with the path in it where the running Node's readFile
 * puts it there. Learned from Node's own readFile of a directory the first time an error comes,
 * so that the call that succeeds pays nothing.
 */
async function withReadFilePath(error: unknown, file: PathLike): Promise<unknown> {
  const failure = error as SystemError;
  if (failure?.syscall !== 'read' || failure.path !== undefined || typeof failure.errno !== 'number') return error;
  readFileNamesPath ??= fsp.readFile(os.tmpdir()).then(
    () => false,
    (theirs: SystemError) => theirs.path !== undefined,
  );
  if (!(await readFileNamesPath)) return error;
  const named = systemError(failure.errno, 'read', validatePath(file).text);
  named.stack = failure.stack?.replace(failure.message, named.message);
  return named;
}

/** Replace the file's contents with `data` (flag 'w' unless told otherwise). */
export async function writeFile(file: PathLike | FileHandle, data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
  return writeWith(file, data, options, 'w');
}

/** Append `data` to the file, creating it (flag 'a' unless told otherwise). */
export async function appendFile(file: PathLike | FileHandle, data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
  return writeWith(file, data, options, 'a');
}

async function writeWith(file: PathLike | FileHandle, data: WriteData, options: unknown, defaultFlag: string): Promise<void> {
  if (file instanceof FileHandle) return file.writeFile(data, options as FileOptions);
  validateWriteData(data);
  const { encoding, flag, mode, signal, flush } = fileOptions(options, defaultFlag, true);
  checkAborted(signal);
  const context = getDefaultContext();
  const fd = await context.open(file, validateOpenFlags(flag, 'flags'), validateMode(mode, 'mode', 0o666));
  try {
    await writeAll(new FdCursor(context, fd), data, encoding ?? 'utf8', signal);
    if (flush) await context.fsync(fd);
  } finally {
    await context.closeFd(fd);
  }
}

export function stat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
export function stat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
export function stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
export function stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  try {
    if (typeof path === 'number') validatePath(path); // a path here, never an fd: throws Node's error
    return getDefaultContext().stat(path, statOptions(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

export function lstat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
export function lstat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
export function lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
export function lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  try {
    return getDefaultContext().lstat(path, statOptions(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

const BIGINT = Object.freeze({ bigint: true });

/** The context's options for stat/lstat (none for the common case: no object to check there). */
function statOptions(options: unknown): { bigint: true } | undefined {
  if (options === undefined || options === null) return undefined;
  const checked = validateObject(options, 'options')!;
  return (checked.bigint === undefined ? false : validateBoolean(checked.bigint, 'options.bigint')) ? BIGINT : undefined;
}

export function rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
  return getDefaultContext().rename(oldPath, newPath);
}

export function unlink(path: PathLike): Promise<void> {
  return getDefaultContext().unlink(path);
}

export function link(existingPath: PathLike, newPath: PathLike): Promise<void> {
  return getDefaultContext().link(existingPath, newPath);
}

/** `type` only matters on Windows, where node:fs does the work. */
export function symlink(target: PathLike, path: PathLike, type?: string | null): Promise<void> {
  if (process.platform === 'win32') return fsp.symlink(target, path, type);
  return getDefaultContext().symlink(target, path);
}

/** Remove an empty directory; `recursive` (deprecated in Node) is handed to node:fs. */
export function rmdir(path: PathLike, options?: fs.RmDirOptions): Promise<void> {
  if (options?.recursive) return fsp.rmdir(path, options);
  return getDefaultContext().rmdir(path);
}

/**
 * Make a directory; with `recursive`, its missing parents too, resolving with the first
 * directory made (undefined if it existed), as Node does.
 */
export async function mkdir(path: PathLike, options?: fs.MakeDirectoryOptions | fs.Mode | null): Promise<string | undefined> {
  const checked = typeof options === 'object' && options !== null ? validateObject(options, 'options')! : { mode: options };
  const mode = validateMode(checked.mode, 'mode', 0o777);
  const recursive = checked.recursive === undefined ? false : validateBoolean(checked.recursive, 'options.recursive');
  const context = getDefaultContext();
  if (!recursive) {
    await context.mkdir(path, mode);
    return undefined;
  }
  return makeTree(validatePath(path).text, mode);
}

async function makeTree(dir: string, mode: number): Promise<string | undefined> {
  const context = getDefaultContext();
  try {
    await context.mkdir(dir, mode);
    return dir;
  } catch (error) {
    const code = (error as SystemError).code;
    if (code === 'EEXIST') {
      const existing = await context.stat(dir).catch(() => undefined);
      if (existing?.isDirectory()) return undefined;
      throw error;
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    const first = await makeTree(parent, mode);
    await context.mkdir(dir, mode).catch((again: SystemError) => {
      if (again.code !== 'EEXIST') throw again;
    });
    return first ?? dir;
  }
}

/**
 * Remove a file, or with `recursive` a tree (its listing through node:fs, every removal on the
 * ring). `force` ignores a path that does not exist. A directory without `recursive` gets
 * node:fs's own ERR_FS_EISDIR.
 */
export async function rm(target: PathLike, options?: fs.RmOptions): Promise<void> {
  const checked = validateObject(options ?? {}, 'options')!;
  const recursive = checked.recursive === undefined ? false : validateBoolean(checked.recursive, 'options.recursive');
  const force = checked.force === undefined ? false : validateBoolean(checked.force, 'options.force');
  const context = getDefaultContext();
  const where = validatePath(target).text;
  let stats: Stats;
  try {
    stats = await context.lstat(where);
  } catch (error) {
    if (force && (error as SystemError).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isDirectory()) return context.unlink(where);
  if (!recursive) return fsp.rm(target, options);
  const entries = await fsp.readdir(where);
  await Promise.all(entries.map((entry) => rm(path.join(where, entry), { recursive: true, force: true })));
  await context.rmdir(where);
}

/**
 * Copy `src` to `dest` (mode bits included): COPYFILE_EXCL refuses an existing `dest`;
 * COPYFILE_FICLONE tries nothing more than a copy; COPYFILE_FICLONE_FORCE, which needs a reflink
 * ioctl, is handed to node:fs. Errors name both paths, syscall 'copyfile', as Node's do.
 */
export async function copyFile(src: PathLike, dest: PathLike, mode = 0): Promise<void> {
  const flags = validateInteger(mode, 'mode', 0, COPYFILE_EXCL | COPYFILE_FICLONE | COPYFILE_FICLONE_FORCE);
  if (flags & COPYFILE_FICLONE_FORCE) return fsp.copyFile(src, dest, flags);
  const from = validatePath(src, 'src').text;
  const to = validatePath(dest, 'dest').text;
  const asCopyfile = (error: unknown): never => {
    const e = error as SystemError;
    if (typeof e.errno !== 'number') throw error;
    throw systemError(e.errno, 'copyfile', from, to);
  };
  const source = await open(from, 'r').catch(asCopyfile);
  try {
    const stats = await source.stat().catch(asCopyfile);
    const target = await open(to, (flags & COPYFILE_EXCL ? 'wx' : 'w'), stats.mode & 0o7777).catch(asCopyfile);
    try {
      const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(stats.size, 1)));
      for (let position = 0; ; ) {
        const { bytesRead } = await source.read(chunk, 0, chunk.length, position).catch(asCopyfile);
        if (bytesRead === 0) break;
        await target.write(chunk, 0, bytesRead, position).catch(asCopyfile);
        position += bytesRead;
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** Cut or extend the file at `path` to `len` bytes (default 0). */
export async function truncate(path: PathLike, len = 0): Promise<void> {
  const length = Math.max(0, validateInteger(len, 'len', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
  } finally {
    await handle.close();
  }
}

const ours = {
  open,
  readFile,
  writeFile,
  appendFile,
  stat,
  lstat,
  rename,
  unlink,
  link,
  symlink,
  rmdir,
  mkdir,
  rm,
  copyFile,
  truncate,
  FileHandle,
};

/** `import fs from 'aiofs/promises'`: node:fs/promises with the functions above in place of Node's. */
const promises: Omit<typeof fsp, keyof typeof ours> & typeof ours = { ...fsp, ...ours };
export default promises;
