/** A cell as the front sees it: its number, cost per day and p95 queue time. */
export interface FrontPoint {
  cell: number;
  cost: number;
  p95: number;
}

/**
 * The cells no other cell beats on both cost per day and p95 queue time (a cell dominates another when it is no
 * worse on both and better on one), in order of rising cost. Of cells equal on both, the first is kept.
 */
export function paretoFront(points: readonly FrontPoint[]): number[] {
  const sorted = [...points].sort((a, b) => a.cost - b.cost || a.p95 - b.p95 || a.cell - b.cell);
  const front: number[] = [];
  let bestP95 = Infinity;
  for (const p of sorted) {
    if (p.p95 < bestP95) {
      front.push(p.cell);
      bestP95 = p.p95;
    }
  }
  return front;
}
