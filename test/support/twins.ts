/**
 * The differential model of aiofs/promises against node:fs/promises: a step is plain data (an
 * operation and recipes for its arguments), run once on each of two twin directories, one
 * through each module, each with fresh arguments made from the same recipes; every outcome is
 * reduced to what must agree (values, error class, code, errno, syscall, message, path, dest,
 * with each twin's root written as <root>), and the trees are compared byte for byte at the end.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type nodefs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { nodeAbortsOnRead } from '../../src/promises/file-handle.js';

export type Fs = typeof nodefs;
type Handle = Awaited<ReturnType<Fs['open']>>;

/** A value, made anew for each twin: a buffer of some kind, a path under the twin's root... */
export type Recipe =
  | { kind: 'value'; value: unknown }
  | { kind: 'path'; name: string; form: 'string' | 'buffer' | 'url' }
  | { kind: 'bytes'; type: 'Buffer' | 'Uint8Array' | 'Float64Array' | 'DataView' | 'detached'; size: number; fill: number }
  | { kind: 'buffers'; count: number; size: number }
  | { kind: 'options'; fields: Record<string, Recipe> }
  | { kind: 'iterable'; chunks: string[] }
  | { kind: 'signal'; aborted: boolean };

export type Step =
  | { op: 'call'; name: string; args: Recipe[] }
  | { op: 'handle'; slot: number; name: string; args: Recipe[] }
  | { op: 'closeRacing'; slot: number; name: string; args: Recipe[] };

/** One twin: its root and the handles its opens made, in order. */
export interface Twin {
  name: string;
  fs: Fs;
  root: string;
  handles: Handle[];
}

const value = (v: unknown): Recipe => ({ kind: 'value', value: v });

/** Names under a twin's root, existing or not, with the spellings that trip path handling. */
const names = ['a', 'b', 'c', 'd', 'd/e', 'd/f', 'l', 'ld', 'dangling', 'a/', 'd/', 'ld/', 'l/', 'missing/x', 'd/../a', '.', 'd/e/'];

/** The tree each twin starts from: files, a directory, links to a file, a directory and nothing. */
export function makeTree(root: string): void {
  fs.writeFileSync(path.join(root, 'a'), 'hello world 0123456789\n');
  fs.writeFileSync(path.join(root, 'b'), '');
  fs.mkdirSync(path.join(root, 'd'));
  fs.writeFileSync(path.join(root, 'd', 'e'), 'e'.repeat(100));
  fs.chmodSync(path.join(root, 'd', 'e'), 0o600);
  fs.symlinkSync('a', path.join(root, 'l'));
  fs.symlinkSync('d', path.join(root, 'ld'));
  fs.symlinkSync('missing', path.join(root, 'dangling'));
}

const pathRecipe: fc.Arbitrary<Recipe> = fc.record({
  kind: fc.constant('path' as const),
  name: fc.oneof({ arbitrary: fc.constantFrom('a', 'b', 'n', 'd/e', 'd'), weight: 3 }, { arbitrary: fc.constantFrom(...names), weight: 2 }),
  form: fc.constantFrom('string' as const, 'string' as const, 'string' as const, 'buffer' as const, 'url' as const),
});

