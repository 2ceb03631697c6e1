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
