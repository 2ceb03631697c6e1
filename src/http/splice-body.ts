/**
 * A response body moved file -> pipe -> socket inside the kernel (io_uring SPLICE from the file;
 * to the socket through the ring or a non-waiting splice(2)), never through JavaScript memory:
 * what sendfile(2) does for nginx. Used for plain TCP sockets on the uring
 * backend; TLS, HTTP/2 and the other backends send the body through memory (send.ts).
 *
 * In order with node:http: the headers are handed to Node and sent before the first spliced
 * byte, and Node writes nothing to the socket until res.end(), after the last one; a pipelined
 * response waiting for the socket (res.socket not yet its own) is sent through memory. The socket
 * is spliced to through a duplicate of its fd made for the body, so that operations already
 * queued never reach another file should Node close the socket meanwhile. The pipes of all
 * bodies together hold at most a quarter of the user's pipe budget (see budget()); past that a
 * body goes through memory, so that other processes of the same user keep full-size pipes.
 *
 * The socket is corked (TCP_CORK) from the headers until the first pipe-full of the body (the
 * whole body, up to a megabyte) is on the socket, as nginx does around sendfile: the headers then
 * travel in the body's first segment and every segment but the last is full. Uncorked, the
 * headers leave alone and short segments follow; a Linux receiver acknowledges a short segment at
 * once, measures round trips of microseconds, and keeps its receive window (sized by the bytes it
 * reads per round trip) at a segment or two, so that the body leaves one segment per
 * acknowledgement (docs/benchmarks.md, "Static files over HTTP").
 */
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { type IoContext, pollFd, spliceFd } from '../context.js';
import { systemError } from '../errors.js';
import { closeOwnedFd, corkFd, drainPipe, dupFd, makePipe, spliceResident } from '../native.js';

const { EAGAIN, EOPNOTSUPP, EINVAL, ENOSYS, EPERM } = constants.errno;
/** poll(2)'s POLLOUT; POLLERR and POLLHUP are reported whether asked for or not. */
const POLLOUT = 0x4;
/** Whether this kernel answers cachestat(2) (spliceResident); false after it refused once. */
let residentSplices = true;

/** The pipe between file and socket: as much as one splice may move (the kernel may grant less). */
const PIPE_SIZE = 1 << 20;

/**
 * Empty pipes kept for the next bodies (at most IDLE_PIPES): a pipe costs five system calls to
 * make, size and close. Only a pipe whose every byte reached the socket comes back here.
 */
const idlePipes: [number, number, number][] = [];
const IDLE_PIPES = 64;

/**
 * The bytes of pipe the process may hold, in use and idle: a quarter of the user's budget. The
 * kernel lets an unprivileged user's pipes hold pipe-user-pages-soft pages (16,384 by default,
 * 64 MiB) and past that gives every new pipe of that user, in this process and in any other, two
 * pages only. A body that would take more is sent through memory. A process with CAP_SYS_RESOURCE
 * or CAP_SYS_ADMIN (root) is not counted so, and neither are the other processes of its user:
 * no bound then. Read once; a soft limit of 0 (none) is taken as the default.
 */
let pipeBudget: number | undefined;
/** The capacity of the pipes the process holds now (in use and idle). */
let pipeBytes = 0;

function budget(): number {
  if (pipeBudget === undefined) {
    let pages = 16384;
    let exempt = false;
    try {
      pages = Number.parseInt(readFileSync('/proc/sys/fs/pipe-user-pages-soft', 'utf8'), 10) || 16384;
      const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      exempt = effective !== undefined && (BigInt(`0x${effective}`) & (CAP_SYS_RESOURCE | CAP_SYS_ADMIN)) !== 0n;
    } catch {
      // no procfs: the kernel's default, counted
    }
    pipeBudget = exempt ? Infinity : (pages * 4096) / 4;
  }
  return pipeBudget;
}

const CAP_SYS_ADMIN = 1n << 21n;
const CAP_SYS_RESOURCE = 1n << 24n;

