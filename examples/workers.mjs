// Worker threads: each worker reads with aiofs on a context of its own (its own ring), here
// counting the bytes equal to '\n' in its share of the files named, with aiofs/promises' readFile.
// The main thread only hands out the work and adds the results up.
//
//   node examples/workers.mjs WORKERS FILE...
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { readFile } from 'aiofs/promises';

if (isMainThread) {
  const [workers, ...files] = process.argv.slice(2);
  const count = Math.max(1, Math.min(Number(workers) || 1, files.length));
  const shares = Array.from({ length: count }, (_, i) => files.filter((_, j) => j % count === i));
  const results = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: share });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  const total = results.reduce((sum, counts) => sum + counts.reduce((a, b) => a + b, 0), 0);
  console.log(`${total} newlines in ${files.length} files, counted by ${count} workers`);
} else {
  const counts = await Promise.all(
    workerData.map(async (name) => {
      const bytes = await readFile(name);
      let newlines = 0;
      for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) newlines++;
      return newlines;
    }),
  );
  parentPort.postMessage(counts);
}
