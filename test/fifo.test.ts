/**
 * A FIFO or a pipe has no position: its bytes come in one sequence, and a read returns what has
 * come so far. Every layer that reads ahead or copies in parallel must read it one read after
 * another and stop only at its end, or bytes are lost, reordered or written into holes (issue 45:
 * `aiofs cp` of a FIFO wrote 8 MB of zeros around its 12 bytes; `aiofs cat`, Reader and
 * LineReader stopped at the first pause of the writer). The writer here pauses between its parts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import nodefs from 'node:fs/promises';
import { replaceDefaultContext } from '../src/create-context.js';
import { AIOFile, asyncOpen, createContext, type IoContext, LineReader, Reader } from '../src/index.js';
import ours from '../src/promises/index.js';
import { forEachBackend } from './support/backends.js';
import { scratchPath } from './support/files.js';

const timeout = 30_000;
const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PARTS = ['part1\n', 'part2\n', 'x'.repeat(100_000) + '\n', 'end\n'];
const WHOLE = PARTS.join('');

/** A FIFO and a writer that opens it and writes PARTS with a pause before each. */
function fifoWithWriter(): { fifo: string; written: Promise<unknown> } {
  const fifo = scratchPath('fifo');
  execFileSync('mkfifo', [fifo]);
  const script = PARTS.map((_, i) => `sleep 0.15; printf '%s' "$${i + 1}" >&3`).join('; ');
  const writer = spawn('bash', ['-c', `exec 3>"$0"; ${script}`, fifo, ...PARTS], { stdio: 'ignore' });
  return { fifo, written: once(writer, 'exit') };
}

