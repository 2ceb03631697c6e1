// Plain JavaScript, runnable by Node 20 and 22 as it is: no `await using` (a SyntaxError there),
// so every file is closed in a finally. The SHA-256 of each file named, read with a Reader: 64 KiB
// chunks, four read ahead, each read issued before the one before it is hashed.
//
//   node examples/checksum.mjs FILE...
import { createHash } from 'node:crypto';
import { AIOFile, Reader } from 'aiofs';

async function sha256(name) {
  const file = await AIOFile.open(name, 'rb');
  try {
    const hash = createHash('sha256');
    for await (const chunk of new Reader(file, { chunkSize: 1 << 16, readAhead: 4 })) hash.update(chunk);
    return hash.digest('hex');
  } finally {
    await file.close();
  }
}

for (const name of process.argv.slice(2)) {
  try {
    console.log(`${await sha256(name)}  ${name}`);
  } catch (error) {
    // aiofs's errors are Node's: code, errno, syscall, path.
    console.error(`checksum: ${error.path ?? name}: ${error.code ?? error.message}`);
    process.exitCode = 1;
  }
}
