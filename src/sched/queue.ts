/**
 * Where requests wait when the backend is at its in-flight cap. One interface, so that a fair
 * queue over priority classes can replace the FIFO without the context changing. Items that
 * are abandoned while queued (aborted) stay in place and are skipped by the consumer.
 */
export interface RequestQueue<T> {
  readonly length: number;
  push(item: T): void;
  /** The next item to dispatch, left in place; undefined when empty. */
  peek(): T | undefined;
  /** Take the next item out; undefined when empty. */
  shift(): T | undefined;
}

/** First in, first out, O(1) push and shift, on a growable ring buffer. */
export class FifoQueue<T> implements RequestQueue<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
