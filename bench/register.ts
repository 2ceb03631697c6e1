/**
 * aiofs/register under code nobody here wrote, unchanged: an Express app with express.static and
 * a Fastify app with @fastify/static, serving one file of 4 KiB, 64 KiB or 1 MiB to 64 keep-alive
 * connections (as `bench serve`), each with and without NODE_OPTIONS='--import aiofs/register';
 * and a script that walks a tree of small files with node:fs/promises (readdir with file types,
 * stat and readFile of each file), in a process of its own each time, with and without it.
 */
import fs from 'node:fs';
import nodefs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Case, Driver, Measurement, Settings } from './case.js';
import { BYTES_FROM, dataFile, nodeServer, type ServeParams } from './serve.js';

/** What a driver's process needs to run with aiofs/register preloaded, as a user sets it. */
const registered = { NODE_OPTIONS: `--import ${pathToFileURL(fileURLToPath(new URL('../src/register/index.js', import.meta.url))).href}` };

const apps: Driver<ServeParams>[] = [
  nodeServer('express-static', 'express-static', 'Express 5, express.static'),
  nodeServer('express-static', 'express-static-register', 'the same, --import aiofs/register', undefined, registered),
  nodeServer('fastify-static', 'fastify-static', 'Fastify, @fastify/static'),
  nodeServer('fastify-static', 'fastify-static-register', 'the same, --import aiofs/register', undefined, registered),
];

const sizes: [string, number][] = [
  ['4k', 4 << 10],
  ['64k', 64 << 10],
  ['1m', 1 << 20],
];

export const registerServeCases: Case<ServeParams>[] = sizes.map(([tag, size]) => {
  const at = tag === '1m' ? 1.3 : 1;
  return {
    name: `register-${tag}`,
    title: `aiofs/register under unchanged apps: GET one ${tag.replace('k', ' KiB').replace('m', ' MiB')} file, 64 keep-alive connections`,
    unit: size >= BYTES_FROM ? 'MB/s' : 'req/s',
    timed: true,
    extended: true,
    prepare: (settings: Settings) => ({ ...dataFile(settings, size), size, seconds: settings.seconds }),
    minSeconds: 2,
    drivers: apps,
    baselines: ['express-static', 'fastify-static'],
    headline: 'express-static-register',
    targets: [
      { driver: 'express-static-register', baseline: 'express-static', ratio: at },
      { driver: 'fastify-static-register', baseline: 'fastify-static', ratio: at },
    ],
  };
});

interface TreeParams {
  dir: string;
  files: number;
}

const DIRECTORIES = 200;
const PER_DIRECTORY = 50;

/** 200 directories of 50 files of 1 to 8 KiB: the shape of a docs site or a package's sources. */
function tree(settings: Settings): TreeParams {
  const dir = path.join(settings.dir, 'register-tree');
  if (!fs.existsSync(dir)) {
    for (let d = 0; d < DIRECTORIES; d++) {
      const sub = path.join(dir, `d${d}`);
      fs.mkdirSync(sub, { recursive: true });
      for (let f = 0; f < PER_DIRECTORY; f++) fs.writeFileSync(path.join(sub, `f${f}.txt`), Buffer.alloc(1024 * (1 + ((d + f) % 8)), 97 + (f % 26)));
    }
  }
  return { dir, files: DIRECTORIES * PER_DIRECTORY };
}

/** Walk `dir` as a build tool does, 64 files at a time: every file's stat and contents. */
async function walk(params: TreeParams): Promise<Measurement> {
  const start = performance.now();
  let files = 0;
  let errors = 0;
  const queue: string[] = [];
  for (const entry of await nodefs.readdir(params.dir, { withFileTypes: true })) if (entry.isDirectory()) queue.push(path.join(params.dir, entry.name));
  const worker = async () => {
    for (let sub = queue.shift(); sub !== undefined; sub = queue.shift()) {
      const entries = await nodefs.readdir(sub, { withFileTypes: true });
      await Promise.all(
        entries.map(async (entry) => {
          const file = path.join(sub!, entry.name);
          const [stats, data] = await Promise.all([nodefs.stat(file), nodefs.readFile(file)]);
          if (stats.size !== data.length) errors++;
          files++;
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 2 }, worker));
  return { amount: files, seconds: (performance.now() - start) / 1000, errors: errors + (files === params.files ? 0 : 1) };
}

export const registerTreeCase: Case<TreeParams> = {
  name: 'register-tree',
  title: 'aiofs/register under an unchanged script: walk 10,000 files in 200 directories with node:fs/promises (readdir, stat, readFile)',
  unit: 'files/s',
  timed: false,
  prepare: tree,
  drivers: [
    { name: 'node-tree', label: 'node:fs/promises', run: walk },
    { name: 'node-tree-register', label: 'the same, --import aiofs/register', env: registered, run: walk },
  ],
  baselines: ['node-tree'],
  headline: 'node-tree-register',
  targets: [{ driver: 'node-tree-register', baseline: 'node-tree', ratio: 1.3 }],
};
