// Single-line mutation testing of the compiled modules (npm run mutate): each mutant changes one
// operator or literal on one line of one module in dist/ (=== and !==, < and <=, > and >=, &&
// and ||, true and false, a condition made false), and the tests that cover that module run
// against it; a mutant the tests fail on is killed, one they pass survives. Prints the score per
// module and every survivor (file:line, the change), for a person to read: a survivor is a line
// the tests do not pin down, or a change that makes no difference.
//
//   node scripts/mutate.mjs [--per-module N] [--seed S] [--only MODULE] [--backends a,b] [--list]
//
// Run after `npm run compile`. The compiled file is restored after each mutant (and on exit).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({
  options: {
    'per-module': { type: 'string', default: '30' },
    seed: { type: 'string', default: '45' },
    only: { type: 'string' },
    backends: { type: 'string', default: 'uring,threads' },
    list: { type: 'boolean', default: false },
  },
});

const promisesTests = ['differential', 'promises-regressions', 'promises-parity', 'promises'];
/** The modules, and the test files that must pin them down (run on uring and threads, the two paths). */
const modules = {
  'src/promises/index.js': promisesTests,
  'src/promises/file-handle.js': promisesTests,
  'src/file/transfer.js': [...promisesTests, 'file-aiofile'],
  'src/cli/cp.js': ['cli-cp'],
  'src/http/send.js': ['http'],
  'src/http/root.js': ['http'],
  'src/http/splice-body.js': ['http'],
};

const mutations = [
  [/ === /, ' !== '],
  [/ !== /, ' === '],
  [/ <= /, ' < '],
  [/ < /, ' <= '],
  [/ >= /, ' > '],
  [/ > /, ' >= '],
  [/ && /, ' || '],
  [/ \|\| /, ' && '],
  [/\btrue\b/, 'false'],
  [/\bfalse\b/, 'true'],
  [/\bif \((.+)\) (return|throw|continue|break)\b/, 'if (false) $2'],
];

/** A generator of numbers from `seed` (mulberry32): the same sample every run. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every single-line mutant of `source`: its line number, the change, and the mutated text. */
function mutantsOf(source) {
  const lines = source.split('\n');
  const found = [];
  lines.forEach((line, i) => {
    const code = line.trim();
    if (code === '' || code.startsWith('//') || code.startsWith('*') || code.startsWith('/*') || code.startsWith('import ')) return;
    for (const [pattern, replacement] of mutations) {
      if (!pattern.test(line)) continue;
      const mutated = line.replace(pattern, replacement);
      if (mutated === line) continue;
      const copy = lines.slice();
      copy[i] = mutated;
      found.push({ line: i + 1, from: code, to: mutated.trim(), text: copy.join('\n') });
    }
  });
  return found;
}

const random01 = random(Number(values.seed));
const perModule = Number(values['per-module']);
let restore;
process.on('exit', () => restore?.());
const summary = [];
for (const [module, tests] of Object.entries(modules)) {
  if (values.only && !module.includes(values.only)) continue;
  const file = path.join(root, 'dist', module);
  const original = readFileSync(file, 'utf8');
  const all = mutantsOf(original);
  const sample = all
    .map((mutant) => ({ mutant, key: random01() }))
    .sort((a, b) => a.key - b.key)
    .slice(0, perModule)
    .map(({ mutant }) => mutant)
    .sort((a, b) => a.line - b.line);
  if (values.list) {
    for (const m of sample) console.log(`${module}:${m.line}  ${m.from}  ->  ${m.to}`);
    continue;
  }
  restore = () => writeFileSync(file, original);
  let killed = 0;
  const survivors = [];
  for (const mutant of sample) {
    writeFileSync(file, mutant.text);
    const check = spawnSync(process.execPath, ['--check', file]);
    if (check.status !== 0) {
      killed++; // does not even load
      continue;
    }
    let dead = false;
    for (const backend of values.backends.split(',')) {
      const run = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=1', ...tests.map((t) => `dist/test/${t}.test.js`)], {
        cwd: root,
        env: { ...process.env, AIOFS_TEST_BACKEND: backend, AIOFS_DIFF_RUNS: '150' },
        timeout: 300_000,
        stdio: 'ignore',
      });
      if (run.status !== 0) {
        dead = true;
        break;
      }
    }
    if (dead) killed++;
    else survivors.push(mutant);
    process.stdout.write(`${dead ? 'killed  ' : 'SURVIVED'} ${module}:${mutant.line}  ${mutant.from}  ->  ${mutant.to}\n`);
  }
  restore();
  restore = undefined;
  summary.push({ module, mutants: sample.length, of: all.length, killed, survivors });
}
for (const { module, mutants, of, killed, survivors } of summary) {
  console.log(`${module}: ${killed} of ${mutants} mutants killed (${((100 * killed) / Math.max(mutants, 1)).toFixed(0)}%; ${of} possible)`);
  for (const s of survivors) console.log(`  survived ${module}:${s.line}  ${s.from}  ->  ${s.to}`);
}
