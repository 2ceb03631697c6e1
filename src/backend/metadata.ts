/**
 * Metadata operations, each with its arguments named as its system call names them (as the
 * native side's `struct aiofs_meta` does), made by one constructor per operation so that every
 * record of one operation has one shape. The context builds them; the engines hand them to the
 * kernel (`prepMeta` below is the boundary's one argument list, read back by native/args.c), the
 * threads backend to the node:fs call that does the same.
 */
import type { NativeEngine } from '../native.js';
import { Op } from './op.js';

/** AT_FDCWD: paths relative to the current directory. */
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/**
 * A path as the engines and node:fs take it: a string (the addon writes it as UTF-8, as
 * Buffer.from would) or its bytes.
 */
export type PathArg = string | Buffer;

/** What every metadata operation's errors name: node:fs's syscall, `path` and `dest`. */
interface Named {
  readonly syscall: string;
  readonly errorPath: string | undefined;
  readonly errorDest: string | undefined;
}

/** openat(dirfd, path, flags, mode) -> the new fd. */
export interface OpenAt extends Named {
  readonly op: typeof Op.Open;
  readonly dirfd: number;
  readonly path: PathArg;
  readonly flags: number;
  readonly mode: number;
}

/** close(fd). */
export interface Close extends Named {
  readonly op: typeof Op.Close;
  readonly fd: number;
}

/**
 * statx(dirfd, path, flags, mask, statx): `flags` AT_EMPTY_PATH with an empty path is fstat,
 * AT_SYMLINK_NOFOLLOW lstat. The kernel fills `statx` (engines); the threads backend stores the
 * Stats node:fs gave in `stats` instead.
 */
export interface Statx extends Named {
  readonly op: typeof Op.Stat;
  readonly dirfd: number;
  readonly path: PathArg;
  readonly flags: number;
  readonly mask: number;
  readonly statx: Buffer;
  /** BigIntStats rather than Stats. */
  readonly bigint: boolean;
  stats: unknown;
}

/** renameat2 or linkat(olddirfd, oldpath, newdirfd, newpath, flags). */
export interface TwoPaths extends Named {
  readonly op: typeof Op.Rename | typeof Op.Link;
  readonly olddirfd: number;
  readonly oldpath: PathArg;
  readonly newdirfd: number;
  readonly newpath: PathArg;
  readonly flags: number;
}

/** unlinkat(dirfd, path, flags): AT_REMOVEDIR is rmdir. */
export interface UnlinkAt extends Named {
  readonly op: typeof Op.Unlink;
  readonly dirfd: number;
  readonly path: PathArg;
  readonly flags: number;
}

/** mkdirat(dirfd, path, mode). */
export interface MkdirAt extends Named {
  readonly op: typeof Op.Mkdir;
  readonly dirfd: number;
  readonly path: PathArg;
  readonly mode: number;
}

/** symlinkat(target, newdirfd, linkpath). */
export interface SymlinkAt extends Named {
  readonly op: typeof Op.Symlink;
  readonly target: PathArg;
  readonly newdirfd: number;
  readonly linkpath: PathArg;
}

/** fallocate(fd, mode, offset, length). */
export interface Fallocate extends Named {
  readonly op: typeof Op.Fallocate;
  readonly fd: number;
  readonly mode: number;
  readonly offset: number;
  readonly length: number;
}

/** ftruncate(fd, length). */
export interface Ftruncate extends Named {
  readonly op: typeof Op.Ftruncate;
  readonly fd: number;
  readonly length: number;
}

/**
 * splice(fdIn, offIn, fdOut, NULL, length, flags): moves up to `length` bytes inside the kernel;
 * one end must be a pipe. `offIn` null reads a pipe at its own position. Engines without it (aio)
 * and the threads backend answer EOPNOTSUPP.
 */
export interface Splice extends Named {
  readonly op: typeof Op.Splice;
  readonly fdIn: number;
  readonly offIn: number | null;
  readonly fdOut: number;
  readonly length: number;
  readonly flags: number;
}

/** A one-shot poll of `fd` for `events` (POLLOUT...): resolves with the ready events. io_uring only. */
export interface Poll extends Named {
  readonly op: typeof Op.Poll;
  readonly fd: number;
  readonly events: number;
}

/**
 * openat2(dirfd, path, { flags, mode, resolve }) -> the new fd: `resolve` holds RESOLVE_* bits
 * (RESOLVE_BENEATH: the path may not leave `dirfd`, EXDEV otherwise). io_uring only; the other
 * backends answer EOPNOTSUPP.
 */
export interface OpenAt2 extends Named {
  readonly op: typeof Op.Openat2;
  readonly dirfd: number;
  readonly path: PathArg;
  readonly flags: number;
  readonly mode: number;
  readonly resolve: number;
}

/** openat2's RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS (linux/openat2.h). */
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_NO_MAGICLINKS = 0x02;

export type Meta = OpenAt | Close | Statx | TwoPaths | UnlinkAt | MkdirAt | SymlinkAt | Fallocate | Ftruncate | Splice | Poll | OpenAt2;

export function openAt(path: PathArg, flags: number, mode: number, errorPath: string): OpenAt {
  return { op: Op.Open, dirfd: AT_FDCWD, path, flags, mode, syscall: 'open', errorPath, errorDest: undefined };
}

export function close(fd: number): Close {
  return { op: Op.Close, fd, syscall: 'close', errorPath: undefined, errorDest: undefined };
}

const EMPTY_PATH = '';

