/**
 * Priority classes: each operation belongs to one (`{ class: 'interactive' }`; 'default' when it
 * names none), each class has shares, and when requests exceed the in-flight cap they leave the
 * queue by start-time fair queuing over the classes' shares, in the spirit of Seastar's
 * fair_queue: a class's requests are spaced in virtual time by cost / shares, so a class with ten
 * times the shares gets about ten times the dispatches while both are busy, and a bulk scan cannot
 * starve interactive reads. Each class also keeps counters and a window of recent latencies.
 */
import type { Request } from '../backend/backend.js';
import { invalidArgType, invalidArgValue } from '../errors.js';
import { validateInteger, validateKnownKeys, validateObject } from '../validate.js';
import { FifoQueue, type RequestQueue } from './queue.js';

/** How createContext() describes a class. */
export interface ClassOptions {
  /** Relative weight under contention (1 to 1,000,000; 'default' has 100 unless given). */
  shares: number;
}

export const DEFAULT_CLASS = 'default';
const DEFAULT_SHARES = 100;
const WINDOW = 1024;
/** A request costs one unit plus one per 64 KiB it moves: a 4 KiB read is about 1, 256 KiB about 5. */
const BYTES_PER_UNIT = 65536;

/**
 * One operation in this many is timed, chosen when it is accepted (the first, the ninth, ...), so
 * the sample is uniform whatever the latencies: timing every operation would cost a cached read
 * awaited one at a time a few percent (docs/benchmarks.md, "Measurements the code relies on").
 */
export const LATENCY_SAMPLE_EVERY = 8;

/** Latencies of the last WINDOW sampled completions, in milliseconds. */
export class LatencyWindow {
  readonly #samples = new Float64Array(WINDOW);
  #count = 0;
  /** Operations to let pass before the next timed one (a countdown, so it never grows). */
  #untilSample = 0;

  /** Called once per accepted operation: whether to time this one. */
  sampleNext(): boolean {
    if (this.#untilSample > 0) {
      this.#untilSample--;
      return false;
    }
    this.#untilSample = LATENCY_SAMPLE_EVERY - 1;
    return true;
  }

  add(milliseconds: number): void {
    this.#samples[this.#count % WINDOW] = milliseconds;
    this.#count++;
  }

  /** The `p` quantile (0 to 1) of the window; 0 when empty. Sorts a copy: for stats(), not the hot path. */
  percentile(p: number): number {
    const n = Math.min(this.#count, WINDOW);
    if (n === 0) return 0;
    const sorted = this.#samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.ceil(p * n) - 1)];
  }

  get size(): number {
    return Math.min(this.#count, WINDOW);
  }
}

export class PriorityClass {
  queued = 0;
  inFlight = 0;
  completed = 0;
  readonly latency = new LatencyWindow();

  constructor(
    readonly name: string,
    readonly shares: number,
  ) {}
}

/** The classes of createContext({ classes }), 'default' first (index 0). */
export function parseClasses(value: unknown): PriorityClass[] {
  const checked = validateObject(value, 'options.classes') ?? {};
  const classes = [new PriorityClass(DEFAULT_CLASS, DEFAULT_SHARES)];
  for (const [name, options] of Object.entries(checked)) {
    const where = `options.classes.${name}`;
    if (name.length === 0) throw invalidArgValue('options.classes', value, 'has a class with an empty name');
    const described = validateObject(options, where);
    if (described === undefined) throw invalidArgType(where, ['object'], options);
    validateKnownKeys(described, new Set(['shares']), where);
    const shares = validateInteger(described.shares, `${where}.shares`, 1, 1_000_000);
    if (name === DEFAULT_CLASS) classes[0] = new PriorityClass(name, shares);
    else classes.push(new PriorityClass(name, shares));
  }
  return classes;
}

/** Start-time fair queuing over the classes; within a class, first in first out. */
export class FairQueue implements RequestQueue<Request> {
  readonly #queues: FifoQueue<Request>[];
  readonly #lastFinish: number[];
  readonly #shares: number[];
  #virtualTime = 0;
  #length = 0;

  constructor(classes: readonly PriorityClass[]) {
    this.#queues = classes.map(() => new FifoQueue<Request>());
    this.#lastFinish = classes.map(() => 0);
    this.#shares = classes.map((c) => c.shares);
  }

  get length(): number {
    return this.#length;
  }

  push(request: Request): void {
    const c = request.priorityClass;
    const start = Math.max(this.#virtualTime, this.#lastFinish[c]);
    request.tag = start;
    this.#lastFinish[c] = start + (1 + request.byteLength() / BYTES_PER_UNIT) / this.#shares[c];
    this.#queues[c].push(request);
    this.#length++;
  }

  peek(): Request | undefined {
    const c = this.#next();
    return c < 0 ? undefined : this.#queues[c].peek();
  }

  shift(): Request | undefined {
    const c = this.#next();
    if (c < 0) return undefined;
    const request = this.#queues[c].shift()!;
    this.#virtualTime = request.tag;
    this.#length--;
    return request;
  }

  /** The class whose head started earliest in virtual time; -1 when all are empty. */
  #next(): number {
    let best = -1;
    let bestTag = Infinity;
    for (let c = 0; c < this.#queues.length; c++) {
      const head = this.#queues[c].peek();
      if (head !== undefined && head.tag < bestTag) {
        best = c;
        bestTag = head.tag;
      }
    }
    return best;
  }
}
