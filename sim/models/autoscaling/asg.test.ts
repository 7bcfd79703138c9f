import { describe, expect, it } from 'vitest';
import { AutoScalingGroup } from './asg.ts';
import { cronMatches, parseCron } from './cron.ts';
import { Twin } from '../../twin.ts';
import { buildReport } from '../../report/build-report.ts';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { Rng } from '../../engine/rng.ts';
import type { NomadFleet } from '../fleet/nomad-fleet.ts';
import type { World } from '../world.ts';
import type { SettledAutoscaling } from '../../scenario/settled.ts';

const ctx = fixtureContext();
const profile = loadProfile('2.19.6');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function run(yaml: string) {
  const lines: string[] = [];
  const twin = new Twin(parseScenario(yaml, 'asg.yaml', ctx), profile, { trace: (l) => lines.push(l) });
  twin.run();
  return { report: buildReport(twin), lines };
}

describe('cron', () => {
  const weekdays8 = parseCron('0 8 * * 1-5');
  it('fires at 08:00 on weekdays only (virtual time 0 is Monday 00:00)', () => {
    expect(cronMatches(weekdays8, 8 * HOUR)).toBe(true); // Monday
    expect(cronMatches(weekdays8, 4 * DAY + 8 * HOUR)).toBe(true); // Friday
    expect(cronMatches(weekdays8, 5 * DAY + 8 * HOUR)).toBe(false); // Saturday
    expect(cronMatches(weekdays8, 6 * DAY + 8 * HOUR)).toBe(false); // Sunday
    expect(cronMatches(weekdays8, 8 * HOUR + MIN)).toBe(false);
    expect(cronMatches(parseCron('*/15 * * * 0,6'), 6 * DAY + 45 * MIN)).toBe(true);
  });
  it('refuses malformed expressions, naming the field', () => {
    expect(() => parseCron('0 8 * *')).toThrow(/want 5 fields .* got 4/);
    expect(() => parseCron('0 25 * * *')).toThrow(/hour '25' is not in 0-23/);
    expect(() => parseCron('0 8 1 13 *')).toThrow(/month '13' is not in 1-12/);
  });
  it('honours day of month and month on the virtual calendar (time 0 is Monday 2024-01-01)', () => {
    expect(cronMatches(parseCron('0 8 1 * *'), 8 * HOUR)).toBe(true); // 1 January
    expect(cronMatches(parseCron('0 8 1 * *'), DAY + 8 * HOUR)).toBe(false);
    expect(cronMatches(parseCron('0 0 1 FEB *'), 31 * DAY)).toBe(true); // 1 February 2024
    expect(cronMatches(parseCron('0 0 29 2 *'), (31 + 28) * DAY)).toBe(true); // 2024 is a leap year
  });
});

/** A fake fleet whose pending-job count the test sets minute by minute. */
function fakeGroup(spec: Partial<SettledAutoscaling>, pending: number[]) {
  const sim = { nowMs: 0 };
  const launches: number[] = [];
  let nodes = 2;
  const world = { sim, rng: new Rng(1), services: { isUp: () => true }, scenario: { topology: { resourceClasses: {}, defaultResourceClass: 'medium' } } } as unknown as World;
  const fleet = {
    booting: 0,
    scheduler: { counts: () => ({ pending: pending[sim.nowMs / MIN - 1] ?? 0 }) },
    queueTimeSumMs: 0,
    queueTimes: { size: 0 },
    instanceIds: () => Array.from({ length: nodes }, (_, i) => `n${i}`),
    launch: () => {
      launches.push(sim.nowMs);
      nodes++;
    },
    allocsOn: () => 0,
    setDrain: () => {},
    terminate: () => nodes--,
  } as unknown as NomadFleet;
  const asg = new AutoScalingGroup(world, fleet, { min: 0, max: 40, desired: 2, bootTime: { kind: 'fixed', ms: 0 }, scheduled: [], steps: [], targetTracking: [], ...spec });
  for (let t = 1; t <= pending.length; t++) {
    sim.nowMs = t * MIN;
    // Queue times: one build a minute, waiting pending[t] seconds (none started where it is -1).
    const f = fleet as unknown as { queueTimeSumMs: number; queueTimes: { size: number } };
    if (pending[t - 1]! >= 0) {
      f.queueTimeSumMs += pending[t - 1]! * 1000;
      f.queueTimes.size++;
    }
    asg.tick();
  }
  return { launches, asg };
}

