import type { Consumer, Session } from './channel.ts';
import type { MessageRecord } from './persistence.ts';

/**
 * Queues: their messages, the ready list (taken from the head, requeued into their original places), whether they
 * are journaled and exclusive to a connection, and the round-robin over their consumers.
 */

export interface Message extends MessageRecord {
  /** delivery-mode 2: journaled when it enters a durable queue. */
  readonly persistent: boolean;
}

export interface QueueDeclare {
  readonly queue: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly exclusive?: boolean;
  readonly autoDelete?: boolean;
  readonly arguments?: Record<string, unknown>;
}

export interface QueueStats {
  readonly queue: string;
  /** Ready messages: unacknowledged ones are not counted, as in RabbitMQ. */
  readonly messageCount: number;
  readonly consumerCount: number;
}

/** A message in one queue: its place (`seq`, so requeued messages go back in order) and whether it is journaled there. */
export interface Entry {
  readonly message: Message;
  readonly seq: number;
  readonly journaled: boolean;
  redelivered: boolean;
}

/** A queue's ready messages: appended at the tail, taken from the head, requeued into their original places. */
class ReadyList {
  #items: Array<Entry | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(e: Entry): void {
    this.#items.push(e);
  }

  shift(): Entry | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const e = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Puts requeued entries back by `seq`: RabbitMQ 3.10 restores the order they were published in. */
  requeue(entries: readonly Entry[]): void {
    const back = [...entries].sort((a, b) => a.seq - b.seq);
    const first = this.#items[this.#head];
    // The usual case, all older than every ready message: into the free slots before the head, without copying the queue.
    if (back.length <= this.#head && (first === undefined || back[back.length - 1]!.seq < first.seq)) {
      this.#head -= back.length;
      back.forEach((e, i) => (this.#items[this.#head + i] = e));
      return;
    }
    const ready = this.drain();
    const merged: Entry[] = [];
    let i = 0;
    for (const e of ready) {
      while (i < back.length && back[i]!.seq < e.seq) merged.push(back[i++]!);
      merged.push(e);
    }
    while (i < back.length) merged.push(back[i++]!);
    this.#items = merged;
  }

  drain(): Entry[] {
    const all = this.#items.slice(this.#head) as Entry[];
    this.#items = [];
    this.#head = 0;
    return all;
  }

  *[Symbol.iterator](): IterableIterator<Entry> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}

export class Queue {
  readonly ready = new ReadyList();
  readonly consumers: Consumer[] = [];
  deleted = false;
  #nextConsumer = 0;
  #seq = 0;

  constructor(
    readonly name: string,
    readonly durable: boolean,
    /** The session that declared it exclusive; the queue goes when that connection does. */
    readonly exclusiveOwner: Session | undefined,
    readonly autoDelete: boolean,
    readonly args: Record<string, unknown>,
  ) {}

  /** Durable and not exclusive: its declaration, bindings and persistent messages outlive a restart. */
  get journaled(): boolean {
    return this.durable && this.exclusiveOwner === undefined;
  }

  get stats(): QueueStats {
    return { queue: this.name, messageCount: this.ready.length, consumerCount: this.consumers.length };
  }

  enqueue(message: Message, redelivered = false): void {
    this.ready.push({ message, seq: this.#seq++, journaled: message.persistent && this.journaled, redelivered });
  }

  /** The next consumer, round-robin, that may take a message now (prefetch permitting). */
  nextConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#nextConsumer + i) % n;
      const c = this.consumers[index]!;
      if (c.canTake()) {
        this.#nextConsumer = (index + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}
