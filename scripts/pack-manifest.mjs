// The manifest an installed package needs, for `npm pack` and `npm publish` (their prepack and
// postpack steps). A checkout's package.json has scripts for building and testing; an installed
// package needs only `install` (scripts/install.mjs), and npm lists every other script a package
// ships among the install scripts a user is asked to allow (npm 11).
//
//   node scripts/pack-manifest.mjs strip     package.json -> package.json.packing, then the trimmed one
//   node scripts/pack-manifest.mjs restore   package.json.packing back to package.json
//
// A pack that died between the two leaves package.json.packing: the next strip restores it first.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const manifest = path.join(root, 'package.json');
const saved = `${manifest}.packing`;
const mode = process.argv[2];

if (mode === 'restore' || mode === 'strip') {
  if (existsSync(saved)) renameSync(saved, manifest);
}
if (mode === 'strip') {
  const text = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  writeFileSync(saved, text);
  pkg.scripts = { install: pkg.scripts.install };
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
} else if (mode !== 'restore') {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
