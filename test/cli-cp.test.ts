/**
 * `aiofs cp` against GNU cp on the same inputs: every kind of destination (none, an existing file,
 * a read-only one, a symbolic link to a file, to nothing and to the source, a hard link to the
 * source, the source itself, a directory, a character device that takes anything and one that
 * is always full), with and without a file size limit (ulimit -f). Each case runs once with
 * each command, on twin directories, and must end alike: the exit status, and what is left at
 * the destination (its type, mode, inode and bytes). The one difference allowed: a destination
 * aiofs cp made itself and could not finish is removed, where GNU cp leaves the partial file.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { pattern, scratchPath } from './support/files.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const timeout = 60_000;

/** Why GNU cp cannot be the reference here, or false. */
function noGnuCp(): string | false {
  if (process.platform !== 'linux') return 'GNU cp is the reference, and this is not Linux';
  const version = spawnSync('cp', ['--version'], { encoding: 'utf8' });
  return version.status === 0 && /GNU coreutils/.test(version.stdout) ? false : 'GNU cp (coreutils) is not installed';
}

/** Whether device nodes can be made here (mknod needs CAP_MKNOD), or why not. */
function noMknod(): string | false {
  const probe = scratchPath('mknod-probe');
  const made = spawnSync('mknod', [probe, 'c', '1', '3'], { encoding: 'utf8' });
  if (made.status !== 0) return `mknod refused: ${made.stderr.trim() || made.error?.message}`;
  fs.unlinkSync(probe);
  return false;
}

const gnu = noGnuCp();
const devices = gnu || noMknod();

/** The source: 1 MiB, so that a 64 KiB file size limit stops the copy in the middle. */
const SOURCE = pattern(1 << 20);

interface Case {
  name: string;
  /** Make the destination's state in `dir` (the source is `dir/src`); returns the DST argument. */
  setup(dir: string): string;
  limit?: number;
}

