/**
 * What aiofs/register did in this thread, kept in the global registry (shared by every copy of
 * aiofs the process loads): read by `aiofs doctor` without registering anything itself.
 */

/** What aiofs/register did in this thread: replaced node:fs's functions, or why not. */
export interface Registration {
  active: boolean;
  /** Why not, when not active. */
  reason?: string;
  /** The node:fs/promises functions now aiofs's. */
  promises: string[];
  /** The node:fs callback functions now aiofs's. */
  callbacks: string[];
}

const slot = Symbol.for('aiofs.register');
type Holder = typeof globalThis & { [slot]?: Registration };

/** What aiofs/register did in this thread (undefined: it was not loaded here). */
export function registration(): Registration | undefined {
  const found = (globalThis as Holder)[slot];
  return found && { ...found, promises: [...found.promises], callbacks: [...found.callbacks] };
}

/** Record what aiofs/register did; the first record stands (a second load registers nothing). */
export function recordRegistration(make: () => Registration): void {
  (globalThis as Holder)[slot] ??= make();
}
