/**
 * aiofs/promises: a drop-in for node:fs/promises. The functions below have Node's names,
 * signatures, option objects, results and errors, and run on the default IoContext (on the ring
 * with io_uring: open, stat, read, write, close, rename, unlink, mkdir... each one round trip,
 * most of them finished inside the submitting system call when the data is cached). Every other
 * export of node:fs/promises is re-exported as it is, so that the module is complete.
 *
 * Each function takes the everyday shapes of its arguments itself; any other call (an option
 * this module does not know, an odd value each Node release reads its own way) is handed to
 * node:fs/promises' own function, whose validation and errors are then Node's by construction.
 * One exception: a mode of 2^31 or more is refused with ERR_OUT_OF_RANGE, where Node's own
 * validation takes it and its binding then aborts the process.
 */
import fsp from 'node:fs/promises';
import fs, { type BigIntStats, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PathLike } from '../context.js';
import { nodeFs, nodeFsp } from '../node-fs.js';
import { getDefaultContext } from '../create-context.js';
import { systemError, type SystemError } from '../errors.js';
import { nodeSafeMode, nodeSafeOptions, validateMode, validatePath } from '../validate.js';
import {
  BIGINT,
  bigintOption,
  checkAborted,
  everydayFileOptions,
  FdCursor,
  FileHandle as AiofsFileHandle,
  type FileOptions,
  isWriteData,
  learned,
  learnNodeFileHandle,
  ownKeysWithin,
  readAll,
  writeAll,
  type WriteData,
} from './file-handle.js';

export * from 'node:fs/promises';
export type { FileOptions, ReadOptions, ReadResult, WriteData, WriteResult } from './file-handle.js';

const { COPYFILE_EXCL, COPYFILE_FICLONE, COPYFILE_FICLONE_FORCE, O_CREAT, O_EXCL, O_WRONLY } = fs.constants;
const { EACCES, EEXIST, ENOENT, ENOSPC, ENOTDIR, EPERM } = os.constants.errno;
const COPY_CHUNK = 1 << 20;
const rmKeys: ReadonlySet<string> = new Set(['recursive', 'force']);
const mkdirKeys: ReadonlySet<string> = new Set(['recursive', 'mode']);

/** Open `path` with node:fs flags (default 'r') and `mode` (default 0o666); a FileHandle. */
async function open(path: PathLike, flags?: string | number, mode?: string | number): Promise<AiofsFileHandle> {
  const context = getDefaultContext();
  // The context validates path, then flags, then mode, in Node's order.
  const opening = context.open(path, flags ?? 'r', mode ?? 0o666);
  // The first open also learns Node's FileHandle class, beside its own (learnNodeFileHandle).
  const fd = learned ? await opening : (await Promise.all([opening, learnNodeFileHandle()]))[0];
  return new AiofsFileHandle(fd, context, validatePath(path).text);
}

