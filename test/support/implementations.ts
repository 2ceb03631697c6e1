/**
 * The two sides the parity tests compare. Normally node:fs/promises (and node:fs) as Node made
 * them, against aiofs's. With aiofs/register preloaded (CI runs these tests so once more), Node's
 * own functions as aiofs kept them (src/node-fs.ts), against node:fs/promises and node:fs
 * themselves: what every module of the program now gets.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { nodeFs, nodeFsp } from '../../src/node-fs.js';
import aiofs from '../../src/promises/index.js';
import { registration } from '../../src/register/state.js';

/** Whether aiofs/register is active in this process. */
export const registered = registration()?.active === true;
/** node:fs/promises as Node made it. */
export const nodePromises: typeof fsp = registered ? nodeFsp : fsp;
/** What the tests hold to Node's: aiofs/promises, or (registered) node:fs/promises itself. */
export const aiofsPromises: typeof fsp = registered ? fsp : (aiofs as typeof fsp);
/** node:fs's callback API as Node made it. */
export const nodeCallbacks: typeof fs = registered ? nodeFs : fs;
