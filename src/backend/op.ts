/**
 * Operation codes, shared with the native engines (native/engine.h; test/native.test.ts checks
 * that the two agree), and the system call node:fs names in errors for each.
 */
export const Op = {
  Read: 0,
  Write: 1,
  Readv: 2,
  Writev: 3,
  Fsync: 4,
  Fdatasync: 5,
  Open: 6,
  Close: 7,
  Stat: 8,
  Rename: 9,
  Unlink: 10,
  Mkdir: 11,
  Symlink: 12,
  Link: 13,
  Fallocate: 14,
  Ftruncate: 15,
  Splice: 16,
  Poll: 17,
  Openat2: 18,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/**
 * The system call named in errors, per operation, as node:fs names them: 'read' and 'write' for
 * its vectored calls too (a metadata operation names its own: see metadata.ts).
 */
export const syscallOf: Readonly<Record<Op, string>> = [
  'read',
  'write',
  'read',
  'write',
  'fsync',
  'fdatasync',
  'open',
  'close',
  'stat',
  'rename',
  'unlink',
  'mkdir',
  'symlink',
  'link',
  'fallocate',
  'ftruncate',
  'splice',
  'poll',
  'open',
];
