/**
 * TypeScript users get node:fs/promises' own types from aiofs/promises: test/types/everyday.ts
 * (every function assigned to node:fs/promises' own type, the module as a whole, a FileHandle as
 * Node's FileHandle, and everyday calls whose results are typed as node:fs gives them) compiles
 * with tsc against @types/node 20, 22 and 24, each in its own compilation, importing the package
 * by its own name as a user does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { scratchPath } from './support/files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

/** The @types/node packages installed for this test: the project's own, and its aliases for later releases. */
const releases: [string, string][] = [
  ['20', 'node'],
  ['22', 'node-22'],
  ['24', 'node-24'],
];

for (const [major, folder] of releases) {
  const types = path.join(root, 'node_modules', '@types', folder);
  const missing = !fs.existsSync(path.join(types, 'package.json')) && `@types/${folder} is not installed`;
  it(`test/types/everyday.ts compiles against @types/node ${major}`, { timeout: 120_000, skip: missing }, () => {
    const version = (JSON.parse(fs.readFileSync(path.join(types, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(version.split('.')[0], major, `@types/${folder} is ${version}`);
    // A type root holding this release as 'node', so that every reference to Node's types (the
    // package's declarations' too) finds this one and no other.
    const typeRoot = scratchPath(`types-${major}`);
    fs.mkdirSync(typeRoot);
    fs.symlinkSync(types, path.join(typeRoot, 'node'), 'dir');
    const config = path.join(root, 'test', 'types', `tsconfig.${major}.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'ESNext.Disposable'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [typeRoot],
          types: ['node'],
        },
        files: ['everyday.ts'],
      }),
    );
    try {
      const run = spawnSync(process.execPath, [tsc, '-p', config], { cwd: root, encoding: 'utf8', timeout: 110_000 });
      assert.equal(run.status, 0, `tsc against @types/node ${version}:\n${run.stdout}${run.stderr}`);
    } finally {
      fs.rmSync(config, { force: true });
    }
  });
}

it('every entry point resolves to its declarations under node10, bundler and nodenext resolution', { timeout: 120_000 }, () => {
  // An app with the package in its node_modules, as installed (node10 looks nowhere else).
  const app = scratchPath('types-app');
  fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(root, path.join(app, 'node_modules', 'aiofs'), 'dir');
  fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(app, 'node_modules', '@types', 'node'), 'dir');
  fs.copyFileSync(path.join(root, 'test', 'types', 'resolution.ts'), path.join(app, 'resolution.ts'));
  for (const [module, moduleResolution] of [
    ['CommonJS', 'Node10'],
    ['ESNext', 'Bundler'],
    ['NodeNext', 'NodeNext'],
  ]) {
    const config = path.join(app, `tsconfig.${moduleResolution}.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module, moduleResolution, lib: ['ES2022', 'ESNext.Disposable'], strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['resolution.ts'],
      }),
    );
    const run = spawnSync(process.execPath, [tsc, '-p', config], { cwd: app, encoding: 'utf8', timeout: 110_000 });
    assert.equal(run.status, 0, `tsc with module ${module}, moduleResolution ${moduleResolution}:\n${run.stdout}${run.stderr}`);
  }
});
