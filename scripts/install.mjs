// The package's install step. It never fails the install: aiofs runs on the `threads` backend
// without its addon, and `npx aiofs doctor` says why the kernel engines are missing.
//
// 0. Off Linux (macOS, Windows, FreeBSD) there is no kernel engine to build: nothing is compiled,
//    so a machine without Xcode or Build Tools installs quietly; the `threads` backend needs no
//    addon. AIOFS_BUILD_FROM_SOURCE=1 still builds it (it adds allocAligned() there).
// 1. A prebuilt binary that loads here (the packed package ships them): nothing to do, unless
//    AIOFS_BUILD_FROM_SOURCE=1 asks for a build anyway.
// 2. Otherwise (a git checkout, or a platform without a prebuilt binary) build from source with
//    node-gyp, against the headers beside the running Node when it has them (the official
//    tarballs and the registry's node-* packages do), so that nothing is downloaded.
// 3. A failed build prints what failed and how to find out more, and exits 0.
// Installs with scripts off (pnpm, bun, --ignore-scripts) skip all of this and use step 1's
// binaries, which the loader finds by itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

if (process.platform !== 'linux' && process.env.AIOFS_BUILD_FROM_SOURCE !== '1') process.exit(0);

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const loader = path.join(root, 'dist', 'src', 'native.js');

const prebuilt = existsSync(loader) && (await import(pathToFileURL(loader).href)).nativeInfo().source === 'prebuilt';
if (prebuilt && process.env.AIOFS_BUILD_FROM_SOURCE !== '1') process.exit(0);

const args = ['rebuild'];
const headers = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
if (!process.env.npm_config_nodedir && existsSync(path.join(headers, 'node_api.h'))) {
  args.push(`--nodedir=${path.dirname(path.dirname(headers))}`);
}
const gyp = process.env.npm_config_node_gyp;
const result = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  console.warn(
    `aiofs: building the native addon from source failed (${why}). ` +
      (prebuilt
        ? 'The prebuilt binary for this platform is used instead.'
        : `No prebuilt binary fits this platform (${process.platform}-${process.arch}), so aiofs will run every ` +
          "operation on the 'threads' backend (node:fs); `npx aiofs doctor` tells what is missing. To build " +
          'it: python3, make and a C compiler, then `npm rebuild aiofs`.'),
  );
}