/** An empty pipe for a body, or -errno: -EAGAIN when the budget is spent (the body goes through memory). */
function takePipe(): [number, number, number] | number {
  const idle = idlePipes.pop();
  if (idle) return idle;
  if (pipeBytes + PIPE_SIZE > budget()) return -EAGAIN;
  const pipe = makePipe(PIPE_SIZE);
  if (typeof pipe !== 'number') pipeBytes += pipe[2];
  return pipe;
}

function releasePipe(pipe: [number, number, number], empty: boolean): void {
  if (empty && idlePipes.length < IDLE_PIPES) {
    idlePipes.push(pipe);
    return;
  }
  closeOwnedFd(pipe[0]);
  closeOwnedFd(pipe[1]);
  pipeBytes -= pipe[2];
}

/** What the process holds for spliced bodies now (tests, diagnostics): pipes in use and idle, and their bytes. */
export function pipeHoldings(): { idle: number; bytes: number; budget: number } {
  return { idle: idlePipes.length, bytes: pipeBytes, budget: budget() };
}

/**
 * Since the process started (tests, diagnostics): bytes spliced to sockets, of them the bytes
 * spliced from the file at once (in memory already: spliceResident), waits for a full socket,
 * bodies that fell back to memory.
 */
export const spliceCounts = { bytes: 0, resident: 0, waits: 0, fallbacks: 0 };

type NodeSocket = Socket & { encrypted?: boolean; _handle?: { fd?: number } | null; _httpMessage?: unknown };

/**
 * The fd of `res`'s socket when the body may be spliced to it, else undefined. Never when
 * something wraps the response (the compression middleware replaces res.write and res.end with
 * its own, which encode what they are given): a spliced body would skip them, and leave raw bytes
 * under their headers.
 */
