/** Faults: abort storms, a full filesystem, a process killed while it writes. */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { AbortError, AIOFile, createContext, Writer } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { openWith, pattern, scratchPath } from './support/files.js';
import { hostChangesRefused } from './support/host.js';

const timeout = 120_000;
const isRoot = process.getuid?.() === 0;

/** A 1 MiB tmpfs of our own, or why there cannot be one. */
function smallFilesystem(): { dir: string; unmount: () => void } | string {
  const refused = hostChangesRefused();
  if (refused) return refused;
  if (!isRoot) return 'needs root to mount a small tmpfs';
  const dir = scratchPath('tiny-fs');
  fs.mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return 'mount -t tmpfs is not allowed here';
  }
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

forEachBackend('Faults', (backend) => {
  it('an abort storm: 10,000 reads, about half aborted at random moments, every one settles', { timeout }, async () => {
    const context = createContext({ backend, entries: 64 });
    const content = pattern(1 << 20);
    const { fd } = openWith(content);
    let aborted = 0;
    let completed = 0;
    const reads = Array.from({ length: 10_000 }, (_, i) => {
      const controller = new AbortController();
      const offset = (i * 4096) % content.length;
      const buffer = Buffer.alloc(4096);
      const read = context.read(fd, buffer, offset, { signal: controller.signal }).then(
        (n) => {
          assert.equal(n, 4096);
          assert.ok(buffer.equals(content.subarray(offset, offset + 4096)), 'a read that completed has its bytes');
          completed++;
        },
        (error: unknown) => {
          assert.ok(error instanceof AbortError, String(error));
          aborted++;
        },
      );
      if (i % 2 === 0) {
        if (i % 3 === 0) controller.abort();
        else if (i % 3 === 1) queueMicrotask(() => controller.abort());
        else setImmediate(() => controller.abort());
      }
      return read;
    });
    await Promise.all(reads);
    assert.equal(aborted + completed, 10_000);
    // An abort wins unless the read finished first (page-cache reads finish inside their submit).
    assert.ok(aborted >= 1000, `most synchronous aborts won (${aborted})`);
    const { classes: _, ...totals } = context.stats();
    assert.equal(totals.inFlight, 0);
    assert.equal(totals.queued, 0);
    assert.equal(totals.submitted, totals.completed);
    await context.close();
    fs.closeSync(fd);
  });

  it('the fd closed behind the library\'s back: every read settles with its bytes or EBADF', { timeout }, async () => {
    const context = createContext({ backend, entries: 16 });
    const content = pattern(1 << 20);
    const { fd } = openWith(content);
    const outcomes = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => {
        const buffer = Buffer.alloc(4096);
        const offset = (i * 4096) % content.length;
        const read = context.read(fd, buffer, offset).then(
          (n) => (n === 4096 && buffer.equals(content.subarray(offset, offset + 4096)) ? 'read' : `wrong ${n}`),
          (error: NodeJS.ErrnoException) => error.code,
        );
        if (i === 300) fs.closeSync(fd);
        return read;
      }),
    );
    const kinds = new Set(outcomes);
    assert.ok([...kinds].every((k) => k === 'read' || k === 'EBADF'), [...kinds].join(', '));
    assert.ok(kinds.has('EBADF'), 'reads queued after the close saw EBADF');
    await context.close();
  });

  it('a full filesystem: ENOSPC reaches write, Writer.flush and close, and nothing written is lost unannounced', { timeout }, async (t) => {
    const tiny = smallFilesystem();
    if (typeof tiny === 'string') return t.skip(tiny);
    const context = createContext({ backend });
    try {
      const direct = await AIOFile.open(path.join(tiny.dir, 'direct'), 'wb', { context });
      await assert.rejects(direct.write(Buffer.alloc(2 << 20, 1), 0), expectCode('ENOSPC'));
      await direct.close();
      fs.rmSync(path.join(tiny.dir, 'direct'));
      const file = await AIOFile.open(path.join(tiny.dir, 'behind'), 'wb', { context });
      const writer = new Writer(file, { writeBehind: 4 << 20, blockSize: 64 << 10 });
      let accepted = 0;
      let refused: unknown;
      for (let i = 0; i < 32 && refused === undefined; i++) {
        await writer.write(Buffer.alloc(64 << 10, i)).then(
          (n) => (accepted += n),
          (error: unknown) => (refused = error),
        );
      }
      await assert.rejects(writer.flush(), expectCode('ENOSPC'));
      assert.ok(accepted > 1 << 20, 'more was accepted than fits: the error came from behind');
      await file.close();
    } finally {
      await context.close();
      tiny.unmount();
    }
  });

  it('a process killed while it writes: every record acknowledged after fdatasync is intact', { timeout }, async () => {
    const file = scratchPath('records');
    const fixture = fileURLToPath(new URL('./fixtures/durable-writer.js', import.meta.url));
    const child = spawn(process.execPath, [fixture, backend, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = 0;
    // Killed once it is well into writing (some records acknowledged), not after a fixed time: a
    // loaded machine can take longer than any fixed delay to start node and sync the first record.
    // A child that acknowledges nothing is still killed in time for the assertion below to say so.
    let underway: () => void = () => {};
    const wellUnderway = new Promise<void>((resolve) => (underway = resolve));
    const ceiling = setTimeout(underway, 60_000);
    child.on('close', underway);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      const last = text.trim().split('\n').pop();
      if (last) acknowledged = Number(last);
      if (acknowledged >= 10) underway();
    });
    await wellUnderway;
    clearTimeout(ceiling);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    assert.ok(acknowledged > 0, 'the child acknowledged records before it was killed');
    const data = fs.readFileSync(file);
    assert.ok(data.length >= acknowledged * 4096, `${data.length} bytes for ${acknowledged} records`);
    for (let i = 0; i < acknowledged; i++) {
      const record = data.subarray(i * 4096, (i + 1) * 4096);
      assert.equal(record.readUInt32LE(0), i, `record ${i}`);
      assert.ok(record.subarray(4).every((b) => b === (i & 0xff)), `record ${i} body`);
    }
  });
});
