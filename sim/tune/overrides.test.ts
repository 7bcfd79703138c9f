import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { applyOverrides, checkSweepKey, scenarioKeys, sweepIssues } from './overrides.ts';
import { TuneInputError } from './tune-input-error.ts';

const SCENARIO = `# a comment that stays
name: t
duration: 1h
topology:
  nomad_clients: { count: 12, cpus: 8, memory_gb: 32 }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
autoscaling:
  min: 1
  max: 4
  policies:
    - { kind: scheduled, cron: "0 8 * * 1-5", desired: 3 }
`;

describe('checkSweepKey', () => {
  it('accepts fields of the schema, list items by number', () => {
    for (const k of ['topology.nomad_clients.count', 'topology.nomad_clients.instance_type', 'topology.scheduler', 'autoscaling.min', 'autoscaling.policies.0.desired', 'cost.developer_hour_usd', 'workload.arrivals.peak_per_hour']) {
      expect(() => checkSweepKey(k), k).not.toThrow();
    }
    expect(scenarioKeys()).toContain('autoscaling.policies.N.cooldown');
  });

  it('names an unknown key, the closest one, and the keys beside it', () => {
    const err = (k: string) => {
      try {
        checkSweepKey(k);
      } catch (e) {
        return e as TuneInputError;
      }
      throw new Error(`${k} was accepted`);
    };
    expect(err('topology.nomad_clients.cont').message).toBe('--sweep topology.nomad_clients.cont: the scenario has no field `topology.nomad_clients.cont`; did you mean `topology.nomad_clients.count`?');
    expect(err('topology.nomad_clients.cont').hint).toMatch(/^keys under topology\.nomad_clients: topology\.nomad_clients\.count, topology\.nomad_clients\.cpus, /);
    expect(err('nomad_clients.count').message).toContain('did you mean `topology.nomad_clients.count`?');
    expect(err('autoscaling.policies.0.desird').message).toContain('did you mean `autoscaling.policies.0.desired`?');
    expect(err('zzz').hint).toMatch(/^keys at the top: .*topology.*autoscaling/);
    expect(err('seed').message).toContain('use --replications N');
    expect(err('expect.0.max').message).toContain('cannot be swept');
  });
});

describe('applyOverrides', () => {
  it('sets each key, creating mappings, and keeps the rest of the file', () => {
    const out = applyOverrides(SCENARIO, { 'topology.nomad_clients.count': 4, 'topology.scheduler': 'spread', 'cost.developer_hour_usd': 50, 'autoscaling.policies.0.desired': 2 });
    const doc = parse(out) as Record<string, any>;
    expect(doc.topology.nomad_clients).toEqual({ count: 4, cpus: 8, memory_gb: 32 });
    expect(doc.topology.scheduler).toBe('spread');
    expect(doc.cost).toEqual({ developer_hour_usd: 50 });
    expect(doc.autoscaling.policies[0]).toEqual({ kind: 'scheduled', cron: '0 8 * * 1-5', desired: 2 });
    expect(out).toContain('# a comment that stays');
  });

  it('replaces cpus, memory and price with an instance type', () => {
    const doc = parse(applyOverrides(SCENARIO, { 'topology.nomad_clients.instance_type': 'c5.2xlarge' })) as Record<string, any>;
    expect(doc.topology.nomad_clients).toEqual({ count: 12, instance_type: 'c5.2xlarge' });
  });

  it('refuses a list item the scenario does not have', () => {
    expect(() => applyOverrides(SCENARIO, { 'autoscaling.policies.1.desired': 2 })).toThrow(/autoscaling\.policies has 1 item in the scenario, so there is no item 1/);
    expect(() => applyOverrides(SCENARIO.replace(/autoscaling:[\s\S]*$/, ''), { 'autoscaling.policies.0.desired': 2 })).toThrow(/has 0 items/);
  });

  it('leaves text that is not YAML alone (its parse reports it)', () => {
    expect(applyOverrides('a: [', { 'x.y': 1 })).toBe('a: [');
  });
});

describe('sweepIssues', () => {
  it('names the sweep for an issue on a swept field, and leaves others at their line', () => {
    const issues = [
      { file: 'f.yaml', line: 5, column: 3, field: 'topology.nomad_clients.count', message: 'too big' },
      { file: 'f.yaml', line: 9, column: 3, field: 'autoscaling.policies[0].desired', message: 'bad' },
      { file: 'f.yaml', line: 2, column: 1, field: 'duration', message: 'other' },
    ];
    const out = sweepIssues(issues, { 'topology.nomad_clients.count': 99999, 'autoscaling.policies.0': { kind: 'x' } });
    expect(out[0]).toMatchObject({ file: '--sweep topology.nomad_clients.count=99999', line: 1, message: 'too big (in the cell topology.nomad_clients.count=99999, autoscaling.policies.0={"kind":"x"})' });
    expect(out[1]!.file).toBe('--sweep autoscaling.policies.0={"kind":"x"}');
    expect(out[2]).toEqual(issues[2]);
  });
});
