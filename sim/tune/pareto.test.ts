import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { paretoFront, type FrontPoint } from './pareto.ts';

const dominates = (a: FrontPoint, b: FrontPoint) => a.cost <= b.cost && a.p95 <= b.p95 && (a.cost < b.cost || a.p95 < b.p95);

describe('paretoFront', () => {
  it('keeps the cells nothing beats on both cost and p95, by rising cost', () => {
    const points = [
      { cell: 0, cost: 100, p95: 50 },
      { cell: 1, cost: 120, p95: 10 },
      { cell: 2, cost: 130, p95: 20 }, // dearer and slower than cell 1
      { cell: 3, cost: 90, p95: 300 },
      { cell: 4, cost: 200, p95: 1 },
      { cell: 5, cost: 120, p95: 10 }, // the same as cell 1: the first is kept
    ];
    expect(paretoFront(points)).toEqual([3, 0, 1, 4]);
    expect(paretoFront([])).toEqual([]);
  });

  it('holds no dominated cell, and every cell left out is dominated by or equal to one on the front', () => {
    const point = fc.record({ cost: fc.integer({ min: 0, max: 20 }), p95: fc.integer({ min: 0, max: 20 }) });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 40 }), (raw) => {
        const points = raw.map((p, cell) => ({ ...p, cell }));
        const front = paretoFront(points).map((i) => points[i]!);
        for (const f of front) expect(points.some((p) => dominates(p, f))).toBe(false);
        for (const p of points) {
          if (front.includes(p)) continue;
          expect(front.some((f) => dominates(f, p) || (f.cost === p.cost && f.p95 === p.p95))).toBe(true);
        }
        for (let i = 1; i < front.length; i++) expect(front[i]!.cost).toBeGreaterThan(front[i - 1]!.cost);
      }),
    );
  });
});
