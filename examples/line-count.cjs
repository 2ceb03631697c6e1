// CommonJS: require() of aiofs and aiofs/promises. Counts the lines of each file named, all of
// them at once, with LineReader, which decodes UTF-8 a chunk at a time; and writes a summary
// with aiofs/promises' writeFile, node:fs/promises' own signature.
//
//   node examples/line-count.cjs SUMMARY FILE...
const { AIOFile, LineReader } = require('aiofs');
const { writeFile } = require('aiofs/promises');

async function countLines(name) {
  const file = await AIOFile.open(name, 'r');
  try {
    let lines = 0;
    for await (const batch of new LineReader(file).batches()) lines += batch.length;
    return lines;
  } finally {
    await file.close();
  }
}

async function main() {
  const [summary, ...names] = process.argv.slice(2);
  if (!summary || names.length === 0) throw new Error('usage: node examples/line-count.cjs SUMMARY FILE...');
  const counts = await Promise.all(names.map(countLines));
  const text = names.map((name, i) => `${counts[i]}\t${name}\n`).join('');
  await writeFile(summary, text);
  process.stdout.write(text);
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
