/**
 * The thread-pool backend: every operation through node:fs, that is libuv's worker threads.
 * It runs wherever Node runs (macOS, Windows, containers that refuse io_uring). A request handed
 * to libuv cannot be taken back, so only requests still waiting in the context's queue can be
 * cancelled; the capacity is kept small (a few per pool thread) so that most waiting happens
 * in that queue, where an abort still works.
 */
import fs from 'node:fs';
import { nodeFs } from '../node-fs.js';
import { constants } from 'node:os';
import { CURRENT_POSITION, IOV_MAX, MAX_RW_COUNT } from '../limits.js';
import { bytesFrom } from '../views.js';
import { type Backend, type CompletionSink, Op, type Request } from './backend.js';
import { AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, type Meta } from './metadata.js';

/** The memory of the first IOV_MAX views, as node:fs may take them (see bytesFrom). */
function memoryOf(views: NodeJS.ArrayBufferView[]): Uint8Array[] {
  return views.slice(0, IOV_MAX).map((view) => bytesFrom(view, 0));
}

/** Whether `fd` was opened with O_APPEND (Linux: /proc/self/fdinfo; elsewhere, not known: false). */
function appends(fd: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & fs.constants.O_APPEND) !== 0;
  } catch {
    return false;
  }
}

export function defaultThreadsCapacity(): number {
  const pool = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
  return 4 * (Number.isInteger(pool) && pool > 0 ? pool : 4);
}

export class ThreadsBackend implements Backend {
  readonly name = 'threads' as const;

  constructor(
    readonly capacity: number,
    private readonly sink: CompletionSink,
  ) {}

  /**
   * Requests with a signal wait here until the end of the current microtask, so that an abort
   * made right after the call (before anything could reach a thread) wins, as it does on the
   * kernel engines, whose submit comes in a microtask too.
   */
  private held: Request[] = [];

  start(request: Request): boolean {
    if (request.signal) {
      if (this.held.push(request) === 1) queueMicrotask(this.releaseHeld);
      return true;
    }
    this.perform(request, (result) => this.sink.complete(request, result));
    return true;
  }

  private readonly releaseHeld = (): void => {
    for (const request of this.held.splice(0)) {
      if (request.abortRequested) this.sink.complete(request, -constants.errno.ECANCELED);
      else this.perform(request, (result) => this.sink.complete(request, result));
    }
  };

  /** Run `request` through node:fs and call `done` with its result, whoever owns the request. */
  perform(request: Request, done: (result: number) => void): void {
    if (request.meta) this.runMeta(request.meta, done);
    else this.run(request, request.offset === CURRENT_POSITION ? null : request.offset, done);
  }

