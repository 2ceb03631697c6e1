/**
 * A response body moved file -> pipe -> socket inside the kernel (io_uring SPLICE from the file;
 * to the socket through the ring or a non-waiting splice(2)), never through JavaScript memory:
 * what sendfile(2) does for nginx. Used for plain TCP sockets on the uring
 * backend; TLS, HTTP/2 and the other backends send the body through memory (send.ts).
 *
 * In order with node:http: the headers are handed to Node and sent before the first spliced
 * byte, and Node writes nothing to the socket until res.end(), after the last one; a pipelined
 * response waiting for the socket (res.socket not yet its own) is sent through memory. The socket
 * is spliced to through a duplicate of its fd, so that operations already queued never reach
 * another file should Node close the socket meanwhile.
 *
 * The socket is corked (TCP_CORK) from the headers until the first pipe-full of the body (the
 * whole body, up to a megabyte) is on the socket, as nginx does around sendfile: the headers then
 * travel in the body's first segment and every segment but the last is full. Uncorked, the
 * headers leave alone and short segments follow; a Linux receiver acknowledges a short segment at
 * once, measures round trips of microseconds, and keeps its receive window (sized by the bytes it
 * reads per round trip) at a segment or two, so that the body leaves one segment per
 * acknowledgement (docs/benchmarks.md, serve).
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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

function takePipe(): [number, number, number] | number {
  return idlePipes.pop() ?? makePipe(PIPE_SIZE);
}

function releasePipe(pipe: [number, number, number], empty: boolean): void {
  if (empty && idlePipes.length < IDLE_PIPES) {
    idlePipes.push(pipe);
    return;
  }
  closeOwnedFd(pipe[0]);
  closeOwnedFd(pipe[1]);
}

/**
 * Since the process started (tests, diagnostics): bytes spliced to sockets, of them the bytes
 * spliced from the file at once (in memory already: spliceResident), waits for a full socket,
 * bodies that fell back to memory.
 */
export const spliceCounts = { bytes: 0, resident: 0, waits: 0, fallbacks: 0 };

type NodeSocket = Socket & { encrypted?: boolean; _handle?: { fd?: number } | null; _httpMessage?: unknown };

/** The fd of `res`'s socket when the body may be spliced to it, else undefined. */
export function spliceTarget(res: ServerResponse, context: IoContext): number | undefined {
  if (context.backend !== 'uring' || process.platform !== 'linux') return undefined;
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
  const connection = connectionOf(socket, socketFd);
  if (!connection) return { sent: 0, unsupported: true };
  const pipe = takePipe();
  if (typeof pipe === 'number') return { sent: 0, unsupported: true };
  const [pipeIn, pipeOut, capacity] = pipe;
  const sock = connection.fd;
  connection.busy = true;
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
        // which a long body pays 64 times for 64 MiB (docs/benchmarks.md, serve).
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
    connection.busy = false;
    if (connection.closed.aborted) closeOwnedFd(sock);
  }
}

/**
 * What the bodies of one connection share (a keep-alive connection sends many; an AbortController,
 * a listener and a duplicate fd per body cost more than a megabyte's splice): our duplicate of the
 * socket's fd, closed once the socket is closed and no body uses it; and a signal that aborts when
 * the socket closes, which cancels an operation stuck on a client that stopped reading.
 */
interface Connection {
  fd: number;
  closed: AbortSignal;
  /** A body is being spliced (one at a time: a response splices only while it owns the socket). */
  busy: boolean;
}
const connections = new WeakMap<Socket, Connection>();

function connectionOf(socket: Socket, socketFd: number): Connection | undefined {
  const known = connections.get(socket);
  if (known) return known;
  const fd = dupFd(socketFd);
  if (fd < 0) return undefined;
  const controller = new AbortController();
  const connection: Connection = { fd, closed: controller.signal, busy: false };
  connections.set(socket, connection);
  socket.once('close', () => {
    controller.abort();
    if (!connection.busy) closeOwnedFd(fd);
  });
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
