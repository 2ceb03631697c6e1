/**
 * README.md's JavaScript runs as printed: each ```js block is a module, run in an app directory
 * whose node_modules/aiofs is this checkout, next to the files the block names, on every
 * backend. And the commands it tells a user to run exist.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { forEachBackend } from './support/backends.js';
import { runChecked } from './support/child.js';
import { scratchPath } from './support/files.js';

const timeout = 30_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]);

/** An app directory with aiofs installed (a link to this checkout) and the files the README's blocks read. */
function app(): string {
  const dir = scratchPath('readme-app');
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'aiofs'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-app', private: true, type: 'module' }));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ name: 'readme', port: 8080 }));
  fs.writeFileSync(path.join(dir, 'data.bin'), Buffer.alloc(8192, 7));
  fs.writeFileSync(path.join(dir, 'big.log'), 'one\ntwo\nthree\n'.repeat(10_000));
  return dir;
}

it('README.md has JavaScript blocks to run', () => {
  assert.ok(blocks.length >= 2, `${blocks.length} blocks`);
  for (const command of ['npm install aiofs', 'node --import aiofs/register app.js', 'npm install ', 'npm test', 'npx aiofs bench']) assert.ok(readme.includes(command), command);
});

forEachBackend('README.md', (backend) => {
  blocks.forEach((block, i) => {
    it(`block ${i + 1} (${block.split('\n')[0]}) runs`, { timeout }, () => {
      const dir = app();
      fs.writeFileSync(path.join(dir, 'block.mjs'), block);
      runChecked(process.execPath, ['block.mjs'], { cwd: dir, env: { ...process.env, AIOFS_BACKEND: backend }, timeout: timeout - 5_000 });
    });
  });

  it('the first block writes what it read', { timeout }, () => {
    const dir = app();
    fs.writeFileSync(path.join(dir, 'block.mjs'), blocks[0]);
    runChecked(process.execPath, ['block.mjs'], { cwd: dir, env: { ...process.env, AIOFS_BACKEND: backend }, timeout: timeout - 5_000 });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')), { name: 'readme', port: 8080 });
  });
});
