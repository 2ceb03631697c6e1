/**
 * struct statx (as io_uring's STATX writes it) to the Stats and BigIntStats objects node:fs gives,
 * field for field and computed the way Node and libuv compute them, so that a result from the
 * ring and one from node:fs compare equal.
 */
import fs, { type BigIntStats, type Stats } from 'node:fs';

/** Bytes io_uring's STATX writes (native/uapi_check.c asserts the layout). */
export const STATX_SIZE = 256;
/** STATX_BASIC_STATS | STATX_BTIME: what libuv asks for. */
export const STATX_MASK = 0x7ff | 0x800;

let bigIntStatsPrototype: object | undefined;

/** glibc's makedev(), as libuv applies it to statx's major/minor pairs. */
function makedev(major: number, minor: number): bigint {
  const maj = BigInt(major >>> 0);
  const min = BigInt(minor >>> 0);
  return ((maj & 0xfffff000n) << 32n) | ((maj & 0xfffn) << 8n) | ((min & 0xffffff00n) << 12n) | (min & 0xffn);
}

function timestamp(view: DataView, at: number): [bigint, number] {
  return [view.getBigInt64(at, true), view.getUint32(at + 8, true)];
}

const TIMES = [
  ['atime', 64],
  ['mtime', 112],
  ['ctime', 96],
  ['birthtime', 80],
] as const;

export function statsFromStatx(buffer: Buffer, bigint: false): Stats;
export function statsFromStatx(buffer: Buffer, bigint: true): BigIntStats;
export function statsFromStatx(buffer: Buffer, bigint: boolean): Stats | BigIntStats;
export function statsFromStatx(buffer: Buffer, bigint: boolean): Stats | BigIntStats {
  const view = new DataView(buffer.buffer, buffer.byteOffset, STATX_SIZE);
  const integers: [string, bigint][] = [
    ['dev', makedev(view.getUint32(136, true), view.getUint32(140, true))],
    ['mode', BigInt(view.getUint16(28, true))],
    ['nlink', BigInt(view.getUint32(16, true))],
    ['uid', BigInt(view.getUint32(20, true))],
    ['gid', BigInt(view.getUint32(24, true))],
    ['rdev', makedev(view.getUint32(128, true), view.getUint32(132, true))],
    ['blksize', BigInt(view.getUint32(4, true))],
    ['ino', view.getBigUint64(32, true)],
    ['size', view.getBigUint64(40, true)],
    ['blocks', view.getBigUint64(48, true)],
  ];
  const times = TIMES.map(([name, at]) => [name, ...timestamp(view, at)] as const);
  if (!bigint) {
    const stats = Object.create(fs.Stats.prototype) as Record<string, unknown>;
    for (const [name, value] of integers) stats[name] = Number(value);
    for (const [name, sec, nsec] of times) stats[`${name}Ms`] = Number(sec) * 1e3 + nsec / 1e6;
    for (const [name] of times) stats[name] = new Date(Math.round(stats[`${name}Ms`] as number));
    return stats as unknown as Stats;
  }
  bigIntStatsPrototype ??= Object.getPrototypeOf(fs.statSync('/', { bigint: true })) as object;
  const stats = Object.create(bigIntStatsPrototype) as Record<string, unknown>;
  for (const [name, value] of integers) stats[name] = value;
  for (const [name, sec, nsec] of times) stats[`${name}Ms`] = sec * 1000n + BigInt(nsec) / 1_000_000n;
  for (const [name, sec, nsec] of times) stats[`${name}Ns`] = sec * 1_000_000_000n + BigInt(nsec);
  for (const [name] of times) stats[name] = new Date(Number(stats[`${name}Ms`]));
  return stats as unknown as BigIntStats;
}
