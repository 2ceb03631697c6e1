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

/**
 * What the running Node's Stats hold as their own properties, learned once from a real one: Node
 * 20 sets the Date fields on each object, later versions compute them lazily on the prototype
 * from the *Ms fields, and Node 26 also keeps the nanoseconds below the millisecond under symbols
 * (for the *Instant getters). Our objects hold exactly what Node's would, so they compare equal.
 */
interface StatsShape {
  ownDates: boolean;
  /** Per time field, the symbol holding its tv_nsec on number Stats, where Node has one. */
  partialNs: Partial<Record<(typeof TIMES)[number][0], symbol>>;
}

function learnShape(bigint: boolean): StatsShape {
  try {
    const sample = fs.statSync('/', { bigint });
    const partialNs: StatsShape['partialNs'] = {};
    for (const symbol of Object.getOwnPropertySymbols(sample)) {
      const name = /partial(\w+)Ns$/i.exec(symbol.description ?? '')?.[1].toLowerCase();
      if (name === 'atime' || name === 'mtime' || name === 'ctime' || name === 'birthtime') partialNs[name] = symbol;
    }
    return { ownDates: Object.prototype.hasOwnProperty.call(sample, 'atime'), partialNs };
  } catch {
    return { ownDates: true, partialNs: {} };
  }
}

let numberShape: StatsShape | undefined;
let bigIntShape: StatsShape | undefined;
let bigIntStatsPrototype: object | undefined;

/** glibc's makedev(), as libuv applies it to statx's major/minor pairs. */
function makedev(major: number, minor: number): bigint {
  const maj = BigInt(major >>> 0);
  const min = BigInt(minor >>> 0);
  return ((maj & 0xfffff000n) << 32n) | ((maj & 0xfffn) << 8n) | ((min & 0xffffff00n) << 12n) | (min & 0xffn);
}

const TIMES = [
  ['atime', 64],
  ['mtime', 112],
  ['ctime', 96],
  ['birthtime', 80],
] as const;

/** Memory for one struct statx, and the view that reads it. */
export interface StatxBuffer {
  readonly bytes: Buffer;
  readonly view: DataView;
}

/**
 * statx buffers given back once read, for the next stat: a Buffer and a DataView made per call
 * are a measurable part of a stat() 64 at a time (docs/benchmarks.md, "Measurements the code relies on"). Only a buffer whose completion was
 * reaped comes back (releaseStatx), never one the kernel may still write: an operation that
 * failed or was abandoned leaves its buffer to the garbage collector.
 */
const spareStatx: StatxBuffer[] = [];
const MAX_SPARE_STATX = 1024;

export function takeStatx(): StatxBuffer {
  const spare = spareStatx.pop();
  if (spare) return spare;
  const bytes = Buffer.allocUnsafe(STATX_SIZE);
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, STATX_SIZE) };
}

/** Give back a statx buffer that nothing will write or read again. */
export function releaseStatx(statx: StatxBuffer): void {
  if (spareStatx.length < MAX_SPARE_STATX) spareStatx.push(statx);
}

export function statsFromStatx(statx: StatxBuffer, bigint: false): Stats;
export function statsFromStatx(statx: StatxBuffer, bigint: true): BigIntStats;
export function statsFromStatx(statx: StatxBuffer, bigint: boolean): Stats | BigIntStats;
export function statsFromStatx(statx: StatxBuffer, bigint: boolean): Stats | BigIntStats {
  return bigint ? bigIntStats(statx.view) : numberStats(statx.view);
}

/** A u64 as a Number (exact up to 2^53, like Node's Stats). */
const u64 = (view: DataView, at: number) => view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);

/** makedev() as a Number: exact for every device number Linux hands out in practice (majors < 4096). */
function devNumber(major: number, minor: number): number {
  if (major < 0x1000 && minor < 0x100000) return ((minor & 0xfff00) << 12) + ((major & 0xfff) << 8) + (minor & 0xff);
  return Number(makedev(major, minor));
}

