/**
 * io_uring operations run with the credentials of the thread that created the ring
 * (CVE-2024-22017): a ring created before a privilege drop would keep the old privileges. We
 * learn of every change made through Node's API by wrapping process.setuid, seteuid, setgid,
 * setegid, setgroups and initgroups; each call bumps a generation number, and a ring created
 * under an older generation is retired (src/backend/engine.ts).
 *
 * Changes made behind Node's back (a native addon calling setuid(2)) are not seen; nor are changes
 * made on the main thread seen by rings created in worker threads. docs/backends.md says so.
 */

let generation = 0;
let installed = false;

const setters = ['setuid', 'seteuid', 'setgid', 'setegid', 'setgroups', 'initgroups'] as const;

function install(): void {
  installed = true;
  const proc = process as unknown as Record<string, unknown>;
  for (const name of setters) {
    const original = proc[name];
    if (typeof original !== 'function') continue; // Windows, worker threads
    proc[name] = function (this: unknown, ...args: unknown[]) {
      try {
        return original.apply(process, args);
      } finally {
        generation++;
      }
    };
  }
}

/** Changes whenever the process's user or group ids may have changed through Node's API. */
export function credentialsGeneration(): number {
  if (!installed) install();
  return generation;
}