/** The whole file (a path or a FileHandle), as a Buffer or, with an encoding, a string. */
async function readFile(file: PathLike | AiofsFileHandle, options?: FileOptions | BufferEncoding | null): Promise<string | Buffer> {
  if (file instanceof AiofsFileHandle) return file.readFile(options);
  const checked = isPathLike(file) ? everydayFileOptions(options, 'readFile') : undefined;
  if (checked === undefined) return nodeFsp.readFile(file as PathLike, nodeSafeOptions(options) as never);
  const { encoding, flag, signal } = checked;
  checkAborted(signal);
  const context = getDefaultContext();
  const fd = await context.open(file, flag || 'r', 0o666);
  try {
    const bytes = await readAll(new FdCursor(context, fd, 0), signal);
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
  readFileNamesPath ??= nodeFsp.readFile(os.tmpdir()).then(
    () => false,
    (theirs: SystemError) => theirs.path !== undefined,
  );
  if (!(await readFileNamesPath)) return error;
  const named = systemError(failure.errno, 'read', validatePath(file).text);
  named.stack = failure.stack?.replace(failure.message, named.message);
  return named;
}

/** Replace the file's contents with `data` (flag 'w' unless told otherwise). */
async function writeFile(file: PathLike | AiofsFileHandle, data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
  return writeWith(file, data, options, 'w');
}

/** Append `data` to the file, creating it (flag 'a' unless told otherwise). */
async function appendFile(file: PathLike | AiofsFileHandle, data: WriteData, options?: FileOptions | BufferEncoding | null): Promise<void> {
  return writeWith(file, data, options, 'a');
}

async function writeWith(file: PathLike | AiofsFileHandle, data: WriteData, options: unknown, defaultFlag: 'w' | 'a'): Promise<void> {
  if (file instanceof AiofsFileHandle) return defaultFlag === 'w' ? file.writeFile(data, options as FileOptions) : file.appendFile(data, options as FileOptions);
  const checked = isPathLike(file) && isWriteData(data) ? everydayFileOptions(options, 'writeFile') : undefined;
  if (checked === undefined) {
    const safe = nodeSafeOptions(options);
    return defaultFlag === 'w' ? nodeFsp.writeFile(file as PathLike, data as never, safe as never) : nodeFsp.appendFile(file as PathLike, data as never, safe as never);
  }
  // A falsy flag (0, '') is the default, as Node's `options.flag || 'w'`.
  const { encoding, flag, mode, signal, flush } = checked;
  checkAborted(signal);
  const context = getDefaultContext();
  // The context checks the path, then the mode (refusing one that would abort Node), as Node's open.
  const fd = await context.open(file, flag || defaultFlag, (mode ?? 0o666) as number);
  try {
    // Node's open takes a trip to its thread pool, and an abort from the next tick wins before
    // anything is written; ours may complete without a turn of the loop: give it that turn.
    if (signal) await nextTurn();
    await writeAll(new FdCursor(context, fd, 0), data, encoding ?? 'utf8', signal);
    if (flush) await context.fsync(fd);
  } finally {
    await context.closeFd(fd);
  }
}

function stat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
function stat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
function stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
function stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  const bigint = isPathLike(path) ? bigintOption(options) : undefined;
  if (bigint === undefined) return nodeFsp.stat(path, options);
  return getDefaultContext().stat(path, bigint ? BIGINT : undefined);
}

function lstat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
function lstat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
function lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
function lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
  const bigint = isPathLike(path) ? bigintOption(options) : undefined;
  if (bigint === undefined) return nodeFsp.lstat(path, options);
  return getDefaultContext().lstat(path, bigint ? BIGINT : undefined);
}

function rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
  return getDefaultContext().rename(oldPath, newPath);
}

function unlink(path: PathLike): Promise<void> {
  return getDefaultContext().unlink(path);
}

function link(existingPath: PathLike, newPath: PathLike): Promise<void> {
  return getDefaultContext().link(existingPath, newPath);
}

/** `type` only matters on Windows, where node:fs does the work; a type Node does not know is Node's to refuse. */
function symlink(target: PathLike, path: PathLike, type?: string | null): Promise<void> {
  const everyday = type === undefined || type === null || type === 'file' || type === 'dir' || type === 'junction';
  if (process.platform === 'win32' || !everyday) return nodeFsp.symlink(target, path, type);
  return getDefaultContext().symlink(target, path);
}

/** Remove an empty directory; any option (`recursive`, deprecated in Node) is handed to node:fs. */
function rmdir(path: PathLike, options?: fs.RmDirOptions): Promise<void> {
  if (options !== undefined) return nodeFsp.rmdir(path, options);
  return getDefaultContext().rmdir(path);
}

/**
 * Make a directory; with `recursive`, its missing parents too, resolving with the first
 * directory made (undefined if it existed), as Node does.
 */
async function mkdir(path: PathLike, options?: fs.MakeDirectoryOptions | fs.Mode | null): Promise<string | undefined> {
  let mode: unknown;
  let recursive: unknown = false;
  if (typeof options === 'number' || typeof options === 'string') mode = options;
  else if (options !== undefined && options !== null) {
    if (typeof options !== 'object' || !ownKeysWithin(options, mkdirKeys)) return nodeFsp.mkdir(path, nodeSafeOptions(options) as fs.MakeDirectoryOptions);
    ({ mode, recursive = false } = options);
  }
  if (typeof recursive !== 'boolean') return nodeFsp.mkdir(path, nodeSafeOptions(options) as fs.MakeDirectoryOptions);
  if (!recursive) {
    // The context checks the path, then the mode, as Node's mkdir.
    await getDefaultContext().mkdir(path, (mode ?? 0o777) as number);
    return undefined;
  }
  const { text } = validatePath(path);
  return makeTree(text, validateMode(mode, 'mode', 0o777) & 0o7777);
}