describe('step policies', () => {
  const policy = { metric: 'pending_jobs' as const, op: 'above' as const, threshold: 3, add: 2, periodMs: MIN, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'missing' as const, cooldownMs: 5 * MIN };

  it('fire only after evaluation_periods breaching periods in a row', () => {
    // Breaches at minutes 1-2, a dip at 3, then 4, 5, 6: the alarm fires at minute 6.
    const { launches } = fakeGroup({ steps: [policy] }, [5, 5, 0, 5, 5, 5]);
    expect(launches).toEqual([6 * MIN, 6 * MIN]);
  });

  it('respect the cooldown while the alarm stays in ALARM', () => {
    // Breaching from minute 1 on: fires at 3, then not before 3 + 5 = 8, then 13.
    const { launches, asg } = fakeGroup({ steps: [policy] }, Array(14).fill(5));
    expect([...new Set(launches)]).toEqual([3 * MIN, 8 * MIN, 13 * MIN]);
    expect(asg.desired).toBe(8);
  });

  it('alarm on the mean queue time of the builds started in the period, holding state without data', () => {
    const onQueue = { ...policy, metric: 'queue_time_ms' as const, threshold: 30_000, periodMs: 2 * MIN, evaluationPeriods: 2, datapointsToAlarm: 2 };
    // Periods end at minutes 2, 4, 6, 8: means 10 s, 40 s, (no build: no data), 45 s → fires at 8, not at 6.
    const { launches } = fakeGroup({ steps: [onQueue] }, [10, 10, 40, 40, -1, -1, 50, 40]);
    expect(launches).toEqual([8 * MIN, 8 * MIN]);
    // Only the period's builds count: 40 s, then 5 s (not the 22.5 s mean since the start), 40 s, 40 s → fires at 8.
    expect(fakeGroup({ steps: [onQueue] }, [40, 40, 5, 5, 40, 40, 40, 40]).launches).toEqual([8 * MIN, 8 * MIN]);
  });

  it('datapoints_to_alarm 2 of 3 fires on two breaching periods among three, where 3 of 3 waits', () => {
    // Breaches at minutes 1, 3 (a dip at 2): 2 of 3 fires at 3; 3 of 3 not before three in a row (3, 4, 5).
    expect(fakeGroup({ steps: [{ ...policy, datapointsToAlarm: 2 }] }, [5, 0, 5, 0, 0, 0]).launches).toEqual([3 * MIN, 3 * MIN]);
    expect(fakeGroup({ steps: [policy] }, [5, 0, 5, 5, 5, 5]).launches).toEqual([5 * MIN, 5 * MIN]);
  });

  it('treat_missing_data breaching: periods without data (no build started) count as breaching', () => {
    const onQueue = { ...policy, metric: 'queue_time_ms' as const, threshold: 30_000, evaluationPeriods: 2, datapointsToAlarm: 2 };
    // Minute 1: 10 s; minutes 2-5: no build. Missing fills the range until the good datum leaves it (range 4 at minute 5).
    expect(fakeGroup({ steps: [{ ...onQueue, treatMissingData: 'breaching' }] }, [10, -1, -1, -1, -1]).launches).toEqual([5 * MIN, 5 * MIN]);
    expect(fakeGroup({ steps: [onQueue] }, [10, -1, -1, -1, -1]).launches).toEqual([]);
  });

  it('stay within max', () => {
    const { asg } = fakeGroup({ max: 5, steps: [{ ...policy, cooldownMs: 0 }] }, Array(10).fill(5));
    expect(asg.desired).toBe(5);
  });
});

