/**
 * node:fs and node:fs/promises as Node made them, for every call aiofs itself makes to Node (the
 * threads backend, the calls aiofs/promises hands to Node, Node's FileHandle class learned from
 * one of its opens). aiofs/register puts aiofs's functions in those modules' place; a call aiofs
 * makes to them afterwards must still reach Node, never aiofs again. Captured when the first copy
 * of aiofs in the process (or worker) loads, before any registration, and shared through the
 * global registry, so that a second copy loaded after one registered finds Node's too.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

interface NodeFs {
  fs: typeof fs;
  fsp: typeof fsp;
}

const slot = Symbol.for('aiofs.node-fs');
const shared = globalThis as typeof globalThis & { [slot]?: NodeFs };
shared[slot] ??= { fs: { ...fs }, fsp: { ...fsp } };

/** node:fs's callback and synchronous API, as Node made it. */
export const nodeFs: typeof fs = shared[slot].fs;
/** node:fs/promises, as Node made it. */
export const nodeFsp: typeof fsp = shared[slot].fsp;
