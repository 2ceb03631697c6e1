/** Assertions on the errors aiofs raises. */
import assert from 'node:assert/strict';

/** For assert.rejects/throws: an instance of `type` whose `code` is `code`. */
export function expectCode(code: string, type: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor = Error) {
  return (error: unknown) => {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${error}`);
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  };
}

/** The standard class an error is an instance of (Node's own errors subclass these privately). */
function baseClass(error: unknown): string {
  for (const type of [RangeError, TypeError, SyntaxError, Error]) if (error instanceof type) return type.name;
  return typeof error;
}

/**
 * `ours` and `theirs` (node:fs doing the same) end the same way: equal results, or errors of the
 * same class with the same message, code, errno, syscall, path and dest.
 */
export async function assertSameOutcome(ours: Promise<unknown>, theirs: Promise<unknown>, what = ''): Promise<unknown> {
  const [a, b] = await Promise.allSettled([ours, theirs]);
  if (b.status === 'fulfilled') {
    assert.equal(a.status, 'fulfilled', `${what}: aiofs failed where node:fs did not: ${(a as PromiseRejectedResult).reason}`);
    assert.deepStrictEqual((a as PromiseFulfilledResult<unknown>).value, b.value, what);
    return b.value;
  }
  assert.equal(a.status, 'rejected', `${what}: aiofs succeeded where node:fs failed with ${b.reason}`);
  const mine = (a as PromiseRejectedResult).reason as Record<string, unknown>;
  const node = b.reason as Record<string, unknown>;
  for (const field of ['message', 'code', 'errno', 'syscall', 'path', 'dest', 'name'] as const) {
    assert.equal(mine[field], node[field], `${what}: ${field}: ${mine.message} vs ${node.message}`);
  }
  assert.equal(baseClass(mine), baseClass(node), `${what}: error class`);
  return undefined;
}
