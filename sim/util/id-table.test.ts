import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from './id-table.ts';

describe('IdTable', () => {
  it('behaves as a Map keyed by id, iterated in id order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20_000 })), { maxLength: 300 }), (ops) => {
        const t = new IdTable<string>();
        const m = new Map<number, string>();
        for (const [put, id] of ops) {
          if (put) {
            t.set(id, `v${id}`);
            m.set(id, `v${id}`);
          } else expect(t.delete(id)).toBe(m.delete(id));
        }
        expect(t.size).toBe(m.size);
        expect([...t.values()]).toEqual([...m.keys()].sort((a, b) => a - b).map((id) => m.get(id)));
        for (const [, id] of ops) expect(t.get(id)).toBe(m.get(id));
      }),
    );
  });

  it('drops a chunk once it empties below the highest id, and brings it back for a late id', () => {
    const t = new IdTable<number>();
    for (let id = 0; id < 5000; id++) t.set(id, id);
    for (let id = 0; id < 4096; id++) t.delete(id);
    expect(t.size).toBe(5000 - 4096);
    expect(t.get(7)).toBeUndefined();
    t.set(7, 7); // a late id in the dropped chunk
    expect([...t.values()].slice(0, 2)).toEqual([7, 4096]);
    t.clear();
    expect(t.size).toBe(0);
    expect([...t.values()]).toEqual([]);
  });

  it('refuses ids that are not integers in [0, 2^32)', () => {
    const t = new IdTable<string>();
    for (const id of [-1, 0.5, 2 ** 32, Number.NaN]) expect(() => t.set(id, 'x')).toThrow(RangeError);
    expect(t.get(-1)).toBeUndefined();
    expect(t.delete(Number.NaN)).toBe(false);
  });
});
