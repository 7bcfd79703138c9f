import { describe, expect, it } from 'vitest';
import { parseScenario } from './parse.ts';
import { tuningKeysWritten } from './tuning-keys.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';

const ctx = fixtureContext();
const BASE = `name: t
duration: 1h
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs:
    - { duration: 5m }
`;

describe('tuningKeysWritten', () => {
  it('lists nothing for a scenario without tuning keys (the defaults are not written)', () => {
    expect(tuningKeysWritten(parseScenario(BASE, 't.yaml', ctx))).toEqual([]);
  });

  it('lists every tuning key the file wrote', () => {
    const text = `${BASE}topology: { scheduler: spread, nomad_clients: { count: 2, instance_type: m5.2xlarge, hour_usd: 0.5 } }
autoscaling: { min: 1, max: 3 }
cost: { developer_hour_usd: 100 }
`;
    expect(tuningKeysWritten(parseScenario(text, 't.yaml', ctx))).toEqual(['autoscaling', 'cost', 'topology.scheduler', 'topology.nomad_clients.instance_type', 'topology.nomad_clients.hour_usd']);
  });
});