/** Values of the wrong type or out of range, which releases of Node read in their own ways. */
const odd = fc.constantFrom<unknown>(undefined, null, -2, -1, 1.5, NaN, Infinity, -0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 - 1, 1n, -1n, 2n ** 63n, '1', true, {}, [], 'utf8');
const small = fc.integer({ min: 0, max: 40 });
/** Mostly what an everyday caller passes, sometimes what a careless one does. */
const mostly = (everyday: fc.Arbitrary<unknown>, weight = 8) => fc.oneof({ arbitrary: everyday, weight }, { arbitrary: odd, weight: 1 });
const position = mostly(fc.oneof(fc.constantFrom<unknown>(undefined, null, -1), small));
const offsetOrLength = mostly(fc.oneof(fc.constantFrom<unknown>(undefined, null), fc.integer({ min: 0, max: 20 })));
const everydayFlags = fc.constantFrom<unknown>('r', 'r+', 'rs', 'sr', 'rs+', 'sr+', 'w', 'wx', 'xw', 'w+', 'wx+', 'xw+', 'a', 'ax', 'xa', 'as', 'sa', 'a+', 'ax+', 'xa+', 'as+', 'sa+');
const flags = fc.oneof(
  { arbitrary: everydayFlags, weight: 8 },
  { arbitrary: fc.constantFrom<unknown>(undefined, null, 0, 1, 2, 0o102, 0o1101, 0o2002, 0o302, 0o200000, 'junk', 'R', 1.5, 2 ** 31, -1, -0, true), weight: 2 },
);
const modes = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(undefined, 0o644, 0o600, 0o755, '644'), weight: 6 },
  { arbitrary: fc.constantFrom<unknown>(null, 0o777, 0o4755, 0o1777, '0755', '8', 'rw', -1, 1.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 0o70000, true, -0), weight: 1 },
);
const encodings = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(undefined, 'utf8'), weight: 6 },
  { arbitrary: fc.constantFrom<unknown>(null, 'utf-8', 'latin1', 'hex', 'base64', 'UTF8', 'buffer', 'nope', 5), weight: 1 },
);

const bytes: fc.Arbitrary<Recipe> = fc.record({
  kind: fc.constant('bytes' as const),
  type: fc.oneof(
    { arbitrary: fc.constantFrom('Buffer' as const, 'Uint8Array' as const), weight: 8 },
    { arbitrary: fc.constantFrom('Float64Array' as const, 'DataView' as const, 'detached' as const), weight: 1 },
  ),
  size: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 24 }), weight: 8 }, { arbitrary: fc.constant(0), weight: 1 }),
  fill: fc.integer({ min: 0, max: 255 }),
});
const buffers: fc.Arbitrary<Recipe> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('buffers' as const), count: fc.integer({ min: 0, max: 4 }), size: fc.integer({ min: 0, max: 6 }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('buffers' as const), count: fc.constantFrom(1024, 1025, 1500), size: fc.constantFrom(1, 3) }), weight: 1 },
);
const text = fc.oneof(fc.constantFrom('', 'x', 'TAIL', 'hello\n', 'é€😀', 'ab'.repeat(40)), fc.string({ maxLength: 12 }));
const data: fc.Arbitrary<Recipe> = fc.oneof(
  { arbitrary: text.map(value), weight: 4 },
  { arbitrary: bytes, weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('iterable' as const), chunks: fc.array(fc.constantFrom('ab', 'cd', '', 'é'), { maxLength: 3 }) }), weight: 1 },
  { arbitrary: odd.map(value), weight: 1 },
);
const signal: fc.Arbitrary<Recipe> = fc.record({ kind: fc.constant('signal' as const), aborted: fc.boolean() });

/** An options object of `keys`, any subset, each with its generator; sometimes a key nobody knows. */
function options(fields: Record<string, fc.Arbitrary<Recipe>>): fc.Arbitrary<Recipe> {
  const keys = Object.keys(fields);
  return fc.oneof(
    { arbitrary: fc.constantFrom<unknown>(undefined, null).map(value), weight: 4 },
    {
      arbitrary: fc
        .tuple(fc.subarray(keys), fc.tuple(...keys.map((key) => fields[key])), fc.boolean())
        .map(([chosen, recipes, extra]) => {
          const picked: Record<string, Recipe> = {};
          for (const key of chosen) picked[key] = recipes[keys.indexOf(key)];
          if (extra && chosen.length === 0) picked.unknownOption = value(1);
          return { kind: 'options' as const, fields: picked };
        }),
      weight: 6,
    },
    { arbitrary: odd.map(value), weight: 1 },
  );
}

const fileOptions = (write: boolean) =>
  fc.oneof(
    encodings.map(value),
    options({ encoding: encodings.map(value), flag: flags.map(value), signal, ...(write ? { mode: modes.map(value), flush: fc.constantFrom<unknown>(true, false, 1).map(value) } : {}) }),
  );

