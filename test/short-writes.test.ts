/**
 * Writes the kernel stops short (a file size limit reached; a full disk behaves alike): aiofs
 * answers as node:fs does, step by step (the bytes written, then the error), the file's own
 * position after each step is where node:fs leaves it, and the files end byte for byte the same.
 * On io_uring the position was left at the start of a short write, and the next write overwrote
 * the file's head (issue 45). The limit is the child's own (`ulimit -f` in its shell).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { forEachBackend } from './support/backends.js';
import { runChecked } from './support/child.js';
import { scratchDir } from './support/files.js';

const timeout = 60_000;
const fixture = fileURLToPath(new URL('./fixtures/short-writes.js', import.meta.url));
const LIMIT_BLOCKS = 200; // of 1024 bytes: ulimit -f's unit in bash

forEachBackend('short writes under a file size limit', (backend) => {
  it('each step ends as node:fs ends it, the position after it is node:fs\'s, and the files end alike', { timeout }, () => {
    const dir = scratchDir();
    const { stdout } = runChecked('bash', ['-c', `ulimit -f ${LIMIT_BLOCKS} && exec "$0" "$@"`, process.execPath, fixture, dir, String(LIMIT_BLOCKS * 1024)], {
      env: { ...process.env, AIOFS_BACKEND: backend },
      timeout,
    });
    const report = JSON.parse(stdout) as Record<string, { node: unknown; aiofs: unknown }>;
    assert.equal(Object.keys(report).length, 7);
    for (const [name, { node, aiofs }] of Object.entries(report)) assert.deepEqual(aiofs, node, name);
    // The limit was reached at all: short counts and EFBIG are what was compared.
    assert.match(JSON.stringify(report), /EFBIG/);
  });
});
