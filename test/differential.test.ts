/**
 * aiofs/promises against node:fs/promises on random sequences of operations (fast-check): each
 * sequence runs on twin directories, one through each module, and every step must end alike
 * (the same value, or an error of the same class with the same code, errno, syscall, message,
 * path and dest) and the trees must match byte for byte at the end. The steps open with every
 * flag; read, write, readv and writev at odd positions and with odd offsets and lengths; truncate,
 * rename, link, symlink, copyFile, rm, mkdir, rmdir, stat, chmod, readFile and writeFile of paths
 * and handles, and close handles, some with an operation in flight; with argument values of every
 * type Node reads its own way. The one difference allowed: a mode node:fs would take and then
 * abort the process on, which aiofs refuses with ERR_OUT_OF_RANGE (it is never given to Node).
 *
 * With aiofs/register preloaded, Node's own functions run against node:fs/promises itself (see
 * support/implementations.ts). AIOFS_DIFF_RUNS sets the number of sequences per backend (400 in npm test; npm run fuzz runs
 * more); AIOFS_DIFF_SEED replays a failing run's seed.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { after, before, it } from 'node:test';
import { replaceDefaultContext } from '../src/create-context.js';
import { createContext, type IoContext } from '../src/index.js';
import { forEachBackend } from './support/backends.js';
import { aiofsPromises, nodePromises } from './support/implementations.js';
import { scratchDir } from './support/files.js';
import { asNodeSurvives, carriesAbortingMode, errorOf, openings, type Fs, make, reduce, removeRoot, type Step, step, treeOf, type Twin, twinRoots } from './support/twins.js';

const runs = Number(process.env.AIOFS_DIFF_RUNS ?? 400);
const seed = process.env.AIOFS_DIFF_SEED === undefined ? undefined : Number(process.env.AIOFS_DIFF_SEED);
const timeout = 1_800_000;

type Outcome = { threw: unknown } | { ok: unknown } | { rejected: unknown } | { settled: unknown[] } | 'no handle';

/** Run `s` on `twin`: how it ended, reduced to what must agree. */
async function run(s: Step, twin: Twin): Promise<Outcome> {
  const args = s.args.map((recipe) => make(recipe, twin));
  let target: Record<string, (...a: unknown[]) => Promise<unknown>>;
  if (s.op === 'call') target = twin.fs as unknown as typeof target;
  else {
    if (twin.handles.length === 0) return 'no handle';
    target = twin.handles[s.slot % twin.handles.length] as unknown as typeof target;
  }
  let pending: Promise<unknown>;
  try {
    pending = target[s.name](...args);
  } catch (error) {
    return { threw: errorOf(error as Error, twin) };
  }
  if (s.op === 'closeRacing') {
    const closing = (target as unknown as { close(): Promise<void> }).close();
    const settled = await Promise.allSettled([pending, closing]);
    return { settled: settled.map((o) => (o.status === 'fulfilled' ? { ok: reduce(o.value, twin, args) } : { rejected: errorOf(o.reason as Error, twin) })) };
  }
  try {
    const result = await pending;
    if (s.op === 'call' && s.name === 'open') twin.handles.push(result as Twin['handles'][number]);
    if (s.op === 'call' && s.name === 'readdir') (result as string[]).sort();
    return { ok: reduce(result, twin, args) };
  } catch (error) {
    return { rejected: errorOf(error as Error, twin) };
  }
}

/** A step as a line of the failure message. */
function describe(s: Step): string {
  return JSON.stringify(s, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? '<undefined>' : Number.isNaN(v) ? '<NaN>' : v));
}

forEachBackend('aiofs/promises against node:fs/promises, random sequences', (backend) => {
  let context: IoContext;
  before(() => {
    context = createContext({ backend });
    replaceDefaultContext(context);
  });
  after(async () => {
    replaceDefaultContext(undefined);
    await context.close();
  });

  it(`every step ends alike and the trees match (${runs} sequences)`, { timeout }, async (t) => {
    /** How the steps ended on node:fs, per call: the test's own measure of what it reached. */
    const tally = new Map<string, { ok: number; rejected: number; other: number }>();
    const count = (s: Step, outcome: Outcome) => {
      const key = `${s.op === 'call' ? '' : 'handle.'}${s.name}${s.op === 'closeRacing' ? ' racing close' : ''}`;
      const entry = tally.get(key) ?? { ok: 0, rejected: 0, other: 0 };
      if (typeof outcome === 'object' && 'ok' in outcome) entry.ok++;
      else if (typeof outcome === 'object' && 'rejected' in outcome) entry.rejected++;
      else entry.other++;
      tally.set(key, entry);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 24 }), async (steps) => {
        const [nodeRoot, oursRoot] = twinRoots(scratchDir());
        const twins: [Twin, Twin] = [
          { name: 'node', fs: nodePromises, root: nodeRoot, handles: [] },
          { name: 'aiofs', fs: aiofsPromises, root: oursRoot, handles: [] },
        ];
        try {
          for (const [i, s] of [...openings, ...steps].entries()) {
            if (carriesAbortingMode(s)) {
              // node:fs would abort the process once it reached its binding: aiofs refuses, with
              // ERR_OUT_OF_RANGE or with what Node checks before the mode, and nothing changes.
              const ours = await run(s, twins[1]);
              const refused = (ours as { rejected?: { code?: string } }).rejected;
              if (ours !== 'no handle') assert.match(String(refused?.code), /^(ERR_OUT_OF_RANGE|ABORT_ERR|ERR_INVALID_ARG_TYPE|ERR_INVALID_ARG_VALUE|EBADF)$/, `step ${i}: ${describe(s)}: ${JSON.stringify(ours)}`);
              continue;
            }
            if (process.env.AIOFS_DIFF_TRACE) process.stderr.write(`${describe(s)}\n`);
            const theirs = await run(asNodeSurvives(s), twins[0]);
            const ours = await run(s, twins[1]);
            count(s, theirs);
            assert.deepStrictEqual(ours, theirs, `step ${i} of ${steps.length}: ${describe(s)}`);
          }
          assert.deepStrictEqual(treeOf(oursRoot), treeOf(nodeRoot), 'the trees after the steps');
        } finally {
          for (const twin of twins) for (const handle of twin.handles) await handle.close().catch(() => {});
          removeRoot(nodeRoot);
          removeRoot(oursRoot);
        }
      }),
      { numRuns: runs, seed },
    );
    const lines = [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([key, { ok, rejected, other }]) => `${key}: ${ok} resolved, ${rejected} rejected${other ? `, ${other} other` : ''}`);
    t.diagnostic(`steps on node:fs, per call: ${lines.join('; ')}`);
  });
});