/**
 * mkdir -p of `target`, as Node's own (its MKDirpAsync, step for step): missing parents made
 * from the top down, an existing one accepted only if it is a directory (else ENOTDIR), and the
 * last name accepted if it exists as a directory; resolves with the first directory made.
 * Errors are mkdir's, naming the path being made when it failed.
 */
async function makeTree(target: string, mode: number): Promise<string | undefined> {
  const context = getDefaultContext();
  const failed = (errno: number, at: string) => systemError(errno, 'mkdir', at);
  const stack = [target];
  let first: string | undefined;
  while (stack.length > 0) {
    const next = stack.pop()!;
    let errno = await context.mkdir(next, mode).then(
      () => 0,
      (error: SystemError) => error.errno,
    );
    if (errno === 0) {
      first ??= next;
      continue;
    }
    if (errno === -ENOENT) {
      const cut = next.lastIndexOf(path.sep);
      const parent = cut === -1 ? next : next.slice(0, cut);
      if (parent !== next) {
        stack.push(next, parent);
        continue;
      }
      if (stack.length > 0) continue;
      errno = -EEXIST;
    } else if (errno === -EACCES || errno === -ENOSPC || errno === -ENOTDIR || errno === -EPERM) {
      throw failed(errno, next);
    }
    // It exists, or another failure: what is there now decides.
    const found = await context.stat(next).catch((error: SystemError) => error.errno);
    if (errno === -EEXIST && stack.length > 0) {
      if (typeof found !== 'number' && found.isDirectory()) continue;
      throw failed(-ENOTDIR, next);
    }
    if (typeof found === 'number') throw failed(found, next);
    if (!found.isDirectory()) throw failed(-EEXIST, next);
    return first;
  }
  return first;
}

/**
 * Remove a file, or with `recursive` a tree, as Node's rm does it step for step (its rimraf):
 * what the path names is asked with lstat, never followed, so that a symbolic link is removed
 * and not what it points to; a directory is first tried with rmdir, and only one that is not
 * empty has its entries listed (through node:fs: io_uring has no readdir) and removed one by one.
 * Every lstat, unlink and rmdir runs on the context. `force` ignores a path that does not exist.
 * Other options (maxRetries, retryDelay) are node:fs's to apply.
 */
