/**
 * The soak: mixed 4 KiB reads and writes at random offsets on every backend, each block's content
 * derived from its number and version so that every byte read is checked, reporting ops/s and RSS
 * every few seconds. Passes with zero mismatches and RSS growth under 20 MB after warm-up.
 *
 *   node --expose-gc dist/test/soak.js [--ops 10000000] [--seconds N] [--json]   (npm run soak)
 *
 * test/soak.test.ts runs it for a minute in CI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backends, createContext, type BackendName } from '../src/index.js';

const BLOCK = 4096;
const BLOCKS = 8192; // a 32 MiB file
const CONCURRENCY = 32;
const RSS_LIMIT = 20 * 2 ** 20;

export interface SoakResult {
  backend: BackendName;
  ops: number;
  reads: number;
  writes: number;
  mismatches: number;
  bytesVerified: number;
  seconds: number;
  rssGrowth: number;
}

const collect = (globalThis as { gc?: () => void }).gc;

/** RSS after a full collection when the process allows one (--expose-gc), so garbage is not growth. */
function settledRss(): number {
  collect?.();
  return process.memoryUsage().rss;
}

/** The content of `block` at `version`: xorshift words seeded by both. */
function fillBlock(target: Uint32Array, block: number, version: number): void {
  let x = (block * 2654435761 + version * 40503 + 1) >>> 0 || 1;
  for (let i = 0; i < target.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    target[i] = x >>> 0;
  }
}

export async function soak(backend: BackendName, ops: number, seconds: number, dir: string, report: (line: string) => void): Promise<SoakResult> {
  const context = createContext({ backend });
  const file = path.join(dir, `soak-${backend}`);
  const fd = fs.openSync(file, 'w+');
  const versions = new Uint32Array(BLOCKS);
  const busy = new Uint8Array(BLOCKS);
  const scratch = new Uint32Array(BLOCK / 4);
  for (let b = 0; b < BLOCKS; b++) {
    fillBlock(scratch, b, 0);
    fs.writeSync(fd, scratch, 0, BLOCK, b * BLOCK);
  }
  let started = 0;
  let reads = 0;
  let writes = 0;
  let mismatches = 0;
  let x = 0x9e3779b9;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const begin = performance.now();
  const deadline = begin + seconds * 1000;
  // Warm-up: a tenth of the operations, and at least a quarter of the time, so that V8's heap has
  // reached its working size before RSS counts as growth.
  const warmupOps = Math.min(ops / 10, 200_000);
  const warmupEnd = begin + Math.min(seconds * 250, 30_000);
  let rssAfterWarmup = 0;
  let rssPeak = 0;
  let lastReport = begin;
  const worker = async () => {
    const buffer = new Uint32Array(BLOCK / 4);
    const expected = new Uint32Array(BLOCK / 4);
    const bytes = new Uint8Array(buffer.buffer);
    while (started < ops && performance.now() < deadline) {
      const block = random() % BLOCKS;
      if (busy[block]) continue;
      busy[block] = 1;
      started++;
      if (random() % 3 === 0) {
        const version = versions[block] + 1;
        fillBlock(buffer, block, version);
        await context.write(fd, bytes, block * BLOCK);
        versions[block] = version;
        writes++;
      } else {
        const n = await context.read(fd, bytes, block * BLOCK);
        fillBlock(expected, block, versions[block]);
        if (n !== BLOCK || Buffer.compare(bytes, new Uint8Array(expected.buffer)) !== 0) mismatches++;
        reads++;
      }
      busy[block] = 0;
      const done = reads + writes;
      if (rssAfterWarmup === 0 && done >= warmupOps && performance.now() >= warmupEnd) rssAfterWarmup = settledRss();
      if ((done & 0x3fff) === 0) {
        const now = performance.now();
        const rss = settledRss();
        if (rssAfterWarmup) rssPeak = Math.max(rssPeak, rss);
        if (now - lastReport > 5000) {
          lastReport = now;
          report(`${backend}: ${done} ops, ${Math.round(done / ((now - begin) / 1000))} ops/s, RSS ${(rss / 2 ** 20).toFixed(1)} MiB, ${mismatches} mismatches`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds_ = (performance.now() - begin) / 1000;
  await context.close();
  fs.closeSync(fd);
  fs.rmSync(file);
  return {
    backend,
    ops: reads + writes,
    reads,
    writes,
    mismatches,
    bytesVerified: reads * BLOCK,
    seconds: seconds_,
    rssGrowth: rssAfterWarmup ? Math.max(0, rssPeak - rssAfterWarmup) : 0,
  };
}

export async function soakAll(totalOps: number, seconds: number, report: (line: string) => void): Promise<SoakResult[]> {
  const available = backends().filter((b) => b.available).map((b) => b.name);
  const dir = fs.mkdtempSync(path.join(process.env.AIOFS_TEST_DIR ?? os.tmpdir(), 'aiofs-soak-'));
  try {
    const results: SoakResult[] = [];
    for (const backend of available) {
      results.push(await soak(backend, Math.ceil(totalOps / available.length), seconds / available.length, dir, report));
    }
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function soakFailures(results: SoakResult[]): string[] {
  return results.flatMap((r) => [
    ...(r.mismatches > 0 ? [`${r.backend}: ${r.mismatches} mismatches`] : []),
    ...(r.rssGrowth > RSS_LIMIT ? [`${r.backend}: RSS grew ${(r.rssGrowth / 2 ** 20).toFixed(1)} MiB after warm-up`] : []),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { ops: { type: 'string', default: '10000000' }, seconds: { type: 'string', default: '86400' }, json: { type: 'boolean', default: false } },
  });
  const results = await soakAll(Number(values.ops), Number(values.seconds), (line) => process.stderr.write(`${line}\n`));
  for (const r of results) {
    process.stderr.write(
      `${r.backend}: ${r.ops} ops (${r.reads} reads, ${r.writes} writes) in ${r.seconds.toFixed(1)} s, ${Math.round(r.ops / r.seconds)} ops/s, ` +
        `${r.bytesVerified} bytes verified, ${r.mismatches} mismatches, RSS growth ${(r.rssGrowth / 2 ** 20).toFixed(1)} MiB\n`,
    );
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  const failures = soakFailures(results);
  for (const failure of failures) process.stderr.write(`FAIL ${failure}\n`);
  process.exitCode = failures.length ? 1 : 0;
}