/** The module's calls, with arguments as an everyday caller and a careless one would pass them. */
const calls: fc.Arbitrary<Step>[] = [
  fc.tuple(pathRecipe, flags.map(value), modes.map(value)).map((args) => ({ op: 'call' as const, name: 'open', args })),
  fc.tuple(pathRecipe, fileOptions(false)).map((args) => ({ op: 'call' as const, name: 'readFile', args })),
  fc.tuple(pathRecipe, data, fileOptions(true)).map((args) => ({ op: 'call' as const, name: 'writeFile', args })),
  fc.tuple(pathRecipe, data, fileOptions(true)).map((args) => ({ op: 'call' as const, name: 'appendFile', args })),
  fc.tuple(pathRecipe, options({ bigint: fc.constantFrom<unknown>(true, false, 1, undefined).map(value) })).map((args) => ({ op: 'call' as const, name: 'stat', args })),
  fc.tuple(pathRecipe, options({ bigint: fc.constantFrom<unknown>(true, false).map(value) })).map((args) => ({ op: 'call' as const, name: 'lstat', args })),
  fc.tuple(pathRecipe, pathRecipe).map((args) => ({ op: 'call' as const, name: 'rename', args })),
  fc.tuple(pathRecipe).map((args) => ({ op: 'call' as const, name: 'unlink', args })),
  fc.tuple(pathRecipe, pathRecipe).map((args) => ({ op: 'call' as const, name: 'link', args })),
  fc
    .tuple(fc.constantFrom('a', 'd', 'missing', '../a', 'd/e', '').map(value), pathRecipe, fc.constantFrom<unknown>(undefined, null, 'file', 'dir', 'junction', 'junk', 5).map(value))
    .map((args) => ({ op: 'call' as const, name: 'symlink', args })),
  fc.tuple(pathRecipe, options({ recursive: fc.constantFrom<unknown>(false, true).map(value) })).map((args) => ({ op: 'call' as const, name: 'rmdir', args })),
  fc
    .tuple(pathRecipe, fc.oneof(modes.map(value), options({ recursive: fc.constantFrom<unknown>(true, false, 1).map(value), mode: modes.map(value) })))
    .map((args) => ({ op: 'call' as const, name: 'mkdir', args })),
  fc
    .tuple(
      pathRecipe,
      options({
        recursive: fc.constantFrom<unknown>(true, false, 'x').map(value),
        force: fc.constantFrom<unknown>(true, false, 1).map(value),
        maxRetries: fc.constantFrom<unknown>(0, 1, 'x', -1).map(value),
        retryDelay: fc.constantFrom<unknown>(0, 1, 'x').map(value),
      }),
    )
    .map((args) => ({ op: 'call' as const, name: 'rm', args })),
  fc
    .tuple(pathRecipe, pathRecipe, fc.constantFrom<unknown>(undefined, 0, 1, 2, 3, 4, 7, 8, -1, 1.5, 'x', null).map(value))
    .map((args) => ({ op: 'call' as const, name: 'copyFile', args })),
  fc.tuple(pathRecipe, fc.oneof(small, odd).map(value)).map((args) => ({ op: 'call' as const, name: 'truncate', args })),
  fc.tuple(pathRecipe, modes.map(value)).map((args) => ({ op: 'call' as const, name: 'chmod', args })),
  fc.tuple(pathRecipe).map((args) => ({ op: 'call' as const, name: 'readdir', args })),
];