const cases: Case[] = [
  { name: 'a new file', setup: (dir) => path.join(dir, 'dst') },
  {
    name: 'an existing file with other bytes and mode 600',
    setup: (dir) => {
      fs.writeFileSync(path.join(dir, 'dst'), pattern(3 << 20, 9));
      fs.chmodSync(path.join(dir, 'dst'), 0o600);
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a read-only file',
    setup: (dir) => {
      fs.writeFileSync(path.join(dir, 'dst'), 'keep me');
      fs.chmodSync(path.join(dir, 'dst'), 0o444);
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a symbolic link to a file',
    setup: (dir) => {
      fs.writeFileSync(path.join(dir, 'target'), 'old');
      fs.symlinkSync('target', path.join(dir, 'dst'));
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a symbolic link to nothing',
    setup: (dir) => {
      fs.symlinkSync('nothing', path.join(dir, 'dst'));
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a symbolic link to the source',
    setup: (dir) => {
      fs.symlinkSync('src', path.join(dir, 'dst'));
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a hard link to the source',
    setup: (dir) => {
      fs.linkSync(path.join(dir, 'src'), path.join(dir, 'dst'));
      return path.join(dir, 'dst');
    },
  },
  { name: 'the source itself', setup: (dir) => path.join(dir, 'src') },
  {
    name: 'a directory (the copy goes into it)',
    setup: (dir) => {
      fs.mkdirSync(path.join(dir, 'into'));
      return path.join(dir, 'into');
    },
  },
  { name: 'a file in a directory that does not exist', setup: (dir) => path.join(dir, 'missing', 'dst') },
];

/** Character devices: one that takes every byte (as /dev/null), one that is always full (as /dev/full). */
const deviceCases: Case[] = [
  {
    name: 'a device that takes every byte',
    setup: (dir) => {
      execFileSync('mknod', ['-m', '666', path.join(dir, 'dst'), 'c', '1', '3']);
      return path.join(dir, 'dst');
    },
  },
  {
    name: 'a device that is always full (ENOSPC)',
    setup: (dir) => {
      execFileSync('mknod', ['-m', '640', path.join(dir, 'dst'), 'c', '1', '7']);
      return path.join(dir, 'dst');
    },
  },
];

/** What is at `file`, without following a final link: type, mode, inode, size and a digest of the bytes. */
function stateOf(file: string): unknown {
  let s: fs.Stats;
  try {
    s = fs.lstatSync(file);
  } catch {
    return 'nothing';
  }
  const kind = s.isSymbolicLink() ? 'link' : s.isFile() ? 'file' : s.isCharacterDevice() ? 'char device' : s.isDirectory() ? 'directory' : 'other';
  const content = s.isFile() ? fs.readFileSync(file).toString('base64').length + ':' + fs.readFileSync(file).subarray(0, 64).toString('hex') : s.isSymbolicLink() ? fs.readlinkSync(file) : undefined;
  return { kind, mode: (s.mode & 0o7777).toString(8), ino: s.ino, size: s.isFile() ? s.size : undefined, content };
}

/** Everything under `dir`, by name, as stateOf says; inodes made relative to the state before the copy. */
function treeOf(dir: string, before: Map<string, number>): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d).sort()) {
      const full = path.join(d, entry);
      const name = path.relative(dir, full);
      const state = stateOf(full) as { ino?: number; kind?: string };
      tree[name] = { ...state, ino: before.get(name) === state.ino ? 'the same inode' : before.has(name) ? 'another inode' : 'new' };
      if (state.kind === 'directory') walk(full);
    }
  };
  walk(dir);
  return tree;
}

function inodes(dir: string): Map<string, number> {
  const map = new Map<string, number>();
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d)) {
      const full = path.join(d, entry);
      const s = fs.lstatSync(full);
      map.set(path.relative(dir, full), s.ino);
      if (s.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return map;
}

/** Run `command` (GNU cp or aiofs cp) on a fresh twin of the case: its exit status, and the tree after. */
function outcome(c: Case, command: 'gnu' | 'aiofs'): { status: number | null; tree: Record<string, unknown>; dir: string } {
  const dir = scratchPath(`cp-${command}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'src'), SOURCE);
  fs.chmodSync(path.join(dir, 'src'), 0o640);
  const dst = c.setup(dir);
  const before = inodes(dir);
  const argv = command === 'gnu' ? ['cp', path.join(dir, 'src'), dst] : [process.execPath, cli, 'cp', path.join(dir, 'src'), dst];
  const limit = c.limit === undefined ? '' : `ulimit -f ${c.limit} && `;
  const run = spawnSync('bash', ['-c', `${limit}exec "$@"`, 'cp-case', ...argv], { encoding: 'utf8', timeout });
  return { status: run.status, tree: treeOf(dir, before), dir };
}

/** Both commands on the case; their outcomes must agree (a partial file aiofs made and removed excepted). */
function sameAsGnu(c: Case): void {
  const theirs = outcome(c, 'gnu');
  const ours = outcome(c, 'aiofs');
  assert.equal(ours.status === 0, theirs.status === 0, `${c.name}: exit status ${ours.status} (aiofs) vs ${theirs.status} (GNU cp)`);
  const expected = { ...theirs.tree };
  if (theirs.status !== 0) {
    for (const [name, state] of Object.entries(theirs.tree)) if ((state as { ino?: string }).ino === 'new' && !(name in ours.tree)) delete expected[name];
  }
  assert.deepEqual(ours.tree, expected, c.name);
  // The source is never touched.
  assert.ok(fs.readFileSync(path.join(ours.dir, 'src')).equals(SOURCE), `${c.name}: the source`);
}

for (const c of cases) {
  it(`cp onto ${c.name} ends as GNU cp's does`, { timeout, skip: gnu }, () => sameAsGnu(c));
  it(`cp onto ${c.name}, stopped by a file size limit, ends as GNU cp's does`, { timeout, skip: gnu }, () => sameAsGnu({ ...c, limit: 64 }));
}

for (const c of deviceCases) {
  it(`cp onto ${c.name} ends as GNU cp's does: the device stays, with its mode`, { timeout, skip: devices }, () => sameAsGnu(c));
}
