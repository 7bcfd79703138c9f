/**
 * A RabbitMQ queue: FIFO, durable or not. A durable queue's messages survive a broker restart; a non-durable
 * queue's are gone when the broker dies. Consumers take from the head and may put a message back at the head
 * when they die before acknowledging it (redelivery).
 */
export class MessageQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** The most messages ever waiting at once. */
  peak = 0;

  constructor(
    readonly name: string,
    readonly durable: boolean,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.length > this.peak) this.peak = this.length;
  }

  /** Puts an unacknowledged message back at the head (its consumer died). */
  requeueFront(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the consumed prefix dominates, so memory stays proportional to what waits.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns everything waiting (a broker that lost a non-durable queue, or a purge). */
  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }

  /** Messages waiting, oldest first (for reports and stuck-build accounting). */
  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
}
