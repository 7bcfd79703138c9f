import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, parseCliArgs } from '../cli/args.ts';
import { main } from '../cli/main.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { checkLiveSupport } from '../live/replay/run-live.ts';

describe('twin up --nomad', () => {
  it('takes real or twin, and nothing else, on `twin up`, `twin train` and `twin run` only', () => {
    expect(parseCliArgs(['up', '--nomad', 'real']).nomad).toBe('real');
    expect(parseCliArgs(['up', '-d', '--nomad', 'twin'])).toMatchObject({ nomad: 'twin', detach: true });
    expect(parseCliArgs(['up']).nomad).toBeUndefined();
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow(CliError);
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow('--nomad must be real or twin, got `dev`');
    expect(parseCliArgs(['run', 'scenarios/baseline.yaml', '--mode', 'live', '--nomad', 'real']).nomad).toBe('real');
    expect(() => parseCliArgs(['agree', 'scenarios/baseline.yaml', '--nomad', 'real'])).toThrow('option --nomad does not apply to `twin agree`');
  });
});

describe('twin run --nomad', () => {
  const capture = () => {
    const err = { text: '' };
    return { err, io: { stdout: { write: () => undefined }, stderr: { write: (s: string) => (err.text += s) } } };
  };

  it('refuses --nomad on a run in the simulation, before anything runs', async () => {
    const c = capture();
    expect(await main(['run', 'scenarios/baseline.yaml', '--nomad', 'real', '-q'], c.io)).toBe(2);
    expect(c.err.text).toContain('--nomad acts on a live run; baseline would run in the simulation');
    expect(c.err.text).toContain('add --mode live');
  });

  it('refuses faults on the Nomad clients with --nomad real (the real agent has no twin fleet), with a hint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twin-nomad-run-'));
    try {
      const file = join(dir, 'drain.yaml');
      writeFileSync(file, ['name: drain-real', 'seed: 3', 'duration: 20m', 'mode: live', 'workload:', '  arrivals: { kind: poisson, rate_per_hour: 60 }', '  jobs: [ { name: build, duration: { median: 2m, p95: 4m } } ]', 'faults:', '  - { at: 5m, action: drain, target: nomad_client, count: 1 }', ''].join('\n'));
      const s = loadScenarioFile(file, { command: 'run' });
      expect(() => checkLiveSupport(s, 'twin')).not.toThrow();
      expect(() => checkLiveSupport(s, 'real')).toThrow(/faults\[0\] \(drain nomad_client at 5 min\): with --nomad real, live mode cannot drain `nomad_client`/);
      expect(() => checkLiveSupport(s, 'real')).toThrow(expect.objectContaining({ hint: expect.stringContaining('without --nomad real') }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
