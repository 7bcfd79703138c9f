import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../main.ts';
import { captureIo as capture } from '../capture-io.ts';
import { tempDirs } from '../../test-temp.ts';

const tempDir = tempDirs('twin-tune-');

/** Two hours of a small fleet: a sweep of it runs in a second or two per cell. */
const SCENARIO = `name: small-fleet
seed: 5
duration: 2h
topology:
  nomad_clients: { count: 4, instance_type: m5.2xlarge }
workload:
  arrivals: { kind: poisson, rate_per_hour: 120 }
  jobs:
    - { weight: 1, duration: { median: 5m, p95: 9m } }
cost:
  developer_hour_usd: 200
`;

function scenarioFile(): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, 'small.yaml');
  writeFileSync(file, SCENARIO);
  return { dir, file };
}

describe('twin tune', () => {
  it('runs the grid on worker threads and writes the same tune.json, tune.md and tune.html as --jobs 1', async () => {
    const { dir, file } = scenarioFile();
    const sweep = ['--sweep', 'topology.nomad_clients.count=2,3,6', '--sweep', 'topology.scheduler=binpack,spread', '--replications', '2', '--targets', 'p95_queue_s<=60'];
    const one = capture();
    expect(await main(['tune', file, ...sweep, '--jobs', '1', '--out', join(dir, 'one')], one.io), one.stderr).toBe(0);
    const two = capture();
    expect(await main(['tune', file, ...sweep, '--jobs', '2', '--out', join(dir, 'two')], two.io), two.stderr).toBe(0);
    for (const f of ['tune.json', 'tune.md', 'tune.html']) expect(readFileSync(join(dir, 'two', f), 'utf8'), f).toBe(readFileSync(join(dir, 'one', f), 'utf8'));
    expect(two.stderr).toContain('6 cells × 2 replications = 12 runs on 2 worker threads, seed 5');
    expect(two.stderr).toMatch(/12\/12 runs/);

    const r = JSON.parse(readFileSync(join(dir, 'one', 'tune.json'), 'utf8'));
    expect(r.cells).toHaveLength(6);
    expect(r.cells[0].params).toEqual({ 'topology.nomad_clients.count': 2, 'topology.scheduler': 'binpack' });
    expect(new Set(r.cells.flatMap((c: { seeds: number[] }) => c.seeds)).size).toBe(12);
    for (const c of r.cells) {
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['params', 'cost_per_day', 'cost', 'queue_time_ms', 'utilisation', 'throughput', 'intervals']));
      expect(c.intervals.cost_per_day.low).toBeLessThanOrEqual(c.cost_per_day);
    }
    // Two clients cannot keep up with 120 builds an hour of 5 minutes (10 running on average, 12 slots): they queue.
    const byCount = (n: number) => r.cells.filter((c: { params: Record<string, number> }) => c.params['topology.nomad_clients.count'] === n);
    expect(Math.min(...byCount(2).map((c: { queue_time_ms: { p95: number } }) => c.queue_time_ms.p95))).toBeGreaterThan(60_000);
    expect(r.recommended).not.toBeNull();
    expect(r.cells[r.recommended.cell].meets_targets).toBe(true);
    for (const c of r.cells) if (c.meets_targets) expect(c.cost_per_day).toBeGreaterThanOrEqual(r.recommended.cost_per_day);
    expect(r.pareto.map((p: { cell: number }) => p.cell)).toContain(r.cells.reduce((a: { cost_per_day: number; cell: number }, b: { cost_per_day: number; cell: number }) => (b.cost_per_day < a.cost_per_day ? b : a)).cell);
    expect(one.stdout).toMatch(/^BEST small-fleet: cell \d \(topology\.nomad_clients\.count=\d, topology\.scheduler=\w+\): [\d.]+ USD\/day/);
    expect(one.stdout).toContain(`Rerun: twin tune ${file} --sweep topology.nomad_clients.count=2,3,6 --sweep topology.scheduler=binpack,spread --seed 5 --replications 2 --targets 'p95_queue_s<=60'`);
    const md = readFileSync(join(dir, 'one', 'tune.md'), 'utf8');
    expect(md).toContain(`| ★ ${r.recommended.cell} |`);
    expect(md.match(/★/g)).toHaveLength(1);
  }, 240_000);

  it('draws random cells from the grid with --sample random, the same ones for the same seed', async () => {
    const { dir, file } = scenarioFile();
    const args = ['tune', file, '--sweep', 'topology.nomad_clients.count=3,4,5,6', '--sweep', 'cost.developer_hour_usd=50,100,200', '--sample', 'random', '--samples', '3', '--jobs', '1', '--json', '-q'];
    const a = capture();
    expect(await main([...args, '--out', join(dir, 'a')], a.io), a.stderr).toBe(0);
    const ra = JSON.parse(a.stdout);
    expect(ra.cells).toHaveLength(3);
    expect(ra.grid_cells).toBe(12);
    expect(ra.sample).toBe('random');
    const b = capture();
    expect(await main([...args, '--out', join(dir, 'b')], b.io)).toBe(0);
    expect(JSON.parse(b.stdout).cells.map((c: { params: unknown }) => c.params)).toEqual(ra.cells.map((c: { params: unknown }) => c.params));
  }, 240_000);

  it('exits 1 when no cell meets the targets', async () => {
    const { dir, file } = scenarioFile();
    const c = capture();
    expect(await main(['tune', file, '--sweep', 'topology.nomad_clients.count=2,3', '--targets', 'p95_queue_s<=0.001', '--jobs', '1', '-q', '--out', join(dir, 'o')], c.io)).toBe(1);
    expect(c.stdout).toMatch(/^NONE small-fleet: no cell meets p95_queue_s<=0.001/);
    expect(existsSync(join(dir, 'o', 'tune.html'))).toBe(true);
  }, 240_000);

  it('runs the file\'s tune section and exits 1 when its expect lines do not hold; twin run refuses the section', async () => {
    const { dir } = scenarioFile();
    const file = join(dir, 'study.yaml');
    const study = (max: number) => `${SCENARIO}tune:
  sweep:
    topology.nomad_clients.count: [3, 6]
  expect:
    - { metric: recommended.params.topology.nomad_clients.count, max: ${max} }
    - { metric: cells.1.utilisation.mean_cpu, max: 1 }
`;
    writeFileSync(file, study(6));
    const ok = capture();
    expect(await main(['tune', file, '--jobs', '1', '-q', '--out', join(dir, 'ok')], ok.io), ok.stderr).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'ok', 'tune.json'), 'utf8'));
    expect(r.sweep).toEqual([{ key: 'topology.nomad_clients.count', values: [3, 6] }]);
    expect(r.expectations.map((e: { passed: boolean }) => e.passed)).toEqual([true, true]);
    expect(r.passed).toBe(true);
    expect(r.replay).toBe(`twin tune ${file} --seed 5`);
    const rec = r.recommended.params['topology.nomad_clients.count'] as number;
    expect(ok.stdout).toContain(`pass tune.expect recommended.params.topology.nomad_clients.count ≤ 6: actual ${rec}`);
    // The same sweep with the conclusion made false: exit 1, the failure in the summary and in tune.md.
    writeFileSync(file, study(rec - 1));
    const bad = capture();
    expect(await main(['tune', file, '--jobs', '1', '-q', '--out', join(dir, 'bad')], bad.io)).toBe(1);
    expect(bad.stdout).toContain(`FAIL tune.expect recommended.params.topology.nomad_clients.count ≤ ${rec - 1}: actual ${rec}`);
    expect(readFileSync(join(dir, 'bad', 'tune.md'), 'utf8')).toContain('1 of 2 FAILED');
    // Flags replace the file's sweep; the replay repeats them.
    const flags = capture();
    await main(['tune', file, '--sweep', 'topology.nomad_clients.count=4', '--jobs', '1', '-q', '--json', '--out', join(dir, 'flags')], flags.io);
    expect(JSON.parse(flags.stdout).cells.map((c: { params: unknown }) => c.params)).toEqual([{ 'topology.nomad_clients.count': 4 }]);
    const run = capture();
    expect(await main(['run', file, '--out', join(dir, 'run')], run.io)).toBe(2);
    expect(run.stderr).toContain('`tune` is a sweep of this scenario, which `twin run` does not run');
    expect(run.stderr).toContain(`twin tune ${file}`);
  }, 240_000);

  it('refuses a bad value before anything runs, naming the sweep and the cell, and writes nothing', async () => {
    const { dir, file } = scenarioFile();
    const cases: [string[], string][] = [
      [['--sweep', 'topology.nomad_clients.count=4,99999'], '--sweep topology.nomad_clients.count=99999'],
      [['--sweep', 'topology.scheduler=binpack,fastest'], '--sweep topology.scheduler="fastest"'],
      [['--sweep', 'topology.nomad_clients.instance_type=m5.2xlarge,m9.huge'], '--sweep topology.nomad_clients.instance_type="m9.huge"'],
      [['--sweep', 'topology.nomad_clients.count=4', '--sample', 'random'], '--sample random needs --samples N'],
      [['--sweep', 'topology.nomad_clients.count=4', '--samples', '3'], '--samples applies to --sample random'],
      [['--sweep', 'topology.nomad_clients.count=4', '--targets', 'p95<=1'], 'unknown metric `p95`'],
      [['--sweep', 'autoscaling.policies.0.desired=4'], '--sweep autoscaling.policies.0.desired: autoscaling.policies has 0 items in the scenario'],
    ];
    for (const [extra, expected] of cases) {
      const c = capture();
      const out = join(dir, 'never');
      expect(await main(['tune', file, ...extra, '--jobs', '1', '--out', out], c.io), extra.join(' ')).toBe(2);
      expect(c.stderr, extra.join(' ')).toContain(expected);
      expect(c.stderr).toContain('hint:');
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);
});
