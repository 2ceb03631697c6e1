/*
 * The JavaScript side of syscall-cost.c (docs/benchmarks.md, "One read at a time"): what one
 * system call costs a loop of JavaScript, without and with a promise awaited per call as a loop
 * of `await ctx.read()` has. `process.ppid` makes a getppid(2) at every read; `process.pid` is a
 * number Node keeps. Four loops, taking turns for ROUNDS rounds, median of each, in ns per call.
 * Where each system call empties the TLB, the promise and its `await` cost more after one than
 * without: the last line says so.
 *
 *   node bench/reference/syscall-cost.mjs [ROUNDS]
 *
 * `aiofs doctor` and `aiofs bench` print the first difference ("system call from JavaScript").
 * Not run by npm scripts.
 */
const CALLS = 200_000;
const rounds = Number(process.argv[2] ?? 5);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: node syscall-cost.mjs [ROUNDS >= 1]');
  process.exit(2);
}

let sink = 0;
const loops = {
  pid() {
    for (let i = 0; i < CALLS; i++) sink += process.pid;
  },
  ppid() {
    for (let i = 0; i < CALLS; i++) sink += process.ppid;
  },
  async 'await pid'() {
    for (let i = 0; i < CALLS; i++) sink += await Promise.resolve(process.pid);
  },
  async 'await ppid'() {
    for (let i = 0; i < CALLS; i++) sink += await Promise.resolve(process.ppid);
  },
};

const times = Object.fromEntries(Object.keys(loops).map((name) => [name, []]));
for (const run of Object.values(loops)) await run(); // warm up
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(loops)) {
    const start = process.hrtime.bigint();
    await run();
    times[name].push(Number(process.hrtime.bigint() - start) / CALLS);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const ns = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
for (const [name, value] of Object.entries(ns)) console.log(`${name.padEnd(10)} ${value.toFixed(0)} ns`);
console.log(`a system call: ${(ns.ppid - ns.pid).toFixed(0)} ns`);
console.log(
  `a promise and its await: ${(ns['await pid'] - ns.pid).toFixed(0)} ns between calls that stay in user space, ` +
    `${(ns['await ppid'] - ns.ppid).toFixed(0)} ns after a system call`,
);
if (sink === -1) console.log(sink); // read, so that no loop is optimised away
