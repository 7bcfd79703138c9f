import { describe, expect, it } from 'vitest';
import { Twin } from '../twin.ts';
import { parseScenario } from '../scenario/parse.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');
const scenario = (faults: string) =>
  parseScenario(`name: s\nduration: 1h\nworkload:\n  arrivals: { kind: poisson, rate_per_hour: 300 }\n  jobs: [ { duration: 2m } ]\nfaults:\n${faults}`, 's.yaml', ctx);

/** The container states the run went through, as `name state cause` lines from `from` ms on. */
function history(twin: Twin, fromMs: number): string[] {
  return twin.world.services.history.filter((h) => h.atMs >= fromMs).map((h) => `${h.atMs} ${h.name} ${h.state} ${h.cause}`);
}

describe('the simulation adapter', () => {
  it('stops the whole Services machine gracefully and starts it after `for` (the worked example of sim/faults/README.md)', () => {
    const twin = new Twin(scenario('  - { at: 20m, action: stop, target: services_machine, for: 5m }\n'), profile);
    twin.run();
    const h = history(twin, 0);
    const names = twin.world.services.names();
    // Every container stopped gracefully at 20m and started again at 25m; nothing else changed state.
    expect(h.filter((l) => l.startsWith('1200000 ')).length).toBe(names.length);
    expect(h.every((l) => / (stopped stop|running start)$/.test(l))).toBe(true);
    expect(h.filter((l) => l.startsWith('1500000 ') && l.endsWith('running start')).length).toBe(names.length);
    expect(names.every((n) => twin.world.services.state(n) === 'running')).toBe(true);
  });

  it('starts again only what is stopped: a container failed at startup stays failed', () => {
    const twin = new Twin(scenario('  - { at: 0s, action: fail_at_startup, target: telegraf }\n  - { at: 20m, action: stop, target: services_machine }\n  - { at: 25m, action: start, target: services_machine }\n'), profile);
    twin.run();
    expect(twin.world.services.state('telegraf')).toBe('failed');
    expect(twin.world.services.state('frontend')).toBe('running');
  });

  it('undoes a kill of a container with a start after `for` (the catalogue\u2019s undo)', () => {
    const twin = new Twin(scenario('  - { at: 10m, action: kill, target: rabbitmq, for: 2m }\n'), profile);
    twin.run();
    expect(history(twin, 0)).toEqual(['600000 rabbitmq stopped kill', '720000 rabbitmq running start']);
  });
});
