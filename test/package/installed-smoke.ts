/**
 * Copied into a directory where the packed aiofs was installed, and run there (by
 * install.test.ts), possibly by another runtime or architecture: the package as a user gets it.
 * Prints one JSON line: the backend 'auto' chose, and what `backends()` says of each.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// By name, as a user imports it: resolved from this directory's node_modules.
const specifier = 'aiofs';
const aiofs = await import(specifier);
const promises = await import(`${specifier}/promises`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-installed-'));
try {
  const file = path.join(dir, 'data');
  const ctx = aiofs.createContext();
  const fd = fs.openSync(file, 'w+');
  const blocks = Array.from({ length: 32 }, (_, i) => Buffer.alloc(4096, i));
  await Promise.all(blocks.map((block, i) => ctx.write(fd, block, i * 4096)));
  await new Promise((resolve) => setTimeout(resolve, 10));
  await ctx.fsync(fd);
  const back = await Promise.all(blocks.map(async (_, i) => {
    const buffer = Buffer.alloc(4096);
    await ctx.read(fd, buffer, i * 4096);
    return buffer;
  }));
  back.forEach((buffer, i) => assert.ok(buffer.equals(blocks[i])));
  fs.closeSync(fd);
  assert.equal((await promises.readFile(file)).length, 32 * 4096);
  const backend = ctx.backend;
  await ctx.close();
  console.log(JSON.stringify({ backend, backends: aiofs.backends() }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
