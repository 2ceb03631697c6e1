/**
 * aiofs/register: every route to node:fs/promises in the process, and node:fs's callback API for
 * files, run on aiofs, for code the user did not write too (send, serve-static, @fastify/static,
 * bundlers' file systems...):
 *
 *   node --import aiofs/register app.js          # or --require aiofs/register
 *   NODE_OPTIONS='--import aiofs/register' npm start   # also every worker and child process
 *
 * node:fs/promises' functions that aiofs/promises implements are replaced in its module object,
 * which `require('fs').promises`, `require('fs/promises')` and `import` (default and named, kept
 * in step by syncBuiltinESMExports) all are; and node:fs's open, close, read, write, readv,
 * writev, fstat, stat, lstat, readFile, writeFile, fsync and fdatasync, which fs.createReadStream
 * and fs.createWriteStream call too. The synchronous API stays Node's (an fd is an fd: either
 * API takes what the other opened). AIOFS_REGISTER=0 leaves node:fs as it is.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { warnOnce } from '../errors.js';
import promises from '../promises/index.js';
import { callbackApi } from './callbacks.js';
import { recordRegistration, type Registration } from './state.js';

export { registration, type Registration } from './state.js';

/** The node:fs/promises functions aiofs/promises implements itself. */
const promiseNames = ['open', 'readFile', 'writeFile', 'appendFile', 'stat', 'lstat', 'rename', 'unlink', 'link', 'symlink', 'rmdir', 'mkdir', 'rm', 'copyFile', 'chmod', 'truncate'] as const;

/**
 * Put `replacement` in place of `target[name]`, carrying over what Node keeps on its function
 * under symbols (util.promisify's knowledge that fs.read resolves with { bytesRead, buffer }).
 */
function replace(target: object, name: string, replacement: (...args: never[]) => unknown): void {
  const original = (target as Record<string, unknown>)[name] as object;
  for (const symbol of Object.getOwnPropertySymbols(original)) {
    Object.defineProperty(replacement, symbol, Object.getOwnPropertyDescriptor(original, symbol)!);
  }
  Object.defineProperty(replacement, 'name', { value: name });
  (target as Record<string, unknown>)[name] = replacement;
}

/** Put aiofs in node:fs's place, unless AIOFS_REGISTER=0: what was done. Called once per thread (recordRegistration). */
function register(): Registration {
  if (process.env.AIOFS_REGISTER === '0') {
    return { active: false, reason: 'AIOFS_REGISTER=0', promises: [], callbacks: [] };
  }
  // Empty is unset, as for other variables a shell may leave defined and empty.
  if (process.env.AIOFS_REGISTER && process.env.AIOFS_REGISTER !== '1') {
    warnOnce('AIOFS_BAD_REGISTER', `AIOFS_REGISTER=${process.env.AIOFS_REGISTER} is neither 0 nor 1: aiofs/register goes on as with 1`);
  }
  for (const name of promiseNames) replace(fsp, name, promises[name] as (...args: never[]) => unknown);
  const callbacks = callbackApi();
  for (const [name, implementation] of Object.entries(callbacks)) replace(fs, name, implementation as (...args: never[]) => unknown);
  syncBuiltinESMExports();
  return { active: true, promises: [...promiseNames], callbacks: Object.keys(callbacks) };
}

// Loaded twice (--import and --require, or two copies of aiofs): the first registration stands.
recordRegistration(register);
