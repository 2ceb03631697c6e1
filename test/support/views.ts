/** Views whose own getters misbehave, for the tests of what the library reads of a view. */

/** A byteLength getter that answers truthfully once (the checks), then throws 'asked twice'. */
export class ThrowingAfterFirst extends Uint8Array {
  #asked = 0;
  override get byteLength(): number {
    if (this.#asked++ === 0) return super.byteLength;
    throw new Error('asked twice');
  }
}

/** A byteLength getter that always throws 'a getter of its own'. */
export class ThrowingByteLength extends Uint8Array {
  override get byteLength(): number {
    throw new Error('a getter of its own');
  }
}
