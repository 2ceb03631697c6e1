/** How the command reports what went wrong: usage mistakes (exit 2) and I/O errors (exit 1). */

/** Wrong usage: the message and the usage of the command, exit status 2. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/**
 * An error's message for `aiofs: PATH: message`: a system error without the path its message
 * ends with (the line names it already), anything else as it is.
 */
export function describeError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.message !== 'string') return String(error);
  if (e.path && e.message.endsWith(` '${e.path}'`)) return e.message.slice(0, -(e.path.length + 3));
  return e.message;
}
