/**
 * The embedded Redis's keyspace: values and their types, one `Database` of the 16 with lazy and active expiry on a
 * clock passed in (epoch ms), SCAN's cursor, and Redis's glob for KEYS and SCAN MATCH.
 */
import { CommandError, WRONGTYPE } from './resp-protocol.ts';

/** How many databases SELECT can choose from, as in a default Redis. */
export const DATABASES = 16;

/** Keys, set members and hash fields are binary: held as latin1 strings, one char per byte, so they map back exactly. */
export const str = (b: Buffer): string => b.toString('latin1');
export const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

export type Value =
  | { readonly type: 'string'; data: Buffer }
  | { readonly type: 'list'; items: Buffer[] }
  | { readonly type: 'set'; readonly members: Set<string> }
  | { readonly type: 'hash'; readonly fields: Map<string, Buffer> };

type ValueType = Value['type'];
export type ValueOf<T extends ValueType> = Extract<Value, { type: T }>;

export interface Entry {
  value: Value;
  /** Epoch milliseconds, or undefined for a key that does not expire. */
  expiresAt: number | undefined;
  /** Creation order: SCAN's cursor. Kept when the value is overwritten, renewed when the key is created again. */
  readonly seq: number;
}

/**
 * One of the 16 databases. Expired keys vanish on access (`lookup`) and in `sweep`, like Redis's lazy and active
 * expiry. Entries stay in creation order (a re-created key moves to the end), which makes SCAN's cursor simple: the
 * creation number of the last key visited.
 */
export class Database {
  readonly #entries = new Map<string, Entry>();
  readonly #volatile = new Set<string>();
  #seq = 0;

  /** The live entry of `key`, removing it first if it has expired. */
  lookup(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= now) {
      this.remove(key);
      return undefined;
    }
    return e;
  }

  /** The value of `key` if it has type `type`, undefined if there is none; WRONGTYPE if it holds another type. */
  read<T extends ValueType>(key: string, type: T, now: number): ValueOf<T> | undefined {
    const e = this.lookup(key, now);
    if (e === undefined) return undefined;
    if (e.value.type !== type) throw new CommandError(WRONGTYPE);
    return e.value as ValueOf<T>;
  }

  /** Like `read`, but creates the key with `empty()` when it does not exist. */
  readOrCreate<T extends ValueType>(key: string, type: T, now: number, empty: () => ValueOf<T>): ValueOf<T> {
    const existing = this.read(key, type, now);
    if (existing !== undefined) return existing;
    const created = empty();
    this.put(key, created, undefined, now);
    return created;
  }

  /** Stores `value` under `key` with the given expiry, keeping the key's place if it exists. */
  put(key: string, value: Value, expiresAt: number | undefined, now: number): void {
    const e = this.lookup(key, now);
    if (e) {
      e.value = value;
      this.setExpiry(key, e, expiresAt);
    } else {
      const created: Entry = { value, expiresAt: undefined, seq: ++this.#seq };
      this.#entries.set(key, created);
      this.setExpiry(key, created, expiresAt);
    }
  }

  setExpiry(key: string, e: Entry, expiresAt: number | undefined): void {
    e.expiresAt = expiresAt;
    if (expiresAt === undefined) this.#volatile.delete(key);
    else this.#volatile.add(key);
  }

  remove(key: string): boolean {
    this.#volatile.delete(key);
    return this.#entries.delete(key);
  }

  /** Removes a collection key once its last element is gone: Redis never keeps empty lists, sets or hashes. */
  removeIfEmpty(key: string, v: Value): void {
    const size = v.type === 'list' ? v.items.length : v.type === 'set' ? v.members.size : v.type === 'hash' ? v.fields.size : 1;
    if (size === 0) this.remove(key);
  }

  /** The live keys, in creation order. */
  *keys(now: number): Generator<[string, Entry]> {
    for (const [key, e] of this.#entries) {
      if (e.expiresAt === undefined || e.expiresAt > now) yield [key, e];
    }
  }

  /**
   * Visits up to `count` keys created after `cursor`; returns those passing `keep` and the cursor to continue
   * from (0 when the end was reached). Keys that exist throughout an iteration are returned at least once.
   */
  scan(cursor: bigint, count: number, now: number, keep: (key: string, e: Entry) => boolean): { cursor: bigint; keys: string[] } {
    const keys: string[] = [];
    let visited = 0;
    let last = 0;
    for (const [key, e] of this.keys(now)) {
      if (BigInt(e.seq) <= cursor) continue;
      if (visited === count) return { cursor: BigInt(last), keys };
      visited++;
      last = e.seq;
      if (keep(key, e)) keys.push(key);
    }
    return { cursor: 0n, keys };
  }

  /** Removes every expired key (Redis samples; a twin's keyspace is small enough to look at every volatile key). */
  sweep(now: number): void {
    for (const key of this.#volatile) this.lookup(key, now);
  }

  get size(): number {
    return this.#entries.size;
  }
  get volatileCount(): number {
    return this.#volatile.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#volatile.clear();
  }
}

/**
 * Redis's glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\` escaping the next character, over bytes (latin1 chars).
 * `*` backtracks to its last position only, which is enough because a later `*` can absorb anything an earlier one could.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = ++p;
      starText = t;
      continue;
    }
    const next = p < pattern.length ? matchOne(pattern, p, text[t]!) : -1;
    if (next !== -1) {
      p = next;
      t++;
    } else if (star !== -1) {
      p = star;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether the pattern element at `p` matches `c`: the position after the element, or -1. */
function matchOne(pattern: string, p: number, c: string): number {
  const token = pattern[p];
  if (token === '?') return p + 1;
  if (token === '[') return matchClass(pattern, p, c);
  if (token === '\\' && p + 1 < pattern.length) return pattern[p + 1] === c ? p + 2 : -1;
  return token === c ? p + 1 : -1;
}

function matchClass(pattern: string, open: number, c: string): number {
  let i = open + 1;
  const negated = pattern[i] === '^';
  if (negated) i++;
  let matched = false;
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\' && i + 1 < pattern.length) {
      matched ||= pattern[i + 1] === c;
      i += 2;
    } else if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      const [lo, hi] = [pattern[i]!, pattern[i + 2]!].sort();
      matched ||= c >= lo! && c <= hi!;
      i += 3;
    } else {
      matched ||= pattern[i] === c;
      i++;
    }
  }
  // An unclosed class runs to the end of the pattern.
  const after = i < pattern.length ? i + 1 : i;
  return matched !== negated ? after : -1;
}