async function rm(target: PathLike, options?: fs.RmOptions): Promise<void> {
  let recursive: unknown = false;
  let force: unknown = false;
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options) || !ownKeysWithin(options, rmKeys)) return nodeFsp.rm(target, options);
    ({ recursive = false, force = false } = options);
  }
  if (typeof recursive !== 'boolean' || typeof force !== 'boolean' || !isPathLike(target)) return nodeFsp.rm(target, options);
  const context = getDefaultContext();
  const where = validatePath(target).text;
  // A path whose last name is '.' or '..' (releases remove what it names differently): Node's own.
  if (/(?:^|\/)\.\.?\/*$/.test(where)) return nodeFsp.rm(target, options);
  let stats: Stats;
  try {
    stats = await context.lstat(where);
  } catch (error) {
    if (force && (error as SystemError).code === 'ENOENT') return;
    throw error;
  }
  // node:fs's own ERR_FS_EISDIR, with its message and fields.
  if (stats.isDirectory() && !recursive) return nodeFsp.rm(target, options);
  return removeTree(validatePath(target).bytes);
}

/**
 * Remove what `target` names (never following a final symbolic link): Node's rimraf, step for
 * step, so that every outcome is node:fs's. An entry already gone is success.
 */
async function removeTree(target: string | Buffer): Promise<void> {
  const context = getDefaultContext();
  let stats: Stats | undefined;
  try {
    stats = await context.lstat(target);
  } catch (error) {
    if ((error as SystemError).code === 'ENOENT') return;
  }
  if (stats?.isDirectory()) return removeDirectory(target, undefined);
  try {
    await context.unlink(target);
  } catch (error) {
    const code = (error as SystemError).code;
    if (code === 'ENOENT') return;
    // unlink(2) of a directory is EISDIR; of one the caller may not unlink, EPERM: try it as a directory.
    if (code === 'EISDIR' || code === 'EPERM') return removeDirectory(target, error);
    throw error;
  }
}

/**
 * rmdir `dir`; one that is not empty has its entries removed first. ENOTDIR (what `dir` names is
 * not a directory: a symbolic link to one, named with a trailing slash) ends it with
 * `original`, the error that brought us here, or with nothing, as Node's rimraf does.
 */
async function removeDirectory(dir: string | Buffer, original: unknown): Promise<void> {
  const context = getDefaultContext();
  try {
    await context.rmdir(dir);
    return;
  } catch (error) {
    const code = (error as SystemError).code;
    if (code === 'ENOTDIR') {
      if (original !== undefined) throw original;
      return;
    }
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw error;
  }
  const prefix = Buffer.concat([Buffer.from(dir), Buffer.from(path.sep)]);
  const entries = await nodeFsp.readdir(Buffer.from(dir), { encoding: 'buffer' });
  await Promise.all(entries.map((entry) => removeTree(Buffer.concat([prefix, entry]))));
  await context.rmdir(dir);
}

/**
 * Copy `src` to `dest`, as libuv does it for Node: the destination is opened without truncating
 * it and compared with the source first, so that a copy onto the same file (by any name: a link,
 * a symbolic link) leaves it as it is; then truncated, given the source's mode, and filled.
 * COPYFILE_EXCL refuses an existing `dest`; COPYFILE_FICLONE tries nothing more than a copy;
 * COPYFILE_FICLONE_FORCE, which needs a reflink ioctl, and any other mode are handed to node:fs.
 * A failure after the destination was opened removes it, as Node's does. Errors name both paths,
 * syscall 'copyfile', as Node's do.
 */
async function copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void> {
  const flags = mode ?? 0;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > (COPYFILE_EXCL | COPYFILE_FICLONE) || !isPathLike(src) || !isPathLike(dest)) {
    return nodeFsp.copyFile(src, dest, mode);
  }
  const from = validatePath(src, 'src').text;
  const to = validatePath(dest, 'dest').text;
  const asCopyfile = (error: unknown): never => {
    const e = error as SystemError;
    if (typeof e.errno !== 'number') throw error;
    throw systemError(e.errno, 'copyfile', from, to);
  };
  const context = getDefaultContext();
  const source = await context.open(src, 'r').catch(asCopyfile);
  let target: number | undefined;
  try {
    const stats = await context.stat(source).catch(asCopyfile);
    const permissions = stats.mode & 0o7777;
    target = await context.open(dest, O_WRONLY | O_CREAT | (flags & COPYFILE_EXCL ? O_EXCL : 0), permissions).catch(asCopyfile);
    const existing = await context.stat(target).catch(asCopyfile);
    if (!(flags & COPYFILE_EXCL)) {
      if (existing.dev === stats.dev && existing.ino === stats.ino) return;
      // Truncated even when empty, as libuv truncates it: a character device refuses (EINVAL),
      // and the copy fails as Node's does. EACCES on an empty file is no failure (libuv: ceph-fuse).
      await context.ftruncate(target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EACCES' || existing.size > 0) asCopyfile(error);
      });
    }
    if ((existing.mode & 0o7777) !== permissions) await fchmod(target, permissions).catch(asCopyfile);
    const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(stats.size, 1)));
    for (let position = 0; ; ) {
      const n = await context.read(source, chunk, position).catch(asCopyfile);
      if (n === 0) break;
      for (let written = 0; written < n; ) written += await context.write(target, chunk.subarray(written, n), position + written).catch(asCopyfile);
      position += n;
    }
  } catch (error) {
    if (target !== undefined) {
      const opened = target;
      target = undefined;
      await context.closeFd(opened).catch(() => {});
      await context.unlink(dest).catch(() => {});
    }
    throw error;
  } finally {
    if (target !== undefined) await context.closeFd(target).catch(asCopyfile);
    await context.closeFd(source).catch(() => {});
  }
}

