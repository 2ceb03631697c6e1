/**
 * The package's install step (scripts/install.mjs) on each platform, the platform stubbed
 * (process.platform set by a preload): off Linux it compiles nothing and says nothing, unless
 * AIOFS_BUILD_FROM_SOURCE=1 asks; on Linux without a prebuilt binary (a checkout) it builds. The
 * build is a stand-in node-gyp (npm_config_node_gyp, as npm passes its own) that records its
 * arguments; the real build is tested by test:package and every fresh clone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChecked } from './support/child.js';

const timeout = 30_000;
const root = fileURLToPath(new URL('../../', import.meta.url));
const script = path.join(root, 'scripts', 'install.mjs');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiofs-install-'));
const gypLog = path.join(work, 'node-gyp.log');
const fakeGyp = path.join(work, 'fake-node-gyp.mjs');
fs.writeFileSync(fakeGyp, `import fs from 'node:fs';\nfs.appendFileSync(${JSON.stringify(gypLog)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`);
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs the install step as if on `platform`; returns its output and node-gyp's calls. */
function install(platform: string, env: NodeJS.ProcessEnv = {}): { output: string; gyp: string[][] } {
  fs.rmSync(gypLog, { force: true });
  const stub = `data:text/javascript,Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });`;
  const { stdout, stderr } = runChecked(process.execPath, ['--import', stub, script], {
    cwd: root,
    env: { ...process.env, npm_config_node_gyp: fakeGyp, AIOFS_BUILD_FROM_SOURCE: '', ...env },
    timeout: timeout - 5_000,
  });
  const gyp = fs.existsSync(gypLog) ? fs.readFileSync(gypLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]) : [];
  return { output: stdout + stderr, gyp };
}

describe('the install step', () => {
  for (const platform of ['darwin', 'win32', 'freebsd']) {
    it(`on ${platform}: compiles nothing and prints nothing`, { timeout }, () => {
      const { output, gyp } = install(platform);
      assert.deepEqual(gyp, []);
      assert.equal(output, '');
    });
  }

  it('off Linux, AIOFS_BUILD_FROM_SOURCE=1 builds', { timeout }, () => {
    assert.deepEqual(install('darwin', { AIOFS_BUILD_FROM_SOURCE: '1' }).gyp.map((args) => args[0]), ['rebuild']);
  });

  // A checkout's addon is its own build, never a prebuilt one: the step builds, as a fresh clone needs.
  it('on Linux without a prebuilt binary that loads: builds', { timeout }, () => {
    assert.deepEqual(install('linux').gyp.map((args) => args[0]), ['rebuild']);
  });
});