/** stat(2) of a path, lstat(2) with `nofollow`, or fstat(2) of `fd` (path undefined). */
export function statx(
  target: { fd: number; path?: undefined; errorPath?: undefined } | { fd?: undefined; path: PathArg; errorPath: string },
  nofollow: boolean,
  mask: number,
  buffer: Buffer,
  bigint: boolean,
): Statx {
  if (target.path === undefined) {
    const flags = AT_EMPTY_PATH;
    return { op: Op.Stat, dirfd: target.fd, path: EMPTY_PATH, flags, mask, statx: buffer, bigint, stats: undefined, syscall: 'fstat', errorPath: undefined, errorDest: undefined };
  }
  const flags = nofollow ? AT_SYMLINK_NOFOLLOW : 0;
  const syscall = nofollow ? 'lstat' : 'stat';
  return { op: Op.Stat, dirfd: AT_FDCWD, path: target.path, flags, mask, statx: buffer, bigint, stats: undefined, syscall, errorPath: target.errorPath, errorDest: undefined };
}

export function twoPaths(op: TwoPaths['op'], oldpath: PathArg, newpath: PathArg, errorPath: string, errorDest: string): TwoPaths {
  const syscall = op === Op.Rename ? 'rename' : 'link';
  return { op, olddirfd: AT_FDCWD, oldpath, newdirfd: AT_FDCWD, newpath, flags: 0, syscall, errorPath, errorDest };
}

/** unlink(2), or rmdir(2) with `directory`. */
export function unlinkAt(path: PathArg, directory: boolean, errorPath: string): UnlinkAt {
  const flags = directory ? AT_REMOVEDIR : 0;
  return { op: Op.Unlink, dirfd: AT_FDCWD, path, flags, syscall: directory ? 'rmdir' : 'unlink', errorPath, errorDest: undefined };
}

export function mkdirAt(path: PathArg, mode: number, errorPath: string): MkdirAt {
  return { op: Op.Mkdir, dirfd: AT_FDCWD, path, mode, syscall: 'mkdir', errorPath, errorDest: undefined };
}

export function symlinkAt(target: PathArg, linkpath: PathArg, errorPath: string, errorDest: string): SymlinkAt {
  return { op: Op.Symlink, target, newdirfd: AT_FDCWD, linkpath, syscall: 'symlink', errorPath, errorDest };
}

export function fallocate(fd: number, mode: number, offset: number, length: number): Fallocate {
  return { op: Op.Fallocate, fd, mode, offset, length, syscall: 'fallocate', errorPath: undefined, errorDest: undefined };
}

export function ftruncate(fd: number, length: number): Ftruncate {
  return { op: Op.Ftruncate, fd, length, syscall: 'ftruncate', errorPath: undefined, errorDest: undefined };
}

export function splice(fdIn: number, offIn: number | null, fdOut: number, length: number, flags: number): Splice {
  return { op: Op.Splice, fdIn, offIn, fdOut, length, flags, syscall: 'splice', errorPath: undefined, errorDest: undefined };
}

export function openAt2(dirfd: number, path: PathArg, flags: number, mode: number, resolve: number, errorPath: string): OpenAt2 {
  return { op: Op.Openat2, dirfd, path, flags, mode, resolve, syscall: 'open', errorPath, errorDest: undefined };
}

export function poll(fd: number, events: number): Poll {
  return { op: Op.Poll, fd, events, syscall: 'poll', errorPath: undefined, errorDest: undefined };
}

/**
 * Queue `meta` on a native engine. The boundary takes one argument list for every operation,
 * (op, dirfd, path, dirfd2, path2, flags, mode, offset, length, statx), which native/args.c reads
 * back under each system call's names; this is its only writer.
 */
export function prepMeta(engine: NativeEngine, m: Meta, slot: number): number {
  switch (m.op) {
    case Op.Open:
      return engine.prepMeta(m.op, m.dirfd, m.path, AT_FDCWD, null, m.flags, m.mode, 0, 0, null, slot);
    case Op.Close:
      return engine.prepMeta(m.op, m.fd, null, AT_FDCWD, null, 0, 0, 0, 0, null, slot);
    case Op.Stat:
      return engine.prepMeta(m.op, m.dirfd, m.path, AT_FDCWD, null, m.flags, m.mask, 0, 0, m.statx, slot);
    case Op.Rename:
    case Op.Link:
      return engine.prepMeta(m.op, m.olddirfd, m.oldpath, m.newdirfd, m.newpath, m.flags, 0, 0, 0, null, slot);
    case Op.Unlink:
      return engine.prepMeta(m.op, m.dirfd, m.path, AT_FDCWD, null, m.flags, 0, 0, 0, null, slot);
    case Op.Mkdir:
      return engine.prepMeta(m.op, m.dirfd, m.path, AT_FDCWD, null, 0, m.mode, 0, 0, null, slot);
    case Op.Symlink:
      return engine.prepMeta(m.op, AT_FDCWD, m.target, m.newdirfd, m.linkpath, 0, 0, 0, 0, null, slot);
    case Op.Fallocate:
      return engine.prepMeta(m.op, m.fd, null, AT_FDCWD, null, m.mode, 0, m.offset, m.length, null, slot);
    case Op.Ftruncate:
      return engine.prepMeta(m.op, m.fd, null, AT_FDCWD, null, 0, 0, 0, m.length, null, slot);
    case Op.Splice:
      // `mode` says whether there is an input offset (the list has no room for -1).
      return engine.prepMeta(m.op, m.fdIn, null, m.fdOut, null, m.flags, m.offIn === null ? 0 : 1, m.offIn ?? 0, m.length, null, slot);
    case Op.Poll:
      return engine.prepMeta(m.op, m.fd, null, AT_FDCWD, null, 0, m.events, 0, 0, null, slot);
    case Op.Openat2:
      return engine.prepMeta(m.op, m.dirfd, m.path, AT_FDCWD, null, m.flags, m.mode, 0, m.resolve, null, slot);
  }
}