const idleWeekday = `name: weekday
seed: 1
duration: 8h30m
topology: { nomad_clients: { count: 2 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 0.001 }
  jobs: [{ duration: 5m }]
autoscaling:
  min: 2
  max: 40
  boot_time: 4m
  policies:
    - { kind: scheduled, cron: "0 8 * * 1-5", desired: 6 }
`;

describe('the Auto Scaling Group in a run', () => {
  it('scales up at 08:00 on a weekday and reaches the desired capacity after the boot time', () => {
    const { report, lines } = run(idleWeekday);
    const launches = lines.filter((l) => l.includes('autoscaling launch'));
    const booted = lines.filter((l) => l.includes('booted and registered'));
    expect(launches.map((l) => Number(l.split(' ')[0]))).toEqual(Array(4).fill(8 * HOUR));
    expect(booted.map((l) => Number(l.split(' ')[0]))).toEqual(Array(4).fill(8 * HOUR + 4 * MIN));
    expect(report.autoscaling).toMatchObject({ launched: 4, terminated: 0, actions: 1, final_desired: 6, final_instances: 6 });
  });

  it('draws boot times from a distribution on its own stream', () => {
    const { lines } = run(idleWeekday.replace('boot_time: 4m', 'boot_time: { median: 3m, p95: 5m }'));
    const boots = lines.filter((l) => l.includes('autoscaling launch')).map((l) => Number(/boots in (\d+) ms/.exec(l)![1]));
    expect(boots).toHaveLength(4);
    expect(new Set(boots).size).toBe(4);
    for (const b of boots) expect(b).toBeGreaterThan(MIN);
  });

  it('scales in by draining: no running build is killed, and clients terminate once their allocations are done', () => {
    const { report, lines } = run(`name: scale-in
seed: 4
duration: 2h
topology: { nomad_clients: { count: 6 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 40 }
  jobs: [{ duration: 20m }]
autoscaling:
  min: 1
  max: 10
  policies:
    - { kind: scheduled, cron: "0 1 * * *", desired: 2 }
`);
    const drained = lines.filter((l) => l.includes('scale-in: draining'));
    expect(drained).toHaveLength(4);
    // At least one client was busy when drained: the hook had something to wait for.
    expect(drained.some((l) => !l.includes('(0 allocations)'))).toBe(true);
    expect(report.autoscaling).toMatchObject({ terminated: 4, final_instances: 2 });
    expect(report.builds.lost).toBe(0);
    expect(report.builds.retried).toBe(0);
    expect(report.builds.failed).toBe(0);
  });
});