const slot = fc.integer({ min: 0, max: 7 });
const readArgs: fc.Arbitrary<Recipe[]> = fc.oneof(
  fc.tuple(bytes, offsetOrLength.map(value), offsetOrLength.map(value), position.map(value)),
  fc.tuple(bytes, options({ offset: offsetOrLength.map(value), length: offsetOrLength.map(value), position: position.map(value) })),
  fc.tuple(options({ buffer: bytes, offset: offsetOrLength.map(value), length: offsetOrLength.map(value), position: position.map(value) })),
  fc.tuple(bytes),
  fc.constant([] as Recipe[]),
);
const writeArgs: fc.Arbitrary<Recipe[]> = fc.oneof(
  fc.tuple(bytes, offsetOrLength.map(value), offsetOrLength.map(value), position.map(value)),
  fc.tuple(bytes, options({ offset: offsetOrLength.map(value), length: offsetOrLength.map(value), position: position.map(value) })),
  fc.tuple(text.map(value), position.map(value), encodings.map(value)),
  fc.tuple(bytes),
  fc.tuple(odd.map(value)),
);
const handleCalls: fc.Arbitrary<{ name: string; args: Recipe[] }>[] = [
  readArgs.map((args) => ({ name: 'read', args })),
  readArgs.map((args) => ({ name: 'read', args })),
  writeArgs.map((args) => ({ name: 'write', args })),
  writeArgs.map((args) => ({ name: 'write', args })),
  fc.tuple(buffers, position.map(value)).map((args) => ({ name: 'readv', args })),
  fc.tuple(buffers, position.map(value)).map((args) => ({ name: 'writev', args })),
  fc.tuple(options({ bigint: fc.constantFrom<unknown>(true, false, 1).map(value) })).map((args) => ({ name: 'stat', args })),
  fc.tuple(fc.oneof(small, odd).map(value)).map((args) => ({ name: 'truncate', args })),
  fc.constant({ name: 'sync', args: [] as Recipe[] }),
  fc.constant({ name: 'datasync', args: [] as Recipe[] }),
  fc.tuple(fileOptions(false)).map((args) => ({ name: 'readFile', args })),
  fc.tuple(data, fileOptions(true)).map((args) => ({ name: 'writeFile', args })),
  fc.tuple(data, fileOptions(true)).map((args) => ({ name: 'appendFile', args })),
  fc.tuple(modes.map(value)).map((args) => ({ name: 'chmod', args })),
  fc.constant({ name: 'close', args: [] as Recipe[] }),
];

/** Every sequence starts with handles to work on: a file read and written, one appended to, one read only, one made new. */
export const openings: Step[] = [
  ['a', 'r+'],
  ['b', 'a+'],
  ['d/e', 'r'],
  ['n', 'w+'],
].map(([name, flag]) => ({ op: 'call', name: 'open', args: [{ kind: 'path', name, form: 'string' }, value(flag)] }));

export const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.oneof(...calls), weight: 4 },
  { arbitrary: fc.tuple(slot, fc.oneof(...handleCalls)).map(([s, c]) => ({ op: 'handle' as const, slot: s, ...c })), weight: 5 },
  { arbitrary: fc.tuple(slot, fc.oneof(...handleCalls.slice(0, 6))).map(([s, c]) => ({ op: 'closeRacing' as const, slot: s, ...c })), weight: 1 },
);

/** A mode node:fs takes and its binding aborts the process on (2^31 to 2^32 - 1): never given to Node. */
function abortsNode(v: unknown): boolean {
  const n = typeof v === 'string' && /^[0-7]+$/.test(v) ? Number.parseInt(v, 8) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 ** 31 && n < 2 ** 32;
}

/** Where a step carries a mode or flags that node:fs reads (open, mkdir, chmod, the options of readFile and writeFile). */
function modeAndFlags(s: Step): { mode?: Recipe; flags?: Recipe } {
  const { name, args } = s;
  if (name === 'open' && s.op === 'call') return { flags: args[1], mode: args[2] };
  if (name === 'chmod') return { mode: s.op === 'call' ? args[1] : args[0] };
  if (name === 'mkdir') return { mode: args[1]?.kind === 'options' ? args[1].fields.mode : args[1] };
  if ((name === 'writeFile' || name === 'appendFile' || name === 'readFile') && s.op === 'call') {
    const options = s.op === 'call' ? args[name === 'readFile' ? 1 : 2] : args[name === 'readFile' ? 0 : 1];
    return options?.kind === 'options' ? { mode: options.fields.mode, flags: options.fields.flag } : {};
  }
  return {};
}

/** Whether a step carries a mode node:fs would take and then abort on (2^31 to 2^32 - 1). */
export function carriesAbortingMode(s: Step): boolean {
  const { mode } = modeAndFlags(s);
  return mode?.kind === 'value' && abortsNode(mode.value);
}

