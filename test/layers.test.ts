/**
 * The house rules of src/ (CONTRIBUTING.md, "Layout"), checked on the sources: every module
 * imports only from its own layer or the ones below it, and no chain of imports comes back to
 * where it started. Type-only imports count too: a type from above is a dependency on above.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Bottom first. A module's layer is the first entry its path (relative to src/) starts with. */
const layers: string[][] = [
  ['errors.ts', 'validate.ts', 'views.ts', 'native.ts', 'node-fs.ts', 'positional.ts', 'limits.ts', 'environment.ts'],
  ['direct/'],
  ['backend/'],
  ['sched/', 'buffering/'],
  ['dispatcher.ts', 'registered-buffers.ts', 'context.ts', 'create-context.ts'],
  ['file/'],
  ['promises/'],
  ['http/'],
  ['register/'],
  ['cli/', 'index.ts'],
];

// The TypeScript sources sit beside dist/ (this file runs from dist/test/).
const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [path.relative(src, full)] : [];
  });
}

function layerOf(module: string): number {
  const index = layers.findIndex((layer) => layer.some((prefix) => module === prefix || (prefix.endsWith('/') && module.startsWith(prefix))));
  assert.ok(index >= 0, `src/${module} belongs to no layer: add it to test/layers.test.ts and CONTRIBUTING.md`);
  return index;
}

/** The modules of src/ that `module` imports (relative specifiers; .js names the .ts source). */
function importsOf(module: string): string[] {
  const text = fs.readFileSync(path.join(src, module), 'utf8');
  const found = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm), ...text.matchAll(/import\('(\.{1,2}\/[^']+)'\)/g)];
  return found.map(([, specifier]) => path.normalize(path.join(path.dirname(module), specifier.replace(/\.js$/, '.ts'))));
}

const modules = sources(src);
const graph = new Map(modules.map((module) => [module, importsOf(module)]));

it('every module of src/ imports only from its own layer or below', () => {
  const upward: string[] = [];
  for (const [module, imports] of graph) {
    for (const imported of imports) {
      assert.ok(graph.has(imported), `src/${module} imports src/${imported}, which does not exist`);
      if (layerOf(imported) > layerOf(module)) upward.push(`src/${module} -> src/${imported}`);
    }
  }
  assert.deepEqual(upward, [], 'imports that go up a layer');
});

it('no module imports itself through others', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (module: string, trail: string[]) => {
    if (state.get(module) === 'done') return;
    if (state.get(module) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(module)), module].join(' -> '));
      return;
    }
    state.set(module, 'open');
    for (const next of graph.get(module) ?? []) visit(next, [...trail, module]);
    state.set(module, 'done');
  };
  for (const module of graph.keys()) visit(module, []);
  assert.deepEqual(cycles, []);
});
