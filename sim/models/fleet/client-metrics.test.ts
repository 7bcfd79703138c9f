import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientMetrics, MAX_CLIENT_SERIES, OTHERS_HOST, type ClientReach } from './client-metrics.ts';
import { Telegraf } from '../../metrics/telegraf.ts';
import { METRICS } from '../../metrics/metric-names.ts';
import type { NodeView } from '../nomad/cluster-state.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { Twin } from '../../twin.ts';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';

const documented = loadProfile('2.19.6').metrics.names.map((m) => m.name);

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return {
    id: `id-${name}`,
    name,
    datacenter: 'us-east-1',
    nodeClass: 'linux-64bit',
    status: 'ready',
    drain: false,
    eligibility: 'eligible',
    totalCpuMilli: 8000,
    totalMemoryMb: 32 * 1024,
    reservedCpuMilli: 2000,
    reservedMemoryMb: 4096,
    usedCpuMilli: 0,
    usedMemoryMb: 0,
    runningAllocs: 0,
    ...over,
  };
}

const tagged = (name: string, host: string, drain = false, status = 'ready'): string => `${name}#drain:${drain},host:${host},status:${status}`;

describe('ClientMetrics', () => {
  it("sends each client's gauges under its own host, drain and status tags, and their sum untagged", () => {
    const t = new Telegraf(documented);
    const m = new ClientMetrics(t);
    const report = (): ClientReach => 'report';
    m.sample([node('ip-10-0-0-0', { usedCpuMilli: 2000, usedMemoryMb: 4096, runningAllocs: 1 }), node('ip-10-0-0-1')], report);
    t.flush(10_000);
    const s = t.summaries();
    expect(s[tagged(METRICS.clientCpuTotal, 'ip-10-0-0-0')]?.last).toBe(20_000);
    expect(s[tagged(METRICS.clientCpuUsed, 'ip-10-0-0-0')]?.last).toBe(5_000);
    expect(s[tagged(METRICS.clientCpuAvailable, 'ip-10-0-0-0')]?.last).toBe(10_000);
    expect(s[tagged(METRICS.clientMemoryAvailable, 'ip-10-0-0-0')]?.last).toBe(24_576);
    expect(s[tagged(METRICS.clientDiskUsed, 'ip-10-0-0-0')]?.last).toBe(300);
    expect(s[tagged(METRICS.clientDiskAvailable, 'ip-10-0-0-1')]?.last).toBe(102_400);
    expect(s[tagged(METRICS.clientIopsTotal, 'ip-10-0-0-1')]?.last).toBe(0);
    expect(s[tagged(METRICS.clientCpuUsed, 'ip-10-0-0-1')]?.last).toBe(0);
    expect(s[`${METRICS.clientPollFailure}#host:ip-10-0-0-1`]?.last).toBe(0);
    expect(s[METRICS.clientCpuUsed]?.last).toBe(5_000);
    expect(s[METRICS.clientCpuTotal]?.last).toBe(40_000);
  });

  it('starts a series under the new tags when a client is drained, and keeps the old one as it was', () => {
    const t = new Telegraf(documented);
    const m = new ClientMetrics(t);
    const report = (): ClientReach => 'report';
    m.sample([node('a', { usedCpuMilli: 2000 })], report);
    t.flush(10_000);
    m.sample([node('a', { usedCpuMilli: 2000, drain: true, eligibility: 'ineligible' })], report);
    t.flush(20_000);
    t.flush(30_000);
    const s = t.summaries();
    expect(s[tagged(METRICS.clientCpuUsed, 'a')]).toMatchObject({ samples: 1, last: 5_000 });
    expect(s[tagged(METRICS.clientCpuUsed, 'a', true)]).toMatchObject({ samples: 2, last: 5_000 });
    expect(s[METRICS.clientCpuUsed]).toMatchObject({ samples: 3, last: 5_000 });
  });

  it('follows what a client gets across: a poll failure alone, then nothing, and no sum with no client reporting', () => {
    const t = new Telegraf(documented);
    const m = new ClientMetrics(t);
    let reach: ClientReach = 'report';
    const sample = (): void => m.sample([node('a', { usedCpuMilli: 4000 })], () => reach);
    sample();
    t.flush(10_000);
    reach = 'poll_failure';
    sample();
    t.flush(20_000);
    reach = 'silent';
    sample();
    t.flush(30_000);
    const s = t.summaries();
    expect(s[`${METRICS.clientPollFailure}#host:a`]).toMatchObject({ samples: 2, min: 0, max: 1, last: 1 });
    expect(s[tagged(METRICS.clientCpuUsed, 'a')]).toMatchObject({ samples: 1, last: 10_000 });
    expect(s[METRICS.clientCpuUsed]).toMatchObject({ samples: 1, last: 10_000 });
  });

  it('a simulated run: one series per client, each tagged with its node name, summing to the untagged gauge', () => {
    const s = parseScenario(
      `name: clients
seed: 3
duration: 1h
topology: { nomad_clients: { count: 3, cpus: 8, memory_gb: 32 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { duration: { median: 5m, p95: 12m } }
`,
      'clients.yaml',
      fixtureContext(),
    );
    const twin = new Twin(s, loadProfile('2.19.6'));
    twin.run();
    const metrics = twin.telegraf.summaries();
    const hosts = Object.keys(metrics)
      .filter((k) => k.startsWith(`${METRICS.clientCpuTotal}#`))
      .map((k) => /host:([^,]+)/.exec(k)![1]);
    expect(hosts).toEqual(['ip-10-0-0-0', 'ip-10-0-0-1', 'ip-10-0-0-2']);
    const used = Object.entries(metrics).filter(([k]) => k.startsWith(`${METRICS.clientCpuUsed}#`));
    expect(used.reduce((a, [, v]) => a + v.mean * v.samples, 0)).toBeCloseTo(metrics[METRICS.clientCpuUsed]!.mean * metrics[METRICS.clientCpuUsed]!.samples, 6);
    expect(Math.max(...used.map(([, v]) => v.max))).toBeGreaterThan(0);
  });

  it(`keeps series of their own for the first ${MAX_CLIENT_SERIES} clients and aggregates the rest: the untagged sums count them, their poll failures count in host:${OTHERS_HOST}`, () => {
    const t = new Telegraf(documented);
    const m = new ClientMetrics(t);
    const names = Array.from({ length: MAX_CLIENT_SERIES + 4 }, (_, i) => `ip-10-0-0-${i}`);
    const nodes = names.map((n) => node(n, { usedCpuMilli: 1000, usedMemoryMb: 1024, runningAllocs: 1 }));
    const failing = new Set([names[MAX_CLIENT_SERIES]!, names[MAX_CLIENT_SERIES + 2]!]);
    m.sample(nodes, () => 'report');
    t.flush(10_000);
    m.sample(nodes, (id) => (failing.has(id.slice(3)) ? 'poll_failure' : 'report'));
    t.flush(20_000);
    const s = t.summaries();
    const hosts = new Set(Object.keys(s).filter((k) => k.startsWith(`${METRICS.clientCpuUsed}#`)).map((k) => /host:([^,]+)/.exec(k)![1]));
    expect([...hosts].sort()).toEqual(names.slice(0, MAX_CLIENT_SERIES).sort());
    // The first tick: all 12 report 1000 millicores each; the second: two of the aggregated ones fail to poll.
    expect(s[METRICS.clientCpuUsed]).toMatchObject({ samples: 2, max: 12 * 1000 * 2.5, last: 10 * 1000 * 2.5 });
    expect(s[`${METRICS.clientPollFailure}#host:${OTHERS_HOST}`]).toMatchObject({ samples: 2, min: 0, last: 2 });
    expect(Object.keys(s).filter((k) => k.startsWith(`${METRICS.clientPollFailure}#`))).toHaveLength(MAX_CLIENT_SERIES + 1);
  });

  it('sends with a reachKey what it sends asking every client at every tick, and the sum of the clients reporting now', () => {
    const tick = fc.record({ grow: fc.boolean(), change: fc.nat(), used: fc.constantFrom(0, 1000, 2000), reachChange: fc.boolean(), silent: fc.nat(), fail: fc.nat() });
    fc.assert(
      fc.property(fc.array(tick, { minLength: 1, maxLength: 60 }), (ticks) => {
        const keyed = new Telegraf(documented);
        const plain = new Telegraf(documented);
        const mk = new ClientMetrics(keyed);
        const mp = new ClientMetrics(plain);
        const nodes: NodeView[] = [node('n0'), node('n1')];
        let reachOf = new Map<string, ClientReach>();
        let key = 0;
        ticks.forEach((t, k) => {
          if (t.grow) nodes.push(node(`n${nodes.length}`));
          const at = t.change % nodes.length;
          nodes[at] = { ...nodes[at]!, usedCpuMilli: t.used, runningAllocs: t.used > 0 ? 1 : 0 };
          // The key changes whenever any client's reach may have (the contract of `reachKey`).
          if (t.reachChange) {
            key++;
            reachOf = new Map(nodes.map((n, i) => [n.id, i % 3 === t.silent % 3 ? 'silent' : i % 4 === t.fail % 4 ? 'poll_failure' : 'report']));
          }
          const reach = (id: string): ClientReach => reachOf.get(id) ?? 'report';
          mk.sample(nodes, reach, key);
          mp.sample(nodes, reach);
          keyed.flush((k + 1) * 10_000);
          plain.flush((k + 1) * 10_000);
          // And what it sends is right: the untagged sum is that of the clients reporting now (2.5 MHz a millicore).
          const reporting = nodes.filter((n) => reach(n.id) === 'report');
          if (reporting.length > 0) expect(keyed.summaries()[METRICS.clientCpuUsed]?.last).toBe(reporting.reduce((a, n) => a + n.usedCpuMilli, 0) * 2.5);
        });
        expect(keyed.summaries()).toEqual(plain.summaries());
      }),
      { numRuns: 150 },
    );
  });
});
