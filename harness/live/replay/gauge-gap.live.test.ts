/**
 * `twin run --mode live` with nomad-metrics killed and telegraf hung (documented ports at 29000 + port): the
 * gauges go through the processes their rows represent (nomad-metrics polls the twin's Nomad API and sends them
 * over UDP to telegraf, which writes its series), so each outage leaves a real gap in the recorded series, and the
 * report's symptoms are read from those gaps (sim/symptoms/gauge-gaps.ts), not from the faults' downtime.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../../fixtures/load.ts';
import { loadScenarioFile } from '../../scenario/load.ts';
import { runLive } from './run-live.ts';

const dir = mkdtempSync(join(tmpdir(), 'twin-gauge-gap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIO = `name: gauge-gaps
duration: 1h
topology: { nomad_clients: { count: 2 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 30 }
  jobs: [ { duration: 2m } ]
faults:
  - { at: 10m, action: kill, target: nomad-metrics, for: 20m }
  - { at: 40m, action: pause, target: telegraf, for: 12m }
`;

describe('gauge gaps on the live stack', () => {
  it('killing nomad-metrics and hanging telegraf leave their gaps in telegraf\'s series; the symptoms are read from them', async () => {
    const file = join(dir, 'gauge-gaps.yaml');
    writeFileSync(file, SCENARIO);
    const scenario = loadScenarioFile(file, { mode: 'live' });
    const profile = loadProfile(scenario.version);
    const log: string[] = [];
    const out = await runLive(scenario, profile, { timeScale: 60, portOffset: 29_000, log: (l) => log.push(l) });
    const metrics = (r: typeof out.report) => (r.symptoms ?? []).filter((s) => s.view === 'metrics').map((s) => ({ container: s.container, what: s.what, count: s.count }));
    console.info(`live: ${JSON.stringify(metrics(out.report))}\nsim: ${JSON.stringify(metrics(out.sim))}\nseverity live ${out.report.observed_severity} sim ${out.sim.observed_severity}; metric_gaps live ${out.report.metric_gaps} sim ${out.sim.metric_gaps}\n${out.report.live?.fault_log.join('\n')}`);
    const live = metrics(out.report);
    const nm = live.find((s) => s.container === 'nomad-metrics');
    const tg = live.find((s) => s.container === 'telegraf');
    // 20 min without circle.nomad.* gauges: 120 statsd flushes; 12 min without any flush: 72. Only whole periods of
    // the series without data count (3 min at 60x: 18 flushes), so up to one period short at either end.
    expect(nm, log.join('\n')).toBeDefined();
    expect(nm!.count).toBeGreaterThanOrEqual(120 - 2 * 18 - 4);
    expect(nm!.count).toBeLessThanOrEqual(150);
    expect(tg, log.join('\n')).toBeDefined();
    expect(tg!.count).toBeGreaterThanOrEqual(45);
    expect(tg!.count).toBeLessThanOrEqual(100);
    // The report's metric gaps are the series' too: telegraf's 12 minutes, as the simulation counts them.
    expect(out.report.metric_gaps).toBe(tg!.count);
    expect(Math.abs(out.report.metric_gaps - out.sim.metric_gaps)).toBeLessThanOrEqual(18);
    // Each row's severity as the simulation classifies the same faults.
    expect(out.report.observed_severity).toBe(out.sim.observed_severity);
  }, 600_000);
});