/** The running Node's major version. */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * The step as node:fs may be given it, where aiofs reads an argument as a later Node reads it
 * rather than abort the process as the running one may: -0 (a mode, flags, a write's length:
 * the binding's int32 check fails on it; aiofs reads 0), and a FileHandle read's length that is not an integer
 * where Node before 24 would take it to its binding and abort (1.5 or 'x' past its checks; Node 24
 * and aiofs read `length | 0`). Any other length goes to node:fs as it is.
 */
export function asNodeSurvives(s: Step): Step {
  const negativeZero = (r: Recipe | undefined) => r?.kind === 'value' && Object.is(r.value, -0);
  const map = (r: Recipe, f: (r: Recipe) => Recipe): Recipe => {
    const mapped = f(r);
    return mapped.kind === 'options' ? { kind: 'options', fields: Object.fromEntries(Object.entries(mapped.fields).map(([k, v]) => [k, map(v, f)])) } : mapped;
  };
  // -0 where Node's binding reads a number (a mode, flags, a transfer's offset, length and
  // position) is 0 to aiofs; Node's binding may abort on it.
  const { mode, flags } = modeAndFlags(s);
  const transfer = s.op !== 'call' && ['read', 'write', 'readv', 'writev'].includes(s.name);
  const numeric = new Set<Recipe | undefined>([mode, flags]);
  if (transfer) {
    for (const [i, r] of s.args.entries()) {
      if (i === 0 || i > 3) continue;
      numeric.add(r);
      if (r.kind === 'options') for (const key of ['offset', 'length', 'position']) numeric.add(r.fields[key]);
    }
  }
  let step = { ...s, args: s.args.map((r) => map(r, (x) => (numeric.has(x) && negativeZero(x) ? { kind: 'value', value: 0 } : x))) };
  if (NODE_MAJOR < 24 && s.op !== 'call' && s.name === 'read') {
    const [first, second] = step.args;
    const isOptions = (r: Recipe | undefined) => r?.kind === 'options' || (r?.kind === 'value' && r.value !== null && typeof r.value === 'object');
    const fieldsOf = (r: Recipe | undefined): (Recipe | undefined)[] | undefined =>
      r?.kind === 'options' ? [r.fields.buffer, r.fields.offset, r.fields.length, r.fields.position] : undefined;
    const [bufferRecipe, offset, length, position] =
      first?.kind === 'bytes'
        ? isOptions(second)
          ? [first, ...(fieldsOf(second)?.slice(1) ?? [])]
          : [first, step.args[1], step.args[2], step.args[3]]
        : isOptions(first)
          ? (fieldsOf(first) ?? [])
          : [];
    const valueOf = (r: Recipe | undefined) => (r === undefined ? undefined : r.kind === 'value' ? r.value : r);
    const view = bufferRecipe === undefined ? { byteLength: 16384 } : bufferRecipe.kind === 'bytes' ? (make(bufferRecipe, undefined as never) as ArrayBufferView) : undefined;
    if (length?.kind === 'value' && view !== undefined && nodeAbortsOnRead(view, valueOf(offset), length.value, valueOf(position))) {
      const coerced = (length.value as number) | 0;
      step = { ...step, args: step.args.map((r) => map(r, (x) => (x === length ? { kind: 'value', value: coerced } : x))) };
    }
  }
  return step;
}

/** The values a recipe stands for, made for `twin`. */
export function make(recipe: Recipe, twin: Twin): unknown {
  switch (recipe.kind) {
    case 'value':
      return recipe.value;
    case 'path': {
      const full = `${twin.root}/${recipe.name}`;
      if (recipe.form === 'buffer') return Buffer.from(full);
      if (recipe.form === 'url') return new URL(`file://${full.split('/').map(encodeURIComponent).join('/')}`);
      return full;
    }
    case 'bytes': {
      if (recipe.type === 'detached') {
        const view = new Uint8Array(recipe.size);
        structuredClone(view.buffer, { transfer: [view.buffer] });
        return view;
      }
      const memory = new ArrayBuffer(recipe.type === 'Float64Array' ? recipe.size * 8 : recipe.size);
      new Uint8Array(memory).fill(recipe.fill);
      if (recipe.type === 'Buffer') return Buffer.from(memory);
      if (recipe.type === 'Uint8Array') return new Uint8Array(memory);
      if (recipe.type === 'Float64Array') return new Float64Array(memory);
      return new DataView(memory);
    }
    case 'buffers':
      return Array.from({ length: recipe.count }, (_, i) => Buffer.alloc(recipe.size, 97 + (i % 26)));
    case 'options':
      return Object.fromEntries(Object.entries(recipe.fields).map(([key, field]) => [key, make(field, twin)]));
    case 'iterable':
      return (function* () {
        yield* recipe.chunks;
      })();
    case 'signal':
      return recipe.aborted ? AbortSignal.abort() : new AbortController().signal;
  }
}

/** What must agree of a value: plain data, with each twin's root written as <root>. */
export function reduce(result: unknown, twin: Twin, args: unknown[]): unknown {
  const seen = new Set<unknown>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(twin.root).join('<root>');
    if (typeof v === 'bigint') return `${v}n`;
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return '<cycle>';
    seen.add(v);
    const index = args.indexOf(v);
    if (index >= 0) return { sameAsArgument: index, content: snapshot(v) };
    if (v instanceof fs.Stats || isBigIntStats(v)) return stats(v as fs.Stats);
    if (ArrayBuffer.isView(v)) return { [v.constructor.name]: snapshot(v) };
    if (v instanceof Error) return errorOf(v, twin);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof (v as { fd?: unknown }).fd === 'number' && typeof (v as { close?: unknown }).close === 'function') return 'a FileHandle';
    return Object.fromEntries(Object.entries(v).map(([key, field]) => [key, walk(field)]));
  };
  return walk(result);
}

