import { describe, expect, it } from 'vitest';
import { cellKey, replicationSeed } from './seeds.ts';

describe('replicationSeed', () => {
  it('depends on the sweep seed, the cell and the replication, not on the order of the keys', () => {
    const a = { 'topology.nomad_clients.count': 8, 'topology.scheduler': 'spread' };
    const b = { 'topology.scheduler': 'spread', 'topology.nomad_clients.count': 8 };
    expect(cellKey(a)).toBe(cellKey(b));
    expect(replicationSeed(1, a, 0)).toBe(replicationSeed(1, b, 0));
    const seeds = new Set<number>();
    for (let r = 0; r < 50; r++) for (const count of [4, 8, 12, 16]) for (const seed of [1, 2]) seeds.add(replicationSeed(seed, { ...a, 'topology.nomad_clients.count': count }, r));
    // 400 combinations, 400 different seeds.
    expect(seeds.size).toBe(400);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