forEachBackend('FIFOs and pipes', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  it('Reader, LineReader, an async file and AIOFile.read() take every byte, in order, to the end', { timeout }, async () => {
    const ways: Record<string, (file: AIOFile<Buffer>) => Promise<string>> = {
      Reader: async (file) => {
        const chunks: Buffer[] = [];
        for await (const chunk of new Reader(file, { chunkSize: 4096 })) chunks.push(Buffer.from(chunk));
        return Buffer.concat(chunks).toString();
      },
      LineReader: async (file) => {
        const lines: string[] = [];
        for await (const batch of new LineReader(file).batches()) lines.push(...batch);
        return lines.map((line) => `${line}\n`).join('').replace(/\n$/, WHOLE.endsWith('\n') ? '\n' : '');
      },
      'AIOFile.read()': async (file) => (await file.read()).toString(),
    };
    for (const [name, read] of Object.entries(ways)) {
      const { fifo, written } = fifoWithWriter();
      const file = await AIOFile.open(fifo, 'rb', { context });
      try {
        assert.equal(await read(file), WHOLE, name);
      } finally {
        await file.close();
      }
      await written;
    }
    const { fifo, written } = fifoWithWriter();
    const file = await asyncOpen(fifo, 'rb', { context });
    try {
      assert.equal((await file.read()).toString(), WHOLE, 'asyncOpen().read()');
    } finally {
      await file.close();
    }
    await written;
  });

  it('aiofs cat and aiofs cp of a FIFO, and cat of a pipe, give every byte, in order, as GNU cat and cp do', { timeout }, async () => {
    const env = { ...process.env, AIOFS_BACKEND: backend };
    {
      const { fifo, written } = fifoWithWriter();
      const cat = spawn(process.execPath, [cli, 'cat', fifo], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      const out: Buffer[] = [];
      cat.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      const [code] = await once(cat, 'exit');
      await written;
      assert.equal(code, 0);
      assert.equal(Buffer.concat(out).toString(), WHOLE, 'cat');
    }
    {
      const { fifo, written } = fifoWithWriter();
      const copy = scratchPath('copy');
      const cp = spawn(process.execPath, [cli, 'cp', fifo, copy], { env, stdio: 'inherit' });
      const [code] = await once(cp, 'exit');
      await written;
      assert.equal(code, 0);
      assert.equal(fs.readFileSync(copy, 'utf8'), WHOLE, 'cp: the same bytes, no holes');
    }
    const piped = spawnSync('bash', ['-c', `for p in "$@"; do sleep 0.15; printf '%s' "$p"; done | "$0" "${cli}" cat /dev/stdin`, process.execPath, ...PARTS], { env, encoding: 'utf8', timeout });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout, WHOLE, 'cat /dev/stdin');
    const dash = spawnSync(process.execPath, [cli, 'cat', '-'], { env, input: WHOLE, encoding: 'utf8', timeout });
    assert.equal(dash.status, 0, dash.stderr);
    assert.equal(dash.stdout, WHOLE, "cat -");
  });

  it('aiofs/promises on a FIFO: a read or write at a position is ESPIPE, as in node:fs; at the file\'s own position it reads; an open for writing waits for a reader', { timeout }, async () => {
    replaceDefaultContext(context);
    try {
      for (const fsys of [ours, nodefs]) {
        const { fifo, written } = fifoWithWriter();
        const handle = await fsys.open(fifo, 'r');
        try {
          await assert.rejects(handle.read(Buffer.alloc(4), 0, 4, 5), { code: 'ESPIPE', syscall: 'read', message: 'ESPIPE: invalid seek, read' });
          await assert.rejects(handle.readv([Buffer.alloc(2)], 3), { code: 'ESPIPE', syscall: 'read' });
          const { bytesRead, buffer } = await handle.read(Buffer.alloc(5), 0, 5, null);
          assert.equal(buffer.subarray(0, bytesRead).toString(), PARTS[0].slice(0, bytesRead));
        } finally {
          await handle.close();
        }
        await written;
      }
      // A FIFO opened for writing before its reader comes: the open waits (io_uring's own open
      // would answer ENXIO at once), and the bytes arrive.
      const fifo = scratchPath('fifo-w');
      execFileSync('mkfifo', [fifo]);
      const reader = spawn('bash', ['-c', 'sleep 0.3; cat "$0"', fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
      let got = '';
      reader.stdout.on('data', (chunk: Buffer) => (got += chunk));
      const handle = await ours.open(fifo, 'w');
      await assert.rejects(handle.write('x', 2), { code: 'ESPIPE', syscall: 'write' });
      await handle.write('hello');
      await handle.close();
      await once(reader, 'exit');
      assert.equal(got, 'hello');
    } finally {
      replaceDefaultContext(undefined);
    }
  });

  it('aiofs cp from a FIFO leaves the destination as it is until a writer comes; into a FIFO whose reader leaves: status 141, quietly', { timeout }, async () => {
    const env = { ...process.env, AIOFS_BACKEND: backend };
    const fifo = scratchPath('no-writer');
    execFileSync('mkfifo', [fifo]);
    const kept = scratchPath('kept');
    fs.writeFileSync(kept, 'precious');
    const cp = spawn(process.execPath, [cli, 'cp', fifo, kept], { env, stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(fs.readFileSync(kept, 'utf8'), 'precious', 'touched while no writer came');
    cp.kill('SIGTERM');
    await once(cp, 'exit');
    assert.equal(fs.readFileSync(kept, 'utf8'), 'precious');
    const sink = scratchPath('sink');
    execFileSync('mkfifo', [sink]);
    const big = scratchPath('big');
    fs.writeFileSync(big, Buffer.alloc(8 << 20, 1));
    const leaving = spawn('bash', ['-c', 'sleep 0.2; head -c 10 "$0" > /dev/null', sink], { stdio: 'ignore' });
    const into = spawnSync(process.execPath, [cli, 'cp', big, sink], { env, encoding: 'utf8', timeout });
    await once(leaving, 'exit');
    assert.equal(into.status, 141);
    assert.equal(into.stderr, '');
  });

  it('aiofs cat - starts where standard input\'s offset stands and leaves it where it stopped, as cat; a slow reader adds no listeners', { timeout }, () => {
    const env = { ...process.env, AIOFS_BACKEND: backend };
    const data = scratchPath('data');
    fs.writeFileSync(data, Buffer.alloc(300_001, 7));
    const count = (script: string) => spawnSync('bash', ['-c', script, cli, process.execPath, data], { env, encoding: 'utf8', timeout });
    assert.equal(count('( head -c 100 >/dev/null; "$1" "$0" cat - ) < "$2" | wc -c').stdout.trim(), String(300_001 - 100));
    assert.equal(count('"$1" "$0" cat - "$2" - < "$2" | wc -c').stdout.trim(), String(2 * 300_001));
    const slow = spawnSync('bash', ['-c', 'head -c 20000000 /dev/zero > "$2.big"; "$1" "$0" cat "$2.big" | (sleep 1; wc -c)', cli, process.execPath, data], { env, encoding: 'utf8', timeout });
    assert.equal(slow.stdout.trim(), '20000000');
    assert.doesNotMatch(slow.stderr, /MaxListenersExceededWarning/);
  });
});
