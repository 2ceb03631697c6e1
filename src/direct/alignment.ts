/**
 * O_DIRECT on an open fd: switching it on, discovering the alignment it needs, and checking a
 * transfer against that alignment so that a mistake is a RangeError naming the value, not a bare
 * EINVAL from the kernel.
 *
 * The alignment comes from statx(STATX_DIOALIGN) (Linux 6.1+, filesystems that report it), else
 * from the logical block size of the device holding the file, else 4096: never a guess of 512.
 */
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { misaligned } from '../errors.js';
import { loadNative, type NativeAddon, type NativeDirectInfo } from '../native.js';
import { byteLengthOf } from '../views.js';

/** The alignment assumed where nothing better is known: a page, never a guess of 512. */
export const DEFAULT_ALIGNMENT = 4096;

/** What O_DIRECT needs of a file's transfers. */
export interface Alignment {
  /** Buffer addresses must be multiples of this many bytes. */
  readonly memory: number;
  /** File offsets and transfer lengths must be multiples of this many bytes. */
  readonly offset: number;
}

const { ENOTSUP } = constants.errno;

function addon(): NativeAddon | undefined {
  try {
    return loadNative();
  } catch {
    return undefined;
  }
}

function info(fd: number): NativeDirectInfo | undefined {
  const result = addon()?.directInfo?.(fd);
  return typeof result === 'object' ? result : undefined;
}

/**
 * Turn O_DIRECT on for `fd`: 0, or a negative errno: the kernel's (-EINVAL: the filesystem
 * refuses it) or -ENOTSUP where the platform has no O_DIRECT.
 */
export function enableDirect(fd: number): number {
  const setDirect = addon()?.setDirect;
  return setDirect ? setDirect(fd, true) : -ENOTSUP;
}

/** Logical block sizes by device ("major:minor"), read once from sysfs. */
const deviceBlockSizes = new Map<string, Promise<number | undefined>>();

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt(await readFile(path, 'latin1'), 10);
    return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The logical block size of a block device; a partition's is its disk's. */
function logicalBlockSize(major: number, minor: number): Promise<number | undefined> {
  const key = `${major}:${minor}`;
  let size = deviceBlockSizes.get(key);
  if (!size) {
    const dir = `/sys/dev/block/${key}`;
    size = readNumber(`${dir}/queue/logical_block_size`).then((n) => n ?? readNumber(`${dir}/../queue/logical_block_size`));
    deviceBlockSizes.set(key, size);
  }
  return size;
}

/** The alignment direct transfers on `fd` need (see the module comment for where it comes from). */
export async function discoverAlignment(fd: number): Promise<Alignment> {
  const found = info(fd);
  if (found && found.offsetAlign > 0 && found.memAlign > 0) {
    return { memory: found.memAlign, offset: found.offsetAlign };
  }
  // Major 0 is an anonymous device (tmpfs, overlayfs...): no block device to ask.
  const block = found && found.devMajor !== 0 ? await logicalBlockSize(found.devMajor, found.devMinor) : undefined;
  const size = block ?? DEFAULT_ALIGNMENT;
  return { memory: size, offset: size };
}

/** How far `view`'s address lies past a multiple of `alignment`; undefined where the addon cannot say. */
export function addressOf(view: ArrayBufferView, alignment: number): number | undefined {
  const misalignment = addon()?.misalignment?.(view, alignment);
  return misalignment === undefined || misalignment < 0 ? undefined : misalignment;
}

/** Whether a direct transfer of `view` at `position` respects `alignment`: for deciding, no error built. */
export function isAligned(alignment: Alignment, view: ArrayBufferView, position: number): boolean {
  return position % alignment.offset === 0 && byteLengthOf(view) % alignment.offset === 0 && (addressOf(view, alignment.memory) ?? 0) === 0;
}

/**
 * The RangeError a direct transfer of `views` at `position` deserves, or undefined if it is
 * aligned. `name` is what the caller called the buffer argument.
 */
export function misalignment(alignment: Alignment, views: readonly ArrayBufferView[], position: number | bigint, name = 'buffer'): RangeError | undefined {
  const at = Number(position);
  if (at % alignment.offset !== 0) return misaligned('value', 'position', alignment.offset, 'offset', at);
  for (const view of views) {
    const off = addressOf(view, alignment.memory);
    if (off !== undefined && off !== 0) return misaligned('address', name, alignment.memory, 'memory', off);
    const length = byteLengthOf(view);
    if (length % alignment.offset !== 0) return misaligned('length', name, alignment.offset, 'offset', length);
  }
  return undefined;
}

/**
 * For an EINVAL from a read or write on `fd`: the RangeError that explains it if `fd` is in
 * O_DIRECT mode and the transfer breaks its alignment, else undefined (the EINVAL stands).
 */
export async function explainInvalid(fd: number, views: readonly ArrayBufferView[], position: number | bigint): Promise<RangeError | undefined> {
  if (!info(fd)?.direct) return undefined;
  return misalignment(await discoverAlignment(fd), views, position);
}