function fchmod(fd: number, mode: number): Promise<void> {
  return new Promise((resolve, reject) => nodeFs.fchmod(fd, mode, (error) => (error ? reject(error) : resolve())));
}

/** node:fs's chmod, with a mode its binding would abort the process on refused (2^31 and up) or made safe (-0): nodeSafeMode. */
async function chmod(path: PathLike, mode: fs.Mode): Promise<void> {
  return nodeFsp.chmod(path, nodeSafeMode(mode) as fs.Mode);
}

/** Cut or extend the file at `path` to `len` bytes (default 0). */
async function truncate(path: PathLike, len?: number): Promise<void> {
  const length = len === undefined ? 0 : len;
  if (!Number.isSafeInteger(length)) return nodeFsp.truncate(path, len);
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
  } finally {
    await handle.close();
  }
}

/** A path value the context takes itself (its validation is node:fs's for these); any other is node:fs's to answer. */
function isPathLike(value: unknown): value is PathLike {
  return typeof value === 'string' || value instanceof Uint8Array || value instanceof URL;
}


/**
 * The module's bindings, each with node:fs/promises' own type: that of the @types/node the user
 * compiles with, so that `const text: string = await readFile(p, 'utf8')` and every overload
 * type-check as they do against node:fs/promises, release by release (test/types.test.ts
 * compiles everyday calls against @types/node 20, 22 and 24).
 */
type NodeFs = typeof fsp;
const openExport = open as NodeFs['open'];
const readFileExport = readFile as NodeFs['readFile'];
const writeFileExport = writeFile as NodeFs['writeFile'];
const appendFileExport = appendFile as NodeFs['appendFile'];
const statExport = stat as NodeFs['stat'];
const lstatExport = lstat as NodeFs['lstat'];
const renameExport = rename as NodeFs['rename'];
const unlinkExport = unlink as NodeFs['unlink'];
const linkExport = link as NodeFs['link'];
const symlinkExport = symlink as NodeFs['symlink'];
const rmdirExport = rmdir as NodeFs['rmdir'];
const mkdirExport = mkdir as NodeFs['mkdir'];
const rmExport = rm as NodeFs['rm'];
const copyFileExport = copyFile as NodeFs['copyFile'];
const chmodExport = chmod as NodeFs['chmod'];
const truncateExport = truncate as NodeFs['truncate'];
export {
  openExport as open,
  readFileExport as readFile,
  writeFileExport as writeFile,
  appendFileExport as appendFile,
  statExport as stat,
  lstatExport as lstat,
  renameExport as rename,
  unlinkExport as unlink,
  linkExport as link,
  symlinkExport as symlink,
  rmdirExport as rmdir,
  mkdirExport as mkdir,
  rmExport as rm,
  copyFileExport as copyFile,
  chmodExport as chmod,
  truncateExport as truncate,
};

/**
 * The FileHandle class (for `instanceof`; handles come from open()), typed as node:fs/promises'
 * own FileHandle: every handle is an instance of Node's class too, and what aiofs does not
 * implement itself it inherits from Node's.
 */
export const FileHandle = AiofsFileHandle as unknown as abstract new (...args: never[]) => fsp.FileHandle;
export type FileHandle = fsp.FileHandle;

const ours = {
  open: openExport,
  readFile: readFileExport,
  writeFile: writeFileExport,
  appendFile: appendFileExport,
  stat: statExport,
  lstat: lstatExport,
  rename: renameExport,
  unlink: unlinkExport,
  link: linkExport,
  symlink: symlinkExport,
  rmdir: rmdirExport,
  mkdir: mkdirExport,
  rm: rmExport,
  copyFile: copyFileExport,
  chmod: chmodExport,
  truncate: truncateExport,
};

/** `import fs from 'aiofs/promises'`: node:fs/promises with the functions above in place of Node's; its type is that module's. */
const promises: NodeFs = { ...nodeFsp, ...ours };
export default promises;
