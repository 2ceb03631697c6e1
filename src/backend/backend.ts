/**
 * The one interface every backend implements, and the request it carries. The context
 * (src/context.ts) validates arguments, queues, enforces the in-flight cap and settles promises;
 * a backend only moves requests to its kernel interface and reports each result.
 */

export type BackendName = 'uring' | 'aio' | 'threads';

/** Operation codes; the native engines use the same numbers (native/engine.h). */
export const Op = {
  Read: 0,
  Write: 1,
  Readv: 2,
  Writev: 3,
  Fsync: 4,
  Fdatasync: 5,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** The system call named in errors, per operation, as node:fs names them. */
export const syscallOf: Readonly<Record<Op, string>> = ['read', 'write', 'readv', 'writev', 'fsync', 'fdatasync'];

export const enum RequestState {
  Queued,
  Started,
  Done,
}

/** One operation from the moment it is accepted until its promise settles. */
export class Request {
  state = RequestState.Queued;
  /** The backend's handle for a started request (a ring slot, say); -1 before. */
  slot = -1;
  /** Set once an abort was asked for; the result decides whether it won. */
  abortRequested = false;
  resolve!: (result: number) => void;
  reject!: (error: Error) => void;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    readonly op: Op,
    readonly fd: number,
    /** The memory: one view for read/write, a list for readv/writev, null for syncs. */
    readonly data: ArrayBufferView | ArrayBufferView[] | null,
    readonly offset: number | bigint,
    readonly signal: AbortSignal | undefined,
  ) {}
}

/** Receives every result: a byte count (>= 0) or a negative errno. */
export interface CompletionSink {
  complete(request: Request, result: number): void;
}

export interface Backend {
  readonly name: BackendName;
  /** The most requests this backend may have started and not yet completed. */
  readonly capacity: number;
  /**
   * Start `request`. Its result reaches the sink exactly once, and never synchronously inside
   * start(). Returns false when the backend has no room right now: the caller keeps the request
   * queued and offers it again after the next completion.
   */
  start(request: Request): boolean;
  /**
   * Ask for a started request to be cancelled. It still completes through the sink: with
   * -ECANCELED if the cancel won, with its real result if the operation finished first.
   */
  cancel(request: Request): void;
  /** Release everything. Called once, with nothing in flight. */
  close(): void;
}
