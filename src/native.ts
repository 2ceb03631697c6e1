/**
 * Finds and loads the compiled addon: an explicit path (AIOFS_NATIVE), then a prebuilt binary
 * for this platform, then the node-gyp build. Loading is lazy, so that the `threads` backend
 * works even where no addon could be built.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { nativeUnavailable } from './errors.js';

/** A kernel engine as the addon exposes it (native/addon.c documents each method). */
export interface NativeEngine {
  readonly capacity: number;
  prepRw(op: number, fd: number, buffer: ArrayBufferView, offset: number | bigint, user: number): number;
  prepRwv(op: number, fd: number, buffers: ArrayBufferView[], offset: number | bigint, user: number): number;
  prepFsync(fd: number, datasync: boolean, user: number): number;
  prepCancel(target: number, user: number): number;
  registerBuffers(buffers: ArrayBufferView[]): number;
  prepMeta(
    op: number,
    dirfd: number,
    path: Buffer | null,
    dirfd2: number,
    path2: Buffer | null,
    flags: number,
    mode: number,
    offset: number,
    length: number,
    statx: Buffer | null,
    user: number,
  ): number;
  submit(): number;
  pending(): number;
  reap(): number;
  close(): number;
  inFlight(): number;
}

export interface NativeAddon {
  createUring?(
    entries: number,
    sqpoll: boolean,
    sqThreadIdle: number,
    refuseOps: number,
    completions: Int32Array,
    handler: (count: number) => void,
  ): NativeEngine | number;
  createAio?(capacity: number, completions: Int32Array, handler: (count: number) => void): NativeEngine | number;
  /** The fd was closed other than by a ring's close: the environment's teardown must not close it. */
  forgetFd?(fd: number): void;
  misalignment?(view: ArrayBufferView, alignment: number): number;
  setDirect?(fd: number, enable: boolean): number;
  directInfo?(fd: number): NativeDirectInfo | number;
}

/** What an open fd says about O_DIRECT (native/direct.h); alignments are 0 where the kernel does not say. */
export interface NativeDirectInfo {
  direct: boolean;
  memAlign: number;
  offsetAlign: number;
  devMajor: number;
  devMinor: number;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
let loaded: NativeAddon | undefined;
let failure: Error | undefined;

function candidates(): string[] {
  const list: string[] = [];
  if (process.env.AIOFS_NATIVE) list.push(process.env.AIOFS_NATIVE);
  list.push(
    `${root}prebuilds/${process.platform}-${process.arch}/aiofs.node`,
    `${root}build/Release/aiofs.node`,
    `${root}build/Debug/aiofs.node`,
  );
  return list;
}

/**
 * Tell the addon, if it is loaded, that `fd` was closed other than by a ring's close: the fds the
 * ring opened are closed when the environment goes away, and this one must not be.
 */
export function forgetFd(fd: number): void {
  loaded?.forgetFd?.(fd);
}

/** The addon, or throws an error naming every place looked at and why each failed. */
export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  if (failure) throw failure;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of candidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      loaded = require(path) as NativeAddon;
      return loaded;
    } catch (error) {
      tried.push(`${path} (${(error as Error).message})`);
    }
  }
  failure = nativeUnavailable(
    `looked for ${tried.join(', ')}. Build it with \`npm install\` or \`npx node-gyp rebuild\` ` +
      '(needs python3, make and a C compiler).',
  );
  throw failure;
}
