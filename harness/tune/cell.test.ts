import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runTuneCell, type TuneCellTask } from './cell.ts';
import { runTasks } from './pool.ts';
import { ScenarioError } from '../../sim/scenario/parse.ts';
import { tempDirs } from '../test-temp.ts';

const tempDir = tempDirs('twin-tune-cell-');

const SCENARIO = `name: one-hour
duration: 1h
topology:
  nomad_clients: { count: 3, instance_type: m5.2xlarge }
workload:
  arrivals: { kind: poisson, rate_per_hour: 90 }
  jobs:
    - { weight: 1, duration: 4m }
`;

function file(): { dir: string; path: string } {
  const dir = tempDir();
  const path = join(dir, 'one-hour.yaml');
  writeFileSync(path, SCENARIO);
  return { dir, path };
}

describe('runTuneCell', () => {
  it('runs a cell from the text or from the path alike, and its result survives JSON unchanged', async () => {
    const { dir, path } = file();
    const base = { overrides: { 'topology.nomad_clients.count': 2 }, seed: 77, cellIndex: 3, replication: 1 };
    const fromText = await runTuneCell({ ...base, scenarioText: SCENARIO, baseDir: dir, file: 'one-hour.yaml' });
    const fromPath = await runTuneCell({ ...base, path: basename(path), baseDir: dir });
    expect(fromPath).toEqual(fromText);
    expect(JSON.parse(JSON.stringify(fromText))).toEqual(fromText);
    expect(fromText).toMatchObject({ cellIndex: 3, replication: 1, seed: 77, params: { 'topology.nomad_clients.count': 2 }, scenario: 'one-hour' });
    // Two clients of 3 slots for 90 four-minute builds an hour (6 running on average): they run, some queue.
    expect(fromText.builds.triggered).toBeGreaterThan(60);
    expect(fromText.cost.machines_per_day).toBeGreaterThan(0);
    expect(fromText.queue_time_series.t_ms.length).toBeGreaterThan(10);
    const other = await runTuneCell({ ...base, seed: 78, scenarioText: SCENARIO, baseDir: dir });
    expect(other.queue_time_ms).not.toEqual(fromText.queue_time_ms);
  });

  it('refuses a bad value with a ScenarioError naming the sweep, in this thread and from a worker thread', async () => {
    const { dir } = file();
    const bad: TuneCellTask = { scenarioText: SCENARIO, baseDir: dir, overrides: { 'topology.nomad_clients.instance_type': 'm9.huge' }, seed: 1, cellIndex: 0, replication: 0 };
    await expect(runTuneCell(bad)).rejects.toThrow(/--sweep topology\.nomad_clients\.instance_type="m9\.huge"/);
    const good = { ...bad, overrides: {} };
    const fromWorker = await runTasks([good, bad, good], { jobs: 2 }).catch((e: unknown) => e);
    expect(fromWorker).toBeInstanceOf(ScenarioError);
    expect((fromWorker as ScenarioError).issues[0]!.file).toBe('--sweep topology.nomad_clients.instance_type="m9.huge"');
  }, 120_000);
});
