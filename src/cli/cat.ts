/**
 * `aiofs cat FILE...`: each file to standard output in turn, read ahead in 256 KiB chunks. A file
 * that cannot be read is reported as `aiofs: FILE: message` and the others still go out (exit
 * status 1 at the end), as cat does; a reader that goes away (EPIPE) ends the command quietly
 * with status 141, as cat's death by SIGPIPE does.
 */
import { once } from 'node:events';
import { AIOFile, getDefaultContext, Reader } from '../index.js';
import { adoptFd } from '../file/aiofile.js';
import { dupFd, loadNative, seekFd } from '../native.js';

const [SEEK_SET, SEEK_CUR] = [0, 1] as const;
import { CliError, describeError } from './errors.js';

const CHUNK = 1 << 18;

export const catUsage = `Usage: aiofs cat FILE...

Write each FILE to standard output, one after another ('-': standard input).
`;

/** Write `chunk` to stdout, waiting when its buffer is full; rejects on EPIPE and other errors. */
async function emit(chunk: Buffer): Promise<void> {
  if (process.stdout.write(chunk)) return;
  // once() with a signal: the listener for the event that did not come is removed (one per wait would pile up).
  const done = new AbortController();
  try {
    await Promise.race([once(process.stdout, 'drain', { signal: done.signal }), once(process.stdout, 'error', { signal: done.signal }).then(([error]) => Promise.reject(error))]);
  } finally {
    done.abort();
  }
}

/**
 * Standard input (cat's '-'), whatever it is: a duplicate of fd 0 the file owns and closes (a
 * socket, which /dev/stdin cannot be opened on, included); /dev/stdin where no addon duplicates it.
 */
async function standardInput(): Promise<AIOFile<Buffer>> {
  const context = getDefaultContext();
  let fd: number;
  try {
    loadNative(); // whichever backend runs: the addon duplicates the fd
    fd = dupFd(0);
  } catch {
    fd = -1;
  }
  if (fd < 0) return AIOFile.open('/dev/stdin', 'rb', { context });
  return AIOFile[adoptFd](fd, '-', 'rb', context, false);
}

export async function cat(files: string[]): Promise<number> {
  if (files.length === 0) throw new CliError('cat needs at least one FILE', catUsage);
  let pipeGone = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') pipeGone = true;
  });
  let status = 0;
  for (const name of files) {
    try {
      await using file = name === '-' ? await standardInput() : await AIOFile.open(name, 'rb');
      // Standard input is read from where its offset stands (a file a shell gave, read in part
      // already), and left where reading stopped, as cat's read(2) leaves it.
      const start = name === '-' ? Math.max(0, seekFd(file.fd, 0, SEEK_CUR)) : 0;
      const reader = new Reader(file, { chunkSize: CHUNK, offset: start });
      try {
        for await (const chunk of reader) {
          await emit(chunk);
          if (pipeGone) return 141;
        }
      } finally {
        if (name === '-' && start >= 0) seekFd(file.fd, reader.offset, SEEK_SET);
      }
    } catch (error) {
      if (pipeGone || (error as NodeJS.ErrnoException).code === 'EPIPE') return 141;
      process.stderr.write(`aiofs: ${name}: ${describeError(error)}\n`);
      status = 1;
    }
  }
  return status;
}
