/** The soak (test/soak.ts) for a minute: every byte read checked, RSS bounded, on every backend. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { soakAll, soakFailures } from './soak.js';

it('a minute of mixed reads and writes: no mismatch, RSS growth under 20 MB', { timeout: 180_000 }, async () => {
  const results = await soakAll(Number.MAX_SAFE_INTEGER, 60, () => {});
  assert.ok(results.length > 0);
  for (const r of results) assert.ok(r.reads > 10_000 && r.writes > 5_000, `${r.backend}: ${r.reads} reads, ${r.writes} writes`);
  assert.deepEqual(soakFailures(results), []);
});