function isBigIntStats(v: object): boolean {
  return typeof (v as { ino?: unknown }).ino === 'bigint' && typeof (v as { isFile?: unknown }).isFile === 'function';
}

function snapshot(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snapshot);
  if (!ArrayBuffer.isView(v)) return v;
  try {
    const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return bytes.length <= 256 ? bytes.toString('hex') : `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;
  } catch {
    return 'detached';
  }
}

function stats(s: fs.Stats): unknown {
  return {
    type: s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'other',
    mode: String(s.mode),
    size: String(s.size),
    nlink: String(s.nlink),
    uid: String(s.uid),
    bigint: typeof s.ino === 'bigint',
  };
}

export function errorOf(error: Error, twin: Twin): unknown {
  const e = error as Error & Record<string, unknown>;
  const rooted = (v: unknown) => (typeof v === 'string' ? v.split(twin.root).join('<root>') : v);
  const base = error instanceof RangeError ? 'RangeError' : error instanceof TypeError ? 'TypeError' : error instanceof SyntaxError ? 'SyntaxError' : 'Error';
  return { error: base, name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, path: rooted(e.path), dest: rooted(e.dest), message: rooted(e.message) };
}

/** Every entry under `root`: its type, mode, size, content or link target, sorted by name. */
export function treeOf(root: string): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  if (!fs.existsSync(root)) return { gone: true }; // removed through a name that resolves to it ('root/.' as a URL is 'root/')
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      const name = path.relative(root, full);
      const s = fs.lstatSync(full);
      if (s.isSymbolicLink()) tree[name] = { link: fs.readlinkSync(full) };
      else if (s.isDirectory()) {
        tree[name] = { dir: (s.mode & 0o7777).toString(8) };
        walk(full);
      } else tree[name] = { file: (s.mode & 0o7777).toString(8), size: s.size, content: s.size <= 1 << 20 ? snapshot(fs.readFileSync(full)) : 'large', nlink: s.nlink };
    }
  };
  walk(root);
  return tree;
}

let pairs = 0;

/**
 * Make the twins' roots under `parent`, each holding makeTree's tree. Their names differ only
 * at the end, so that a message that cuts a long path short (Node's "Received type string
 * ('/tmp/...')") cuts both alike.
 */
export function twinRoots(parent: string): [string, string] {
  const pair = String(pairs++).padStart(6, '0');
  const made = [path.join(parent, `twins-${pair}-node`), path.join(parent, `twins-${pair}-ours`)] as [string, string];
  for (const root of made) {
    fs.mkdirSync(root);
    makeTree(root);
  }
  return made;
}

/** Remove a twin's root, whatever the run left in it (modes included). */
export function removeRoot(root: string): void {
  if (!fs.existsSync(root)) return;
  try {
    fs.rmSync(root, { recursive: true, force: true });
  } catch {
    execFileSync('chmod', ['-R', 'u+rwx', root]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}