export function spliceTarget(res: ServerResponse, context: IoContext): number | undefined {
  if (context.backend !== 'uring' || process.platform !== 'linux') return undefined;
  if (res.write !== ServerResponse.prototype.write || res.end !== ServerResponse.prototype.end) return undefined;
  const socket = res.socket as NodeSocket | null;
  // Only while this response owns the socket (a pipelined one waits), and never under TLS.
  if (!socket || socket.encrypted || socket._httpMessage !== res || socket.destroyed) return undefined;
  const fd = socket._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * `length` bytes of `fd` from `position` to `res`'s socket (`socketFd`, from spliceTarget), after
 * the headers res holds. Resolves with the bytes that reached the socket: all of them, fewer when
 * the client went away, `signal` aborted (res is destroyed then) or the file ended early, or when
 * the kernel cannot splice here (EOPNOTSUPP, EINVAL), in which case the caller sends the rest
 * through memory. Ends nothing: the caller ends or destroys the response.
 */
export async function spliceBody(
  res: ServerResponse,
  context: IoContext,
  fd: number,
  socketFd: number,
  position: number,
  length: number,
  signal: AbortSignal | undefined,
): Promise<{ sent: number; unsupported: boolean }> {
  const socket = res.socket as NodeSocket;
  const connection = connectionOf(socket);
  const pipe = takePipe();
  if (typeof pipe === 'number') return { sent: 0, unsupported: true };
  // Our own duplicate of the socket's fd for this body: should Node close the socket meanwhile,
  // no operation of ours can reach another file given its number.
  const sock = dupFd(socketFd);
  if (sock < 0) {
    releasePipe(pipe, true);
    return { sent: 0, unsupported: true };
  }
  const [pipeIn, pipeOut, capacity] = pipe;
  // Corked for the headers and the first pipe-full (the module's comment says why); a socket that refuses still works.
  let corked = corkFd(sock, true) === 0;
  const linked = signal && either(signal, connection.closed);
  const stop = linked ? linked.signal : connection.closed;
  let sent = 0;
  /** Bytes in the pipe that the socket has not taken yet. */
  let inPipe = 0;
  try {
    res.flushHeaders();
    if (socket.writableLength > 0 && !(await drained(socket, stop))) return { sent: 0, unsupported: false };
    while (sent < length && !stop.aborted) {
      // File to pipe: at most what the pipe holds, so that this never waits for the socket.
      // After the first pipe-full (see the socket's side below), a range whose pages are all in
      // memory is spliced at once: io_uring runs every SPLICE in a kernel worker, even one that
      // cannot wait, as its own READ would run a page-cache hit inline. Anything else, and every
      // failure, goes through the ring, whose failures come back as negative errnos.
      const want = Math.min(capacity, length - sent);
      let filled = sent > 0 && residentSplices ? spliceResident(fd, position + sent, pipeOut, want) : -EAGAIN;
      if (filled > 0) spliceCounts.resident += filled;
      if (filled < 0) {
        if (filled === -ENOSYS || filled === -EPERM) residentSplices = false; // no cachestat here: stop asking
        filled = await context[spliceFd](fd, position + sent, pipeOut, want, stop);
      }
      if (filled < 0) throw systemError(filled, 'splice');
      if (filled === 0) break; // the file ended early: the caller sees sent < length
      inPipe = filled;
      while (inPipe > 0) {
        // Pipe to socket. The first pipe-full (all of a body up to a megabyte) goes through the
        // ring, whose kernel worker does the TCP work beside the event loop: with many such
        // bodies the loop's thread is the limit. The pipe-fulls after it are moved here, at once,
        // as a socket write is: each trip through a kernel worker costs a thread switch each way,
        // which a long body pays 64 times for 64 MiB (docs/benchmarks.md, "Static files over HTTP").
        const moved = sent === 0 ? await context[spliceFd](pipeIn, null, sock, inPipe, stop) : drainPipe(pipeIn, sock, inPipe);
        if (moved === -EAGAIN) {
          // The socket's buffer is full: wait until it takes more (or fails, which the next splice reports).
          spliceCounts.waits++;
          await context[pollFd](sock, POLLOUT, stop);
          continue;
        }
        if (moved < 0) throw systemError(moved, 'splice');
        // A pipe we still write to never reads as ended: 0 would repeat forever, so it is an error.
        if (moved === 0) throw new Error('the socket took none of the body');
        inPipe -= moved;
        sent += moved;
        spliceCounts.bytes += moved;
      }
      // The headers and the first pipe-full are out: a longer body flows as the window allows.
      if (corked) corked = corkFd(sock, false) !== 0;
    }
    return { sent, unsupported: false };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).errno;
    // What the pipe held and the socket did not take is dropped with the pipe; the caller goes on from `sent`.
    if (errno === -EOPNOTSUPP || errno === -EINVAL) {
      spliceCounts.fallbacks++;
      return { sent, unsupported: true };
    }
    if (stop.aborted || (error as Error).name === 'AbortError') return { sent, unsupported: false };
    // The client went away (EPIPE, ECONNRESET...): nothing more can reach it.
    res.destroy(error as Error);
    return { sent, unsupported: false };
  } finally {
    linked?.dispose();
    // Clearing the cork sends the body's last partial segment now.
    if (corked && !connection.closed.aborted) corkFd(sock, false);
    releasePipe(pipe, inPipe === 0);
    closeOwnedFd(sock);
  }
}

/**
 * What the bodies of one connection share (a keep-alive connection sends many; an AbortController
 * and a listener per body cost more than a megabyte's splice): a signal that aborts when the
 * socket closes, which cancels an operation stuck on a client that stopped reading.
 */
interface Connection {
  closed: AbortSignal;
}
const connections = new WeakMap<Socket, Connection>();

function connectionOf(socket: Socket): Connection {
  const known = connections.get(socket);
  if (known) return known;
  const controller = new AbortController();
  const connection: Connection = { closed: controller.signal };
  connections.set(socket, connection);
  socket.once('close', () => controller.abort());
  return connection;
}

/** A signal that aborts with the first of `a` and `b` until disposed (AbortSignal.any, which Node 20.0 lacks). */
function either(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      a.removeEventListener('abort', abort);
      b.removeEventListener('abort', abort);
    },
  };
}

/**
 * Wait for everything node:http queued on `socket` to reach the kernel; false if it closed first
 * or `signal` aborted.
 */
function drained(socket: Socket, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      socket.removeListener('drain', onDrain);
      socket.removeListener('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    const onAbort = done(false);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
