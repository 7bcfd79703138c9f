/** A callback fired by the engine; `arg` is whatever was scheduled with it. */
export type EventFn<A = any> = (arg: A) => void;

/** Identifies a scheduled event so it can be cancelled; stale handles are ignored. */
export type EventHandle = number;

const SEQ_SPAN = 2 ** 40; // room for a trillion events per run before the order key could collide

/**
 * A binary min-heap of events ordered by (time, priority, sequence), in typed arrays.
 *
 * Each event occupies a slot (callback, argument, sequence). The heap itself holds slot numbers and the
 * two sort keys side by side so that sifting touches only typed arrays. Cancellation is lazy: a cancelled
 * slot stays in the heap and is skipped when it reaches the top.
 *
 * Removal of the top is deferred too: `popSlot` leaves a hole at the root, and a `push` that follows (an event
 * scheduling its successor, the commonest thing a model does) fills the hole and sifts down once, instead of
 * a sift-down to remove and a sift-up to insert. Any other operation closes the hole first. Keys are unique
 * (the sequence breaks every tie), so the firing order is the same whatever the heap's internal layout.
 */
export class EventQueue {
  private heapTime: Float64Array;
  private heapOrder: Float64Array;
  private heapSlot: Int32Array;
  private size = 0;
  /** The root was popped and not yet removed: the next push replaces it, anything else removes it. */
  private rootTaken = false;

  private fns: (EventFn | undefined)[] = [];
  private args: unknown[] = [];
  private slotSeq: Float64Array;
  private freeSlots: Int32Array;
  private freeCount = 0;
  private slotCount = 0;
  private seq = 0;
  private live = 0;

  constructor(initialCapacity = 1024) {
    this.heapTime = new Float64Array(initialCapacity);
    this.heapOrder = new Float64Array(initialCapacity);
    this.heapSlot = new Int32Array(initialCapacity);
    this.slotSeq = new Float64Array(initialCapacity);
    this.freeSlots = new Int32Array(initialCapacity);
  }

  /** Number of events still to fire (cancelled ones excluded). */
  get length(): number {
    return this.live;
  }

  push(timeMs: number, priority: number, fn: EventFn, arg: unknown): EventHandle {
    const seq = this.seq++;
    if (this.rootTaken) {
      // The popped event's slot is reused as it stands: its callback was read before it ran.
      this.rootTaken = false;
      const slot = this.heapSlot[0]!;
      this.fns[slot] = fn;
      this.args[slot] = arg;
      this.slotSeq[slot] = seq;
      this.siftDown(timeMs, priority * SEQ_SPAN + seq, slot, this.size);
      this.live++;
      return seq * 0x100000000 + slot;
    }
    const slot = this.allocSlot();
    this.fns[slot] = fn;
    this.args[slot] = arg;
    this.slotSeq[slot] = seq;
    if (this.size === this.heapTime.length) this.growHeap();
    this.siftUp(this.size++, timeMs, priority * SEQ_SPAN + seq, slot);
    this.live++;
    return seq * 0x100000000 + slot; // slot fits in 32 bits; seq makes the handle unique over the run
  }

  /** Cancels a pending event. Returns false if it already fired or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const slot = handle % 0x100000000;
    const seq = Math.floor(handle / 0x100000000);
    if (slot >= this.slotCount || this.slotSeq[slot] !== seq || this.fns[slot] === undefined) return false;
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    this.live--;
    return true;
  }

  /**
   * Removes the earliest live event and returns its slot, or -1 when empty. The caller reads `fnOf`/`argOf` for
   * that slot before anything else is pushed: the slot stays the popped event's until the next operation, which
   * either reuses it (a push) or frees it.
   */
  popSlot(): number {
    return this.popSlotUntil(Infinity);
  }

  /**
   * Pops the earliest live event if its time is at most `untilMs`: the run loop's peek and pop in one pass.
   * Returns its slot, -1 when the queue is empty, -2 when the earliest event is later than `untilMs`.
   */
  popSlotUntil(untilMs: number): number {
    if (this.rootTaken) this.closeRoot();
    this.dropCancelledTop();
    if (this.size === 0) return -1;
    const time = this.heapTime[0]!;
    if (time > untilMs) return -2;
    this.lastTime = time;
    this.rootTaken = true;
    this.live--;
    const slot = this.heapSlot[0]!;
    this.slotSeq[slot] = -1; // fired: its handle no longer cancels anything
    return slot;
  }

  /** Time of the event returned by the last `popSlot`. */
  lastTime = 0;

  fnOf(slot: number): EventFn {
    return this.fns[slot]!;
  }

  argOf(slot: number): unknown {
    return this.args[slot];
  }

  private release(slot: number): void {
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    if (this.freeCount === this.freeSlots.length) {
      const next = new Int32Array(this.freeSlots.length * 2);
      next.set(this.freeSlots);
      this.freeSlots = next;
    }
    this.freeSlots[this.freeCount++] = slot;
  }

  private dropCancelledTop(): void {
    while (this.size > 0 && this.fns[this.heapSlot[0]!] === undefined) {
      const slot = this.heapSlot[0]!;
      this.removeTop();
      this.release(slot);
    }
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    const slot = this.slotCount++;
    if (slot === this.slotSeq.length) {
      const next = new Float64Array(this.slotSeq.length * 2);
      next.set(this.slotSeq);
      this.slotSeq = next;
    }
    return slot;
  }

  private growHeap(): void {
    const n = this.heapTime.length * 2;
    const t = new Float64Array(n);
    t.set(this.heapTime);
    this.heapTime = t;
    const o = new Float64Array(n);
    o.set(this.heapOrder);
    this.heapOrder = o;
    const s = new Int32Array(n);
    s.set(this.heapSlot);
    this.heapSlot = s;
  }

  private siftUp(i: number, time: number, order: number, slot: number): void {
    const ht = this.heapTime;
    const ho = this.heapOrder;
    const hs = this.heapSlot;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ht[p]!;
      if (pt < time || (pt === time && ho[p]! < order)) break;
      ht[i] = pt;
      ho[i] = ho[p]!;
      hs[i] = hs[p]!;
      i = p;
    }
    ht[i] = time;
    ho[i] = order;
    hs[i] = slot;
  }

  /** Removes the popped root and frees its slot: the last entry takes its place and sifts down. */
  private closeRoot(): void {
    this.rootTaken = false;
    this.release(this.heapSlot[0]!);
    this.removeTop();
  }

  private removeTop(): void {
    const n = --this.size;
    if (n === 0) return;
    this.siftDown(this.heapTime[n]!, this.heapOrder[n]!, this.heapSlot[n]!, n);
  }

  /** Places (time, order, slot) at the root of a heap of `n` entries whose root is free, sifting it down. */
  private siftDown(time: number, order: number, slot: number, n: number): void {
    const ht = this.heapTime;
    const ho = this.heapOrder;
    const hs = this.heapSlot;
    let i = 0;
    const half = n >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < n) {
        // The lesser child, chosen without a branch: which child is less is a coin toss the CPU cannot predict.
        const lt = ht[c]!;
        const rt = ht[r]!;
        c += Number(rt < lt) | (Number(rt === lt) & Number(ho[r]! < ho[c]!));
      }
      const ct = ht[c]!;
      if (time < ct || (time === ct && order < ho[c]!)) break;
      ht[i] = ct;
      ho[i] = ho[c]!;
      hs[i] = hs[c]!;
      i = c;
    }
    ht[i] = time;
    ho[i] = order;
    hs[i] = slot;
  }
}
