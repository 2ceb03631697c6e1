/** What the SQPOLL fixtures share: the process's polling threads, a file of known bytes, and reads of it through a context. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { IoContext } from '../../src/index.js';
import { threadsNamed } from './threads.js';

/** How many io_uring submission-queue pollers this process has (the kernel names them iou-sqp-PID). */
export function sqpollThreads(): number {
  return threadsNamed((name) => name.startsWith('iou-sqp-')).length;
}

/** `count` 4 KiB reads through `context` at scattered offsets of `fd`, each checked against `expected`. */
export async function readsRight(context: IoContext, fd: number, expected: Buffer, count: number): Promise<boolean> {
  const buffer = Buffer.alloc(4096);
  for (let i = 0; i < count; i++) {
    const offset = ((i * 7919) % (expected.length / 4096)) * 4096;
    const n = await context.read(fd, buffer, offset);
    if (n !== 4096 || !buffer.equals(expected.subarray(offset, offset + 4096))) return false;
  }
  return true;
}

/** Waits up to 5 s for the polling threads to end: the kernel ends one from a work queue once no ring uses it. */
export async function sqpollThreadsOnceEnded(): Promise<number> {
  const deadline = Date.now() + 5000;
  while (sqpollThreads() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return sqpollThreads();
}

/** A new 1 MiB file of random bytes, open for reading: its name, fd and bytes, and how to remove it. */
export function randomDataFile(prefix: string): { file: string; fd: number; expected: Buffer; remove(): void } {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = path.join(directory, 'data');
  const expected = randomBytes(1 << 20);
  fs.writeFileSync(file, expected);
  const fd = fs.openSync(file, 'r');
  return {
    file,
    fd,
    expected,
    remove() {
      fs.closeSync(fd);
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * The first CPU this process may run on, to pin a child to with taskset(1) (a polling thread
 * then shares that one CPU), or why a child cannot be pinned here.
 */
export function oneCpu(): { cpu: string; skip: false } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'taskset and CPU affinity are Linux' };
  if (spawnSync('taskset', ['--version']).error) return { skip: 'needs taskset (util-linux)' };
  const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return allowed ? { cpu: allowed[1], skip: false } : { skip: 'the kernel does not say which CPUs this process may run on' };
}
