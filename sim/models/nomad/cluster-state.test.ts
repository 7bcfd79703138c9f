import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_ALLOC, ID_EVAL, ID_NODE, SerialTable, idSerial, nomadId, shortId } from './cluster-state.ts';

describe('ids', () => {
  it('look like Nomad UUIDs and are stable', () => {
    const id = nomadId(ID_NODE, 0);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(nomadId(ID_NODE, 0)).toBe(id);
    expect(shortId(id)).toBe(id.slice(0, 8));
    expect(nomadId(ID_ALLOC, 0)).not.toBe(id);
  });

  it('give back their serial, for every kind', () => {
    fc.assert(
      fc.property(fc.constantFrom(ID_NODE, ID_ALLOC, ID_EVAL), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (kind, n) => {
        expect(idSerial(kind, nomadId(kind, n))).toBe(n);
      }),
    );
    expect(idSerial(ID_ALLOC, 'not-an-id')).toBe(-1);
    expect(idSerial(ID_ALLOC, 'zzzzzzzz-0000-0000-0000-000000000000')).toBe(-1);
  });

  it('have distinct short ids', () => {
    const seen = new Set<string>();
    for (let n = 0; n < 50_000; n++) seen.add(shortId(nomadId(ID_ALLOC, n)));
    expect(seen.size).toBe(50_000);
  });
});

describe('SerialTable', () => {
  it('stores, finds, deletes and drops emptied chunks', () => {
    const t = new SerialTable<string>();
    for (let n = 0; n < 10_000; n++) t.add(n, `v${n}`);
    expect(t.size).toBe(10_000);
    expect(t.get(4096)).toBe('v4096');
    expect(t.get(10_000)).toBeUndefined();
    expect(t.get(-1)).toBeUndefined();
    for (let n = 0; n < 8192; n++) t.delete(n);
    expect(t.size).toBe(10_000 - 8192);
    expect(t.get(5)).toBeUndefined();
    expect([...t.values()].slice(0, 2)).toEqual(['v8192', 'v8193']);
    t.clear();
    expect(t.size).toBe(0);
    t.add(10_000, 'again'); // into the chunk a clear dropped while it was being filled
    expect(t.get(10_000)).toBe('again');
    expect(() => t.add(5, 'old')).toThrow(/out of order/);
  });
});
