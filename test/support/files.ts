/** Scratch files for tests: a private directory on the real filesystem, removed at exit. */
import { execFileSync } from 'node:child_process';
import { AIOFile, type IoContext } from '../../src/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let dir: string | undefined;

export function scratchDir(): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(process.env.AIOFS_TEST_DIR ?? os.tmpdir(), 'aiofs-test-'));
    const created = dir;
    process.on('exit', () => fs.rmSync(created, { recursive: true, force: true }));
  }
  return dir;
}

let counter = 0;

export function scratchPath(name = 'file'): string {
  return path.join(scratchDir(), `${process.pid}-${counter++}-${name}`);
}

/** Bytes whose value depends on their position, so any misplaced byte shows. */
export function pattern(length: number, seed = 0): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

/** A scratch file holding `content`; returns its path. */
export function fileWith(content: string | Buffer): string {
  const file = scratchPath();
  fs.writeFileSync(file, content);
  return file;
}

/** A file holding `content`, opened with `flags`; returns its fd and path. */
export function openWith(content: Buffer, flags = 'r+'): { fd: number; file: string } {
  const file = fileWith(content);
  return { fd: fs.openSync(file, flags), file };
}

/**
 * A FIFO opened read-write: a read from it stays in flight until something is written, which
 * gives tests an operation that is really pending in the kernel.
 */
export function openFifo(): number {
  const file = scratchPath('fifo');
  execFileSync('mkfifo', [file]);
  return fs.openSync(file, fs.constants.O_RDWR);
}

/** Whether a user other than the owner can reach and read `file` (every directory above it searchable). */
export function othersCanRead(file: string): boolean {
  if ((fs.statSync(file).mode & 0o004) === 0) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/** Whether O_DIRECT works in `dir`: undefined if it does, else why not (the open's own message). */
export async function directUnsupported(dir: string, context?: IoContext): Promise<string | undefined> {
  const probe = path.join(dir, `direct-probe-${process.pid}-${counter++}`);
  try {
    await (await AIOFile.open(probe, 'w+b', { direct: true, context })).close();
    return undefined;
  } catch (error) {
    return `O_DIRECT in ${dir}: ${(error as Error).message}`;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