  /** A metadata operation through the node:fs call that does the same. */
  private runMeta(m: Meta, finish: (result: number) => void): void {
    const done = (error: NodeJS.ErrnoException | null, result?: number) =>
      finish(error ? (error.errno ?? -constants.errno.EIO) : (result ?? 0));
    try {
      switch (m.op) {
        case Op.Open:
          nodeFs.open(m.path, m.flags, m.mode, done);
          break;
        case Op.Close:
          nodeFs.close(m.fd, done);
          break;
        case Op.Stat: {
          const saveStats = (error: NodeJS.ErrnoException | null, stats?: unknown) => {
            m.stats = stats;
            done(error);
          };
          if (m.flags & AT_EMPTY_PATH) nodeFs.fstat(m.dirfd, { bigint: m.bigint }, saveStats);
          else if (m.flags & AT_SYMLINK_NOFOLLOW) nodeFs.lstat(m.path, { bigint: m.bigint }, saveStats);
          else nodeFs.stat(m.path, { bigint: m.bigint }, saveStats);
          break;
        }
        case Op.Rename:
          nodeFs.rename(m.oldpath, m.newpath, done);
          break;
        case Op.Link:
          nodeFs.link(m.oldpath, m.newpath, done);
          break;
        case Op.Unlink:
          if (m.flags & AT_REMOVEDIR) nodeFs.rmdir(m.path, done);
          else nodeFs.unlink(m.path, done);
          break;
        case Op.Mkdir:
          nodeFs.mkdir(m.path, { mode: m.mode }, (error) => done(error));
          break;
        case Op.Symlink:
          nodeFs.symlink(m.target, m.linkpath, done);
          break;
        case Op.Ftruncate:
          nodeFs.ftruncate(m.fd, m.length, done);
          break;
        case Op.Fallocate: {
          // node:fs has no fallocate: mode 0 is done as the size change it makes (without
          // reserving blocks); other modes cannot be done here.
          if (m.mode !== 0) {
            queueMicrotask(() => finish(-constants.errno.EOPNOTSUPP));
            break;
          }
          const end = m.offset + m.length;
          nodeFs.fstat(m.fd, (error, stats) => {
            if (error || stats.size >= end) return done(error);
            nodeFs.ftruncate(m.fd, end, done);
          });
          break;
        }
        case Op.Splice:
        case Op.Poll:
        case Op.Openat2:
          // node:fs has none of these: the caller does without (memory, its own checks).
          queueMicrotask(() => finish(-constants.errno.EOPNOTSUPP));
          break;
      }
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).errno ?? -constants.errno.EINVAL;
      queueMicrotask(() => finish(errno));
    }
  }

  /**
   * `position` null means the fd's own position: asked for (CURRENT_POSITION), or for files that
   * cannot seek (pipes, FIFOs, terminals), where pread answers ESPIPE. io_uring ignores the offset
   * on such files, and so does this backend, so that every backend reads a FIFO the same way.
   */
  private run(request: Request, position: number | bigint | null, finish: (result: number) => void): void {
    const done = (error: NodeJS.ErrnoException | null, result?: number) => {
      if (error?.code === 'ESPIPE' && position !== null) return this.run(request, null, finish);
      finish(error ? (error.errno ?? -constants.errno.EIO) : (result ?? 0));
    };
    const { fd } = request;
    let offset = position;
    if (typeof offset === 'bigint' && request.op !== Op.Read) {
      // Offsets beyond 2^53 arrive as bigint; node:fs's write, readv and writev would silently
      // treat one as "the current position", so refuse instead of writing in the wrong place:
      // unless the fd appends, where the kernel ignores the offset and every write lands at
      // the end (a transfer continuing past 2^53 on one, as libuv goes on for Node).
      if (!appends(fd)) {
        queueMicrotask(() => finish(-constants.errno.EOVERFLOW));
        return;
      }
      offset = null;
    }
    if (Array.isArray(request.data) && request.data.length === 0) {
      // The kernel answers an empty vector with 0; libuv would say EINVAL.
      queueMicrotask(() => finish(0));
      return;
    }
    try {
      switch (request.op) {
        case Op.Read:
        case Op.Write: {
          // node:fs checks a view through its own getters: it gets the memory alone (views.ts).
          const bytes = bytesFrom(request.data as NodeJS.ArrayBufferView, 0);
          const length = Math.min(bytes.length, MAX_RW_COUNT);
          if (request.op === Op.Read) nodeFs.read(fd, bytes, 0, length, offset, done);
          else nodeFs.write(fd, bytes, 0, length, offset as number, done);
          break;
        }
        case Op.Readv:
          nodeFs.readv(fd, memoryOf(request.data as NodeJS.ArrayBufferView[]), offset as number, done);
          break;
        case Op.Writev:
          nodeFs.writev(fd, memoryOf(request.data as NodeJS.ArrayBufferView[]), offset as number, done);
          break;
        case Op.Fsync:
          nodeFs.fsync(fd, (error) => done(error, 0));
          break;
        case Op.Fdatasync:
          nodeFs.fdatasync(fd, (error) => done(error, 0));
          break;
      }
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).errno ?? -constants.errno.EINVAL;
      queueMicrotask(() => finish(errno));
    }
  }

  cancel(): void {
    // A held request sees its abortRequested when released; libuv cannot take back work it has
    // started, so that completes with its real result.
  }

  /** node:fs has no registered buffers. */
  registerBuffers(): number {
    return -constants.errno.EOPNOTSUPP;
  }

  close(): void {}
}