/** statx_timestamp at `at` in milliseconds, as Node computes *Ms (fractional below the millisecond). */
const msAt = (view: DataView, at: number): number =>
  (view.getUint32(at + 4, true) | 0) * 2 ** 32 * 1e3 + view.getUint32(at, true) * 1e3 + view.getUint32(at + 8, true) / 1e6;

/**
 * The hot path (stat without bigint): plain Number arithmetic, no BigInt, and every property
 * stored under a literal name in one fixed order, so that all our Stats share one hidden class
 * (computed names made each store a megamorphic lookup: a third of stat()'s JavaScript time).
 */
function numberStats(view: DataView): Stats {
  const stats = Object.create(fs.Stats.prototype) as Stats & Record<symbol, unknown>;
  stats.dev = devNumber(view.getUint32(136, true), view.getUint32(140, true));
  stats.mode = view.getUint16(28, true);
  stats.nlink = view.getUint32(16, true);
  stats.uid = view.getUint32(20, true);
  stats.gid = view.getUint32(24, true);
  stats.rdev = devNumber(view.getUint32(128, true), view.getUint32(132, true));
  stats.blksize = view.getUint32(4, true);
  stats.ino = u64(view, 32);
  stats.size = u64(view, 40);
  stats.blocks = u64(view, 48);
  stats.atimeMs = msAt(view, 64);
  stats.mtimeMs = msAt(view, 112);
  stats.ctimeMs = msAt(view, 96);
  stats.birthtimeMs = msAt(view, 80);
  const shape = (numberShape ??= learnShape(false));
  if (shape.ownDates) {
    stats.atime = new Date(Math.round(stats.atimeMs));
    stats.mtime = new Date(Math.round(stats.mtimeMs));
    stats.ctime = new Date(Math.round(stats.ctimeMs));
    stats.birthtime = new Date(Math.round(stats.birthtimeMs));
  }
  const ns = shape.partialNs;
  if (ns.atime) stats[ns.atime] = view.getUint32(64 + 8, true);
  if (ns.mtime) stats[ns.mtime] = view.getUint32(112 + 8, true);
  if (ns.ctime) stats[ns.ctime] = view.getUint32(96 + 8, true);
  if (ns.birthtime) stats[ns.birthtime] = view.getUint32(80 + 8, true);
  return stats;
}

function bigIntStats(view: DataView): BigIntStats {
  bigIntStatsPrototype ??= Object.getPrototypeOf(fs.statSync('/', { bigint: true })) as object;
  const stats = Object.create(bigIntStatsPrototype) as Record<string, unknown>;
  stats.dev = makedev(view.getUint32(136, true), view.getUint32(140, true));
  stats.mode = BigInt(view.getUint16(28, true));
  stats.nlink = BigInt(view.getUint32(16, true));
  stats.uid = BigInt(view.getUint32(20, true));
  stats.gid = BigInt(view.getUint32(24, true));
  stats.rdev = makedev(view.getUint32(128, true), view.getUint32(132, true));
  stats.blksize = BigInt(view.getUint32(4, true));
  stats.ino = view.getBigUint64(32, true);
  stats.size = view.getBigUint64(40, true);
  stats.blocks = view.getBigUint64(48, true);
  const times = TIMES.map(([name, at]) => [name, view.getBigInt64(at, true), view.getUint32(at + 8, true)] as const);
  for (const [name, sec, nsec] of times) stats[`${name}Ms`] = sec * 1000n + BigInt(nsec) / 1_000_000n;
  for (const [name, sec, nsec] of times) stats[`${name}Ns`] = sec * 1_000_000_000n + BigInt(nsec);
  bigIntShape ??= learnShape(true);
  if (bigIntShape.ownDates) for (const [name] of times) stats[name] = new Date(Number(stats[`${name}Ms`]));
  return stats as unknown as BigIntStats;
}
