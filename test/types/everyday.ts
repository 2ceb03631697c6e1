// Compiled by test/types.test.ts against each @types/node release (not part of the build): what
// a TypeScript user of node:fs/promises writes must compile unchanged against aiofs/promises.
import type * as node from 'node:fs/promises';
import * as aiofs from 'aiofs/promises';
import aiofsDefault from 'aiofs/promises';

// Every function aiofs takes over, assignable to node:fs/promises' own.
export const assignable: {
  [K in 'open' | 'readFile' | 'writeFile' | 'appendFile' | 'stat' | 'lstat' | 'rename' | 'unlink' | 'link' | 'symlink' | 'rmdir' | 'mkdir' | 'rm' | 'copyFile' | 'chmod' | 'truncate']: (typeof node)[K];
} = aiofs;
// The whole module, as a default import and as a namespace.
export const asModule: typeof node = aiofsDefault;
export const reexported: Pick<typeof node, 'readdir' | 'access' | 'constants' | 'mkdtemp' | 'realpath'> = aiofs;

export async function everyday(path: string): Promise<void> {
  const text: string = await aiofs.readFile(path, 'utf8');
  const bytes: Buffer = await aiofs.readFile(path);
  const either: string | Buffer = await aiofs.readFile(path, { encoding: text.length > 0 ? 'utf8' : null });
  const options: string = await aiofs.readFile(path, { encoding: 'latin1', signal: AbortSignal.timeout(1000) });
  await aiofs.writeFile(path, bytes.length + either.length + options.length > 0 ? text : 'x', { mode: 0o644, flag: 'w' });
  await aiofs.appendFile(path, new Uint8Array(4));
  const made: string | undefined = await aiofs.mkdir(`${path}.d`, { recursive: true });
  await aiofs.mkdir(`${made}/x`);
  const size: number = (await aiofs.stat(path)).size;
  const big: bigint = (await aiofs.lstat(path, { bigint: true })).size;
  await aiofs.copyFile(path, `${path}.copy`, aiofs.constants.COPYFILE_EXCL);
  await aiofs.rm(`${path}.d`, { recursive: true, force: true });
  const names: string[] = await aiofs.readdir('.');

  const handle: node.FileHandle = await aiofs.open(path, 'r+');
  const same: aiofs.FileHandle = handle;
  const { bytesRead, buffer } = await same.read(Buffer.alloc(16), 0, 16, size + Number(big) + names.length);
  const withOptions = await handle.read({ buffer: new Uint8Array(8), position: null });
  const n: number = bytesRead + buffer.length + withOptions.bytesRead;
  await handle.write(Buffer.from('ab'), 0, 2, n);
  await handle.write('text', null, 'utf8');
  await handle.writev([Buffer.from('a'), Buffer.from('b')]);
  const all: string = await handle.readFile('utf8');
  for await (const line of handle.readLines()) void (line satisfies string);
  const stream = handle.createReadStream({ start: all.length });
  stream.destroy();
  const isHandle: boolean = handle instanceof aiofs.FileHandle;
  if (isHandle) await handle.stat();
  await handle.close();
}
