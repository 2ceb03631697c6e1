/**
 * The directory a handler serves, as it is now. A root named by a path can be replaced while the
 * server runs (`mv root root.old; mkdir root`) or re-pointed (an atomic deploy swaps a symbolic
 * link `current -> releases/N`); nginx and serve-static follow both from the next request on, and
 * so does this: every request asks the path's identity with one stat through the context, and a
 * change resolves the real path again and opens the new directory for openat2.
 */
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { IoContext } from '../context.js';
import { invalidArgType } from '../errors.js';

/** One directory a root path named, for the requests that began while it did. */
export interface RootDirectory {
  /** Its real path: the prefix every served file's real path must have. */
  readonly real: string;
  /** An fd of it for openat2 (RESOLVE_BENEATH), once asked for; closed once the path names another and no request uses it. */
  fd: number | undefined;
  dev: number;
  ino: number;
  /** Requests using it (ServedRoot.enter/leave). */
  users: number;
  /** The path names another directory now: close the fd once no request uses it. */
  retired: boolean;
}

export class ServedRoot {
  /** The root as configured, made absolute, not resolved: what is asked at every request. */
  readonly path: string;
  #current: RootDirectory | undefined;

  constructor(root: unknown, name: string) {
    if (typeof root !== 'string' || root === '') throw invalidArgType(name, ['string'], root);
    this.path = path.resolve(root);
  }

  /**
   * The directory the root names now, counted as in use until leave(); undefined when it names
   * none (not there, or not a directory: every request is a miss until it is).
   */
  async enter(context: IoContext): Promise<RootDirectory | undefined> {
    let stats: fs.Stats;
    try {
      stats = await context.stat(this.path);
    } catch {
      return undefined;
    }
    if (!stats.isDirectory()) return undefined;
    let current = this.#current;
    if (current === undefined || current.dev !== stats.dev || current.ino !== stats.ino) {
      let real: string;
      try {
        real = await fsp.realpath(this.path);
      } catch {
        return undefined; // replaced again meanwhile: this request is a miss
      }
      // Another request may have seen the change first.
      if (this.#current === current) {
        if (current) this.#retire(current);
        this.#current = { real, fd: undefined, dev: stats.dev, ino: stats.ino, users: 0, retired: false };
      }
      current = this.#current!;
    }
    current.users++;
    return current;
  }

  /** The request that entered `directory` is done with it. */
  leave(directory: RootDirectory): void {
    if (--directory.users === 0 && directory.retired) closeDirectory(directory);
  }

  /** The directory's fd for openat2, opened on first use (once per directory, on the loop: a directory's open has no data to wait for); undefined if it cannot be opened. */
  fdOf(directory: RootDirectory): number | undefined {
    if (directory.fd === undefined && !directory.retired) {
      try {
        directory.fd = fs.openSync(directory.real, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      } catch {
        return undefined;
      }
    }
    return directory.fd;
  }

  #retire(directory: RootDirectory): void {
    directory.retired = true;
    if (directory.users === 0) closeDirectory(directory);
  }
}

function closeDirectory(directory: RootDirectory): void {
  if (directory.fd === undefined) return;
  fs.closeSync(directory.fd);
  directory.fd = undefined;
}
