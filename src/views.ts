/**
 * The memory of an ArrayBufferView as the kernel sees it, read through the intrinsic getters
 * rather than the view's own properties. A subclass (or an own property) may answer `byteLength`
 * differently each time, or throw; the library reads these again after validation, in completion
 * handling and on the thread pool, where an exception would lose other requests' results and a
 * length larger than the memory would make node:fs abort the process. The native side reads the
 * real memory itself, and these agree with it. A typed array of any realm answers; a DataView's
 * getters throw once its buffer is detached, which reads here as no bytes.
 */

type Getter<T> = (this: unknown) => T;

function getter<T>(prototype: object, name: PropertyKey): Getter<T> {
  return Object.getOwnPropertyDescriptor(prototype, name)!.get! as Getter<T>;
}

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
/** A string for a typed array of any realm, else undefined (a DataView included); never throws. */
const typedArrayTag = getter<string | undefined>(typedArrayPrototype, Symbol.toStringTag);
const typedArrayLength = getter<number>(typedArrayPrototype, 'byteLength');
const typedArrayOffset = getter<number>(typedArrayPrototype, 'byteOffset');
const typedArrayBuffer = getter<ArrayBufferLike>(typedArrayPrototype, 'buffer');
const dataViewLength = getter<number>(DataView.prototype, 'byteLength');
const dataViewOffset = getter<number>(DataView.prototype, 'byteOffset');
const dataViewBuffer = getter<ArrayBufferLike>(DataView.prototype, 'buffer');

/** Whether `value` is a typed array, of this realm or another (a DataView is not). */
export function isTypedArray(value: unknown): value is Exclude<ArrayBufferView, DataView> {
  return typedArrayTag.call(value) !== undefined;
}

/** Whether a view's memory is still there: it has bytes, or it never had any (an empty view is not detached). */
export function hasMemory(view: ArrayBufferView): boolean {
  if (byteLengthOf(view) !== 0) return true;
  try {
    new Uint8Array(view.buffer); // throws only on a detached buffer (of any realm; a shared one never is)
    return true;
  } catch {
    return false;
  }
}

/** The bytes of a view's memory; 0 once detached. */
export function byteLengthOf(view: ArrayBufferView): number {
  if (isTypedArray(view)) return typedArrayLength.call(view);
  try {
    return dataViewLength.call(view);
  } catch {
    return 0; // detached
  }
}

/**
 * A Uint8Array over the memory of `view` from its byte `start` to its end (empty past it or once
 * detached): what is left of a transfer that stopped short.
 */
export function bytesFrom(view: ArrayBufferView, start: number): Uint8Array {
  try {
    const typed = isTypedArray(view);
    const length = typed ? typedArrayLength.call(view) : dataViewLength.call(view);
    if (start >= length) return new Uint8Array(0);
    const offset = typed ? typedArrayOffset.call(view) : dataViewOffset.call(view);
    const buffer = typed ? typedArrayBuffer.call(view) : dataViewBuffer.call(view);
    return new Uint8Array(buffer, offset + start, length - start);
  } catch {
    return new Uint8Array(0); // detached
  }
}

/**
 * What is left of a vectored transfer of `views` that stopped after `done` bytes: the view that
 * count ended in, from there, and the views after it (empty ones dropped).
 */
export function bytesAfter(views: readonly ArrayBufferView[], done: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = done;
  for (const view of views) {
    const length = byteLengthOf(view);
    if (skip >= length) {
      skip -= length;
      continue;
    }
    rest.push(bytesFrom(view, skip));
    skip = 0;
  }
  return rest;
}

/**
 * A Uint8Array over `count` bytes of the memory of `view` from its byte `start`, or undefined
 * when they are not all there (a view whose own byteLength claimed more than it has, or a
 * detached one). Never throws.
 */
export function bytesWithin(view: ArrayBufferView, start: number, count: number): Uint8Array | undefined {
  try {
    const typed = isTypedArray(view);
    const length = typed ? typedArrayLength.call(view) : dataViewLength.call(view);
    if (start < 0 || count < 0 || start + count > length) return undefined;
    const offset = typed ? typedArrayOffset.call(view) : dataViewOffset.call(view);
    const buffer = typed ? typedArrayBuffer.call(view) : dataViewBuffer.call(view);
    return new Uint8Array(buffer, offset + start, count);
  } catch {
    return undefined; // detached
  }
}

/**
 * The view's byteLength as its own property says (what Node's checks read), or NaN if reading
 * it throws: a comparison with NaN fails, and the caller's general path reads it again where a
 * throw becomes its rejection.
 */
export function ownByteLength(view: ArrayBufferView): number {
  try {
    return view.byteLength;
  } catch {
    return NaN;
  }
}
