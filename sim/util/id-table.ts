/**
 * Records keyed by small non-negative integers (build numbers, workflow ids, allocation serials), in chunks of
 * 4,096 slots: lookup is two array reads and iteration is in id order.
 *
 * Why not a `Map`: the model's per-build registries (builds in flight, builds streaming, allocations running)
 * live for the whole run, while what they hold lives for minutes of virtual time. Once a `Map`'s hash table has
 * been promoted to V8's old generation, each rehash (every few hundred inserts and deletes) leaves the old table
 * behind as garbage that still points at every entry it held; until the next full collection, those stale
 * pointers keep young builds alive through every scavenge, so nearly everything per build was copied and
 * promoted: in the week-long benchmark, scavenges cost more than a third of the run. A slot here is overwritten
 * in place and cleared on delete, so nothing stale points at a finished build.
 *
 * Ids mostly grow, so a chunk that empties once ids past it have been used is dropped (memory follows the live
 * records, plus one pointer per 4,096 ids ever used); a late id in a dropped chunk brings it back.
 */
export class IdTable<T> {
  private static readonly SHIFT = 12;
  private static readonly SIZE = 1 << IdTable.SHIFT;
  private static readonly MASK = IdTable.SIZE - 1;
  private readonly chunks: ((T | undefined)[] | undefined)[] = [];
  /** Live records per chunk. */
  private readonly live: number[] = [];
  /** One more than the highest id ever stored (a chunk wholly below it is dropped once it empties). */
  protected top = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    if (!(id >= 0 && id < this.top)) return undefined;
    const chunk = this.chunks[id >>> IdTable.SHIFT];
    return chunk === undefined ? undefined : chunk[id & IdTable.MASK];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Stores `value` under `id` (an integer in [0, 2^32)), replacing what was there. */
  set(id: number, value: T): void {
    if (id >>> 0 !== id) throw new RangeError(`id must be an integer in [0, 2^32), got ${id}`);
    const c = id >>> IdTable.SHIFT;
    while (this.chunks.length <= c) {
      this.chunks.push(undefined);
      this.live.push(0);
    }
    const chunk = (this.chunks[c] ??= new Array<T | undefined>(IdTable.SIZE));
    const k = id & IdTable.MASK;
    if (chunk[k] === undefined) {
      this.live[c]!++;
      this.count++;
    }
    chunk[k] = value;
    if (id >= this.top) this.top = id + 1;
  }

  /** Removes the record under `id`; false when there was none. */
  delete(id: number): boolean {
    const c = id >>> IdTable.SHIFT;
    const chunk = this.chunks[c];
    if (chunk === undefined || id >>> 0 !== id || chunk[id & IdTable.MASK] === undefined) return false;
    chunk[id & IdTable.MASK] = undefined;
    this.count--;
    if (--this.live[c]! === 0 && (c + 1) * IdTable.SIZE <= this.top) this.chunks[c] = undefined;
    return true;
  }

  /** Live records in id order. */
  *values(): IterableIterator<T> {
    for (const chunk of this.chunks) {
      if (chunk === undefined) continue;
      for (const v of chunk) if (v !== undefined) yield v;
    }
  }

  /** Removes every record (the highest id used is remembered). */
  clear(): void {
    for (let c = 0; c < this.chunks.length; c++) {
      this.chunks[c] = undefined;
      this.live[c] = 0;
    }
    this.count = 0;
  }
}
