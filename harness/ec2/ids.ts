import { Rng } from '../../sim/engine/rng.ts';

/**
 * Deterministic AWS-shaped identifiers (`i-` + 17 hex digits, `vol-…`, `snap-…`, `ami-…`, request ids).
 *
 * Each prefix draws from its own stream forked from the root seed by label, so creating more volumes never
 * changes which instance ids come out: a test that launches three instances sees the same ids on every run.
 */
export class IdGenerator {
  private readonly root: Rng;
  private readonly streams = new Map<string, Rng>();
  private readonly issued = new Set<string>();

  constructor(readonly seed: number) {
    this.root = new Rng(seed);
  }

  private stream(label: string): Rng {
    let rng = this.streams.get(label);
    if (rng === undefined) {
      rng = this.root.fork(label);
      this.streams.set(label, rng);
    }
    return rng;
  }

  /** Hex digits drawn from the stream named `label`. */
  hex(label: string, digits: number): string {
    const rng = this.stream(label);
    let out = '';
    for (let i = 0; i < digits; i++) out += rng.nextInt(16).toString(16);
    return out;
  }

  /** A fresh `prefix-` + 17 hex digits id, never issued before by this generator. */
  next(prefix: string, digits = 17): string {
    // 68 random bits make a repeat practically impossible; the bound keeps the loop honest anyway.
    for (let attempt = 0; attempt < 100; attempt++) {
      const id = `${prefix}-${this.hex(prefix, digits)}`;
      if (!this.issued.has(id)) {
        this.issued.add(id);
        return id;
      }
    }
    throw new Error(`could not draw a fresh ${prefix} id in 100 attempts`);
  }

  /** A UUID-shaped id (request ids, lifecycle action tokens, activity ids). */
  uuid(label = 'uuid'): string {
    const h = this.hex(label, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) % 4]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** An integer in [0, n) from the stream named `label` (free IP addresses, placement). */
  int(label: string, n: number): number {
    return this.stream(label).nextInt(n);
  }
}
