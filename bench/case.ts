/**
 * What a benchmark case is. A case makes its own data, names its drivers (aiofs on each backend
 * and what Node users have today), which of them are the baselines, and the project's targets.
 * The orchestrator (run.ts) runs every driver in a child process of its own (child.ts), so that
 * no driver warms up, loads or slows another.
 */

/** What the orchestrator hands every case. */
export interface Settings {
  /** A scratch directory on the filesystem being measured, removed after the run. */
  dir: string;
  /** Seconds per driver in time-based cases. */
  seconds: number;
  /** Bytes of the random-read data file. */
  size: number;
  /** Lines of the text file the line-reading case counts. */
  lines: number;
  /** Bytes the sequential-write case writes. */
  writeSize: number;
}

/** One driver's result: `amount` units of the case's measure in `seconds`. */
export interface Measurement {
  amount: number;
  seconds: number;
  /** Operations whose result was wrong (a short read, a miscount): a correct run has none. */
  errors: number;
  /** A figure that is not a rate (a latency): shown instead of amount / seconds. */
  value?: number;
  /** Context for the figure, shown beside it (the bulk throughput beside a latency). */
  note?: string;
}

/** The JavaScript runtimes the drivers run on: Node, or --runtime's Bun or Deno. */
export type Runtime = 'node' | 'bun' | 'deno';

export interface Driver<P> {
  name: string;
  /** The aiofs backend it measures ('auto': the default context); none for baselines. */
  backend?: 'uring' | 'aio' | 'threads' | 'auto';
  /** A short description for the table. */
  label: string;
  /** Extra environment for its child process. */
  env?: Record<string, string>;
  /** Runs only when --drivers names it: a variant that answers one question. */
  optional?: boolean;
  /**
   * The runtimes it runs on (default: all): a driver of another runtime's own API (Bun.serve,
   * Deno.serve) is left out of a run on this one (--runtime), not reported missing.
   */
  runtimes?: readonly Runtime[];
  /**
   * What it needs that an installed aiofs may not have (a peer module, a program), checked by the
   * orchestrator before it runs: a driver missing any is skipped, and the run ends with one line
   * saying how to add them all.
   */
  missing?(): Missing[];
  run(params: P): Promise<Measurement>;
}

/** A module or program a driver needs and did not find. */
export interface Missing {
  /** As the user knows it: 'sirv', 'nginx'. */
  name: string;
  /** The npm packages that provide it (npm install --no-save ...). */
  npm?: string[];
  /** The Debian package that provides it (apt-get install ...). */
  apt?: string;
}

/** A result row: a figure, or why there is none. */
export interface Row {
  driver: string;
  label: string;
  /** Units per second (or the case's figure, for a latency). */
  rate?: number;
  errors?: number;
  note?: string;
  unavailable?: string;
  /** With --rounds: each round's figure (rate is their median). */
  rounds?: number[];
}

export interface Target {
  driver: string;
  baseline: string;
  ratio: number;
}

export interface Case<P = unknown> {
  name: string;
  title: string;
  /** The unit of a rate, e.g. 'IOPS', 'lines/s', 'MiB/s'. */
  unit: string;
  /** Each driver runs for --seconds (rather than once over the data). */
  timed: boolean;
  /** Timed cases: at least this many seconds per driver, whatever --seconds says (a server's load needs them). */
  minSeconds?: number;
  /** Left out of the default run (which must stay under two minutes): runs when named. */
  extended?: boolean;
  /** The figure is a cost (a latency): ratios and targets read baseline / driver. */
  lowerIsBetter?: boolean;
  /** Make (or reuse) the data; returns what each driver is given. Runs in the orchestrator. */
  prepare(settings: Settings): P;
  drivers: readonly Driver<P>[];
  /** Rows measured outside Node, with the same parameters (fio). */
  external?(params: P, settings: Settings): Row[];
  /** Drivers every figure is compared with, when they ran. */
  baselines: readonly string[];
  /**
   * The aiofs row of the case's line in the summary (--markdown); default: the first aiofs
   * driver that is not a baseline.
   */
  headline?: string;
  /**
   * The project's own goals for this case, checked by `aiofs bench --targets`: bookkeeping for
   * whoever works on aiofs, not shown otherwise.
   */
  targets: readonly Target[];
}