describe('target tracking in a run', () => {
  const yaml = `name: tt
seed: 3
duration: 6h
topology: { nomad_clients: { count: 2 } }
workload:
  arrivals: { kind: burst, base_per_hour: 2, burst_per_hour: 150, first_at: 1h, every: 6h, length: 2h }
  jobs: [{ duration: 10m }]
autoscaling:
  min: 2
  max: 30
  boot_time: 3m
  policies:
    - { kind: target_tracking, metric: cpu_utilisation, target: 60 }
`;

  it('scales out within minutes of the burst, then back in after it, conservatively and without killing builds', () => {
    const { report, lines } = run(yaml);
    const outs = lines.filter((l) => l.includes('target tracking scale-out')).map((l) => Number(l.split(' ')[0]));
    const ins = lines.filter((l) => l.includes('target tracking scale-in')).map((l) => Number(l.split(' ')[0]));
    expect(outs.length).toBeGreaterThan(0);
    // The first scale-out comes within 10 minutes of the burst's start (3 datapoints above target, after the fleet fills).
    expect(outs[0]!).toBeGreaterThan(1 * HOUR);
    expect(outs[0]!).toBeLessThan(1 * HOUR + 10 * MIN);
    // In conservatively: a scale-in needs 15 datapoints below target, so it comes at least 15 minutes after any
    // scale-out (which needed a datapoint above), and scale-ins are at least the 5-minute cooldown apart.
    expect(ins.length).toBeGreaterThan(1);
    for (const t of ins) {
      const lastOut = Math.max(...outs.filter((o) => o < t));
      expect(t - lastOut).toBeGreaterThanOrEqual(15 * MIN);
    }
    for (let i = 1; i < ins.length; i++) expect(ins[i]! - ins[i - 1]!).toBeGreaterThanOrEqual(5 * MIN);
    // Out proportionally: from 2 clients the first steps are ceil(2 x 100 / 60) = 4, then ceil(4 x 100 / 60) = 7.
    expect(lines.find((l) => l.includes('scale-out'))).toContain('desired 2 -> 4');
    expect(ins.at(-1)!).toBeGreaterThan(3 * HOUR);
    expect(report.autoscaling!.peak_instances).toBeGreaterThan(6);
    expect(report.autoscaling!.final_desired).toBe(2);
    expect(report.builds.lost + report.builds.retried + report.builds.failed).toBe(0);
  });

  it('holds the fleet when scale-in is disabled', () => {
    const { report } = run(yaml.replace('target: 60 }', 'target: 60, disable_scale_in: true }'));
    expect(report.autoscaling!.final_desired).toBe(report.autoscaling!.peak_instances);
  });
});

describe('a Nomad client terminated outside the group (terminate_instance)', () => {
  const scenario = (autoscaling: string) => `name: asg-terminate
seed: 3
duration: 3h
topology:
  nomad_clients: { count: 4, cpus: 8, memory_gb: 32, boot_time: 1m }
workload:
  arrivals: { kind: poisson, rate_per_hour: 30 }
  jobs:
    - { duration: 5m }
faults:
  - { at: 1h, action: terminate_instance, target: nomad_client, count: 2 }
${autoscaling}`;

  it('is replaced by the group: it learns of the termination and launches replacements that boot for its boot_time', () => {
    const { report, lines } = run(scenario('autoscaling: { min: 4, max: 6, boot_time: 7m }\n'));
    expect(report.autoscaling).toMatchObject({ replaced: 2, launched: 2, terminated: 0, final_desired: 4, final_instances: 4 });
    const outside = lines.filter((l) => / terminated outside the group$/.test(l));
    expect(outside).toHaveLength(2);
    expect(outside.every((l) => l.startsWith(`${HOUR} `))).toBe(true);
    // The replacements launch at the termination and register after the group's 7 minutes, not nomad_clients' 1.
    const launches = lines.filter((l) => / autoscaling launch i-/.test(l));
    expect(launches.map((l) => Number(l.split(' ')[0]))).toEqual([HOUR, HOUR]);
    expect(launches.every((l) => l.endsWith('boots in 420000 ms'))).toBe(true);
    const registered = lines.filter((l) => /^\d+ client \S+ booted and registered$/.test(l)).map((l) => Number(l.split(' ')[0]));
    expect(registered).toEqual([HOUR + 7 * MIN, HOUR + 7 * MIN]);
    // The terminated instances have left the group: it holds the two survivors and the two replacements.
    const twin = new Twin(parseScenario(scenario('autoscaling: { min: 4, max: 6, boot_time: 7m }\n'), 'asg.yaml', ctx), profile);
    twin.run();
    expect(twin.asg!.members).toBe(4);
  });

  it('without a group, is replaced after nomad_clients.boot_time, and the report has no autoscaling', () => {
    const { report, lines } = run(scenario(''));
    expect(report.autoscaling).toBeUndefined();
    const registered = lines.filter((l) => /^\d+ client \S+ booted and registered$/.test(l)).map((l) => Number(l.split(' ')[0]));
    expect(registered).toEqual([HOUR + MIN, HOUR + MIN]);
  });
});
