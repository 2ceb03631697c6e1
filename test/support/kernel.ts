/** What the running kernel offers that some tests need, asked once, with the reason when it does not. */
import fs from 'node:fs';
import { constants } from 'node:os';
import { closeOwnedFd, makePipe, spliceResident } from '../../src/native.js';
import { scratchPath } from './files.js';

let cachestat: string | false | undefined;

/** Why spliceResident cannot work here (no addon pipe, or cachestat(2), Linux 6.5, missing), or false when it can. */
export function noCachestat(): string | false {
  if (cachestat !== undefined) return cachestat;
  const pipe = makePipe(1 << 16);
  if (typeof pipe === 'number') return (cachestat = `no pipe from the addon (${pipe})`);
  const file = scratchPath('cachestat');
  fs.writeFileSync(file, 'x');
  const fd = fs.openSync(file, 'r');
  try {
    cachestat = spliceResident(fd, 0, pipe[1], 1) === -constants.errno.ENOSYS ? 'the kernel has no cachestat(2) (Linux 6.5)' : false;
  } finally {
    fs.closeSync(fd);
    closeOwnedFd(pipe[0]);
    closeOwnedFd(pipe[1]);
  }
  return cachestat;
}
