import { describe, expect, it } from 'vitest';
import { checkLiveSupport, LiveUnsupportedError } from './run-live.ts';
import { parseScenario } from '../../../sim/scenario/parse.ts';
import { fixtureContext } from '../../scenario/load.ts';

const ctx = fixtureContext();
const scenario = (faults: string) =>
  parseScenario(`name: s\nduration: 1h\nworkload:\n  arrivals: { kind: poisson, rate_per_hour: 60 }\n  jobs: [ { duration: 2m } ]\nfaults:\n${faults}`, 'f.yaml', ctx);

describe('checkLiveSupport', () => {
  it('refuses the tuning keys the replay does not act on, naming them, rather than ignoring them', () => {
    const s = parseScenario(`name: s\nduration: 1h\ntopology: { scheduler: spread }\nworkload:\n  arrivals: { kind: poisson, rate_per_hour: 60 }\n  jobs: [ { duration: 2m } ]\nautoscaling: { min: 1, max: 3 }\n`, 'f.yaml', ctx);
    expect(() => checkLiveSupport(s)).toThrow(/`autoscaling`, `topology.scheduler: spread` are not replayed live yet/);
  });

  it('accepts faults on real processes and pipeline services', () => {
    expect(() => checkLiveSupport(scenario('  - { at: 10m, action: kill, target: rabbitmq, for: 5m }\n  - { at: 20m, action: pause, target: redis, for: 1m }\n  - { at: 30m, action: stop, target: picard-dispatcher }\n'))).not.toThrow();
  });

  it('names the fault a live run cannot act out, and what it can', () => {
    const err = (() => {
      try {
        checkLiveSupport(scenario('  - { at: 10m, action: kill, target: rabbitmq }\n  - { at: 20m, action: kill, target: api-service }\n'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LiveUnsupportedError);
    expect((err as LiveUnsupportedError).message).toMatch(/f\.yaml: faults\[1\] \(kill api-service at 20 min\): live mode cannot act on `api-service` yet/);
    expect((err as LiveUnsupportedError).hint).toMatch(/rabbitmq.*picard-dispatcher/);
  });

  it('accepts a kill or pause of telegraf and nomad-metrics: telegraf\'s series shows the gap they leave', () => {
    expect(() => checkLiveSupport(scenario('  - { at: 10m, action: kill, target: nomad-metrics, for: 20m }\n  - { at: 40m, action: pause, target: telegraf, for: 10m }\n'))).not.toThrow();
  });

  it('accepts a kill of exim or slanger: notifier counts what it could not deliver to them', () => {
    expect(() => checkLiveSupport(scenario('  - { at: 10m, action: kill, target: exim, for: 40m }\n  - { at: 10m, action: kill, target: slanger, for: 40m }\n'))).not.toThrow();
  });

  it("accepts a pause of a pipeline stage: each runs in a worker thread of its own, which hangs alone", () => {
    expect(() => checkLiveSupport(scenario('  - { at: 10m, action: pause, target: frontend, for: 1m }\n  - { at: 20m, action: pause, target: schedulerer, for: 5m }\n'))).not.toThrow();
  });

  it('accepts a partition of the Services machine and a kill or wipe of the Nomad server', () => {
    expect(() =>
      checkLiveSupport(scenario('  - { at: 10m, action: partition, target: services_machine, for: 5m }\n  - { at: 20m, action: kill, target: nomad_server, for: 5m }\n  - { at: 30m, action: wipe_state, target: nomad_server }\n')),
    ).not.toThrow();
    expect(() =>
      checkLiveSupport(scenario('  - { at: 10m, action: terminate_instance, target: nomad_client, count: 2 }\n  - { at: 20m, action: drain, target: nomad_client, for: 5m }\n  - { at: 30m, action: kill, target: nomad_client, for: 5m }\n')),
    ).not.toThrow();
  });

  it('refuses what the systems cannot do live, naming what they can', () => {
    expect(() => checkLiveSupport(scenario('  - { at: 10m, action: pause, target: nomad_server, for: 1m }\n'))).toThrow(/live mode cannot pause `nomad_server`/);
    try {
      checkLiveSupport(scenario('  - { at: 10m, action: disk_fill, target: services_machine, for: 1m }\n'));
      expect.unreachable();
    } catch (e) {
      expect((e as LiveUnsupportedError).hint).toBe('on services_machine live mode can: partition, heal');
    }
  });
});
