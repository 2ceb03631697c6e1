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
import { AIOFile, asyncOpen, createContext, type IoContext, LineReader, Reader } from '../src/index.js';
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
});
