/**
 * LineReader: every way a chunk boundary can fall (inside a character, inside a separator,
 * inside a CRLF, in a line longer than the chunk), separators, encodings, batches, iteration.
 * Expected lines come from String.prototype.split on the whole text.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before, it } from 'node:test';
import { AIOFile, createContext, LineReader, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { expectCode } from './support/errors.js';
import { fileWith } from './support/files.js';

const timeout = 60_000;

/** What the lines of `text` are: no separators, a '\r' before '\n' dropped, no empty last line. */
function expectedLines(text: string, separator = '\n'): string[] {
  const parts = text.split(separator);
  const last = parts.pop()!;
  const lines = separator === '\n' ? parts.map((line) => line.replace(/\r$/, '')) : parts;
  if (last !== '') lines.push(last);
  return lines;
}

forEachBackend('LineReader', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
  });
  after(() => context.close());

  async function open(content: string | Buffer, encoding?: BufferEncoding): Promise<AIOFile> {
    return AIOFile.open(fileWith(content), 'r', { context, encoding });
  }

  async function lines(f: AIOFile, options: ConstructorParameters<typeof LineReader>[1]): Promise<string[]> {
    const out: string[] = [];
    for await (const line of new LineReader(f, options)) out.push(line);
    return out;
  }

  it('splits 2-, 3- and 4-byte characters at every position relative to small chunks', { timeout }, async () => {
    for (const char of ['é', '€', '😀']) {
      for (let before = 0; before < 6; before++) {
        const text = `${'a'.repeat(before)}${char}b\n${char}${char}\n\n${'c'.repeat(before)}${char}`;
        const f = await open(text);
        for (let chunkSize = 1; chunkSize <= 9; chunkSize++) {
          assert.deepEqual(await lines(f, { chunkSize }), expectedLines(text), `${char} ${before} ${chunkSize}`);
        }
        await f.close();
      }
    }
  });

  it('any mix of ASCII, other characters, malformed bytes, CRLF and empty lines, in chunks of any size, splits as the whole text does', { timeout }, async () => {
    const piece = fc.oneof(
      fc.constantFrom('\n', '\r\n', '\r', 'plain ascii words', '').map((t) => Buffer.from(t)),
      fc.string({ unit: 'grapheme', maxLength: 5 }).map((t) => Buffer.from(t)),
      fc.constantFrom(Buffer.from([0xe2, 0x82]), Buffer.from([0xf0]), Buffer.from([0x80, 0x80]), Buffer.from([0xff]), Buffer.from([0xef, 0xbb, 0xbf])),
      // Runs of ASCII of every length put the other bytes at every offset from a 4-byte boundary.
      fc.nat({ max: 70 }).map((length) => Buffer.alloc(length, 'ascii run ')),
    );
    // Small chunks cut characters and separators; large ones hold many whole lines.
    const chunkSize = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 700 }));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 24 }), chunkSize, async (pieces, chunkSize) => {
        const bytes = Buffer.concat(pieces);
        const f = await open(bytes);
        try {
          assert.deepEqual(await lines(f, { chunkSize }), expectedLines(bytes.toString('utf8')), `${bytes.toString('hex')} in chunks of ${chunkSize}`);
        } finally {
          await f.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('finds a lone byte outside ASCII at every offset of a line and of the memory, in chunks of many lines', { timeout }, async () => {
    // A lone 0xff decodes to U+FFFD: a line taken for ASCII would show it as 'ÿ' instead.
    for (let shift = 0; shift < 4; shift++) {
      for (let at = 0; at < 16; at++) {
        const line = Buffer.alloc(16, 'x');
        line[at] = 0xff;
        // The last whole line of the chunk ends with one, so that it falls in the bytes after the last whole word too.
        const last = Buffer.concat([Buffer.alloc(at, 'y'), Buffer.from([0xff])]);
        const bytes = Buffer.concat([Buffer.from(`${'p'.repeat(shift)}\nascii\n`), line, Buffer.from('\nmiddle\n'), last, Buffer.from('\nend')]);
        const f = await open(bytes);
        for (const chunkSize of [64, 4096]) {
          assert.deepEqual(await lines(f, { chunkSize }), expectedLines(bytes.toString('utf8')), `shift ${shift}, byte ${at}, chunks of ${chunkSize}`);
        }
        await f.close();
      }
    }
  });

  it('handles CRLF, empty lines, no trailing separator, empty files and long lines', { timeout }, async () => {
    const long = 'L'.repeat(3000);
    const texts = [
      '',
      '\n',
      '\n\n\n',
      'one',
      'one\n',
      'one\r\ntwo\r\n',
      'a\r\n\r\nb\rc\r',
      `${long}\n${long}x\r\n${long}`,
      'lone \r in the middle\n',
    ];
    for (const text of texts) {
      const f = await open(text);
      for (const chunkSize of [1, 2, 3, 7, 64, 65_536]) {
        assert.deepEqual(await lines(f, { chunkSize }), expectedLines(text), `${JSON.stringify(text.slice(0, 20))} / ${chunkSize}`);
      }
      await f.close();
    }
  });

  it('takes any non-empty separator, also one split across chunks', { timeout }, async () => {
    const text = 'a||b|||c||||d|e||';
    for (const separator of ['||', '|', '|||', 'e', 'not there']) {
      const f = await open(text);
      for (let chunkSize = 1; chunkSize <= 5; chunkSize++) {
        assert.deepEqual(await lines(f, { chunkSize, separator }), expectedLines(text, separator), `${separator} ${chunkSize}`);
      }
      await f.close();
    }
    const euro = 'x€€y€€€z';
    const f = await open(euro);
    for (let chunkSize = 1; chunkSize <= 7; chunkSize++) {
      assert.deepEqual(await lines(f, { chunkSize, separator: '€€' }), expectedLines(euro, '€€'));
    }
    await f.close();
  });

  it('decodes UTF-16LE and latin1, and yields Buffers with encoding null', { timeout }, async () => {
    const text = 'ab😀\r\nc€\n\nd';
    const f16 = await open(Buffer.from(text, 'utf16le'), 'utf16le');
    for (let chunkSize = 1; chunkSize <= 9; chunkSize++) {
      assert.deepEqual(await lines(f16, { chunkSize }), expectedLines(text));
    }
    await f16.close();
    const latin = await open(Buffer.from('ÿ\nþ', 'latin1'));
    assert.deepEqual(await lines(latin, { encoding: 'latin1' }), ['ÿ', 'þ']);
    await latin.close();

    const bytes = await open('x\r\ny\n\nz');
    for (const chunkSize of [1, 2, 4, 100]) {
      const got: Buffer[] = [];
      for await (const line of new LineReader<Buffer>(bytes, { chunkSize, encoding: null })) got.push(line);
      assert.deepEqual(
        got.map((b) => b.toString()),
        ['x', 'y', '', 'z'],
      );
      assert.ok(got.every((b) => Buffer.isBuffer(b)));
    }
    const split: string[] = [];
    for await (const line of new LineReader<Buffer>(bytes, { chunkSize: 1, encoding: null, separator: '\n\n' })) split.push(line.toString());
    assert.deepEqual(split, ['x\r\ny', 'z']);
    await bytes.close();
  });

  it('mixes readline(), iteration with break, and batches() without losing a line', { timeout }, async () => {
    const all = Array.from({ length: 1000 }, (_, i) => `line ${i} ${'é'.repeat(i % 7)}`);
    const f = await open(`${all.join('\n')}\n`);
    const reader = new LineReader(f, { chunkSize: 100 });
    const got: string[] = [];
    got.push((await reader.readline())!);
    for await (const line of reader) {
      got.push(line);
      if (got.length === 300) break;
    }
    got.push((await reader.readline())!);
    for await (const batch of reader.batches()) {
      assert.ok(batch.length > 0);
      got.push(...batch);
    }
    assert.deepEqual(got, all);
    assert.equal(await reader.readline(), null);
    assert.equal(await reader.readline(), null);
    await f.close();
  });

  it('starts at an offset, and concurrent readline() calls each get the next line', { timeout }, async () => {
    const f = await open('skip\nl1\nl2\nl3\n');
    const reader = new LineReader(f, { offset: 5, chunkSize: 2 });
    assert.deepEqual(await Promise.all([reader.readline(), reader.readline(), reader.readline(), reader.readline()]), [
      'l1',
      'l2',
      'l3',
      null,
    ]);
    await f.close();
  });

  it('reads a large file with one read per chunk, not per line', { timeout }, async () => {
    const text = 'short line\n'.repeat(100_000);
    const f = await open(text);
    const submitted = context.stats().submitted;
    let count = 0;
    for await (const batch of new LineReader(f, { chunkSize: 1 << 16 }).batches()) count += batch.length;
    assert.equal(count, 100_000);
    const reads = context.stats().submitted - submitted;
    // One per chunk, plus what read-ahead had in flight past the end (4 by default).
    assert.ok(reads <= Math.ceil(text.length / (1 << 16)) + 1 + 4, `${reads} reads`);
    await f.close();
  });

  it('rejects bad options', { timeout }, async () => {
    const f = await open('x');
    assert.throws(() => new LineReader(f, { separator: '' }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    assert.throws(() => new LineReader(f, { separator: 1 as never }), expectCode('ERR_INVALID_ARG_TYPE', TypeError));
    assert.throws(() => new LineReader(f, { chunkSize: 0 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.throws(() => new LineReader(f, { offset: -1 }), expectCode('ERR_OUT_OF_RANGE', RangeError));
    assert.throws(() => new LineReader(f, { encoding: 'klingon' }), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    assert.throws(() => new LineReader(f, { nope: 1 } as never), expectCode('ERR_INVALID_ARG_VALUE', TypeError));
    await f.close();
    await assert.rejects(new LineReader(f).readline(), expectCode('EBADF'));
  });
});
