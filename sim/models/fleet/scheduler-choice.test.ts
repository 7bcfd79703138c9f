import { describe, expect, it } from 'vitest';
import { Twin } from '../../twin.ts';
import { buildReport } from '../../report/build-report.ts';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');

/** Few long jobs on a roomy fleet: binpack stacks them on one client, spread gives each its own. */
const crafted = (scheduler: string): string => `name: crafted
seed: 3
duration: 1h
topology: { scheduler: ${scheduler}, nomad_clients: { count: 6, cpus: 10, memory_gb: 36 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 24 }
  jobs:
    - { duration: 30m }
`;

function run(scheduler: string): { nodesUsed: number; report: ReturnType<typeof buildReport> } {
  const placedOn = new Set<string>();
  const twin = new Twin(parseScenario(crafted(scheduler), 'crafted.yaml', ctx), profile, {
    trace: (line) => {
      const m = / placed on (\S+)$/.exec(line);
      if (m) placedOn.add(m[1]!);
    },
  });
  twin.run();
  return { nodesUsed: placedOn.size, report: buildReport(twin) };
}

describe('topology.scheduler', () => {
  it('selects the ranking: binpack stacks the jobs on few clients, spread uses them all', () => {
    const binpack = run('binpack');
    const spread = run('spread');
    expect(binpack.report.capacity.scheduler).toBe('binpack');
    expect(spread.report.capacity.scheduler).toBe('spread');
    expect(binpack.report.builds.triggered).toBe(spread.report.builds.triggered);
    expect(binpack.report.builds.triggered).toBeGreaterThan(6);
    expect(spread.nodesUsed).toBe(6);
    expect(binpack.nodesUsed).toBeLessThan(spread.nodesUsed);
  });

  it('shows in the fragmentation: free CPU stays on whole clients under binpack, on partly used ones under spread', () => {
    const binpack = run('binpack').report.capacity.fragmentation!;
    const spread = run('spread').report.capacity.fragmentation!;
    // Measured (seed 3): binpack 0.3715, spread 0.783.
    expect(binpack).toBeGreaterThan(0);
    expect(binpack).toBeLessThan(0.5);
    expect(spread).toBeGreaterThan(0.7);
    expect(spread - binpack).toBeGreaterThan(0.3);
    expect(spread).toBeLessThanOrEqual(1);
  });

  it('defaults to binpack and refuses an unknown algorithm', () => {
    const yaml = crafted('binpack').replace('scheduler: binpack, ', '');
    expect(parseScenario(yaml, 'crafted.yaml', ctx).topology.scheduler).toBe('binpack');
    expect(() => parseScenario(crafted('worstfit'), 'crafted.yaml', ctx)).toThrow(/scheduler/);
  });
});
