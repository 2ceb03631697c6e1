/**
 * CommonJS: require() of every entry point ('aiofs', 'aiofs/promises', 'aiofs/http') works on the
 * running Node (CI runs this on 20, 22, 24 and 26): the modules are ES modules without a
 * top-level await, which require() loads from Node 20.19 and 22.12 on (package.json's engines).
 * Also as a preload: node --require.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const fixture = fileURLToPath(new URL('../../test/fixtures/commonjs.cjs', import.meta.url));

it('a CommonJS program requires every entry point and uses it', { timeout: 60_000 }, () => {
  const run = spawnSync(process.execPath, [fixture], { encoding: 'utf8', timeout: 50_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'ok');
  assert.doesNotMatch(run.stderr, /ExperimentalWarning|ERR_REQUIRE/);
});

it('node --require preloads the package', { timeout: 60_000 }, () => {
  const run = spawnSync(process.execPath, ['--require', 'aiofs/promises', '-e', "require('aiofs/promises').readFile('package.json', 'utf8').then((s) => console.log(JSON.parse(s).name))"], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'aiofs');
});
