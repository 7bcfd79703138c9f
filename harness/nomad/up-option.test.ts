import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, parseCliArgs } from '../cli/args.ts';
import { main } from '../cli/main.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { checkLiveSupport } from '../live/replay/run-live.ts';

describe('twin up --nomad', () => {
  it('takes real or twin, and nothing else, on `twin up`, `twin train`, `twin run` and `twin agree` only', () => {
    expect(parseCliArgs(['up', '--nomad', 'real']).nomad).toBe('real');
    expect(parseCliArgs(['up', '-d', '--nomad', 'twin'])).toMatchObject({ nomad: 'twin', detach: true });
    expect(parseCliArgs(['up']).nomad).toBeUndefined();
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow(CliError);
    expect(() => parseCliArgs(['up', '--nomad', 'dev'])).toThrow('--nomad must be real or twin, got `dev`');
    expect(parseCliArgs(['run', 'scenarios/baseline.yaml', '--mode', 'live', '--nomad', 'real']).nomad).toBe('real');
    expect(parseCliArgs(['agree', 'scenarios/baseline.yaml', '--nomad', 'twin']).nomad).toBe('twin');
    expect(() => parseCliArgs(['validate', 'scenarios/baseline.yaml', '--nomad', 'real'])).toThrow('option --nomad does not apply to `twin validate`');
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

  it('with --nomad real, carries out a drain of the real agent\'s one client node and refuses the client faults it cannot carry out, each with its reason and a hint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twin-nomad-run-'));
    try {
      const check = (fault: string, nomad: 'real' | 'twin') => {
        const file = join(dir, 'fault.yaml');
        writeFileSync(file, ['name: client-fault-real', 'seed: 3', 'duration: 20m', 'mode: live', 'workload:', '  arrivals: { kind: poisson, rate_per_hour: 60 }', '  jobs: [ { name: build, duration: { median: 2m, p95: 4m } } ]', 'faults:', `  - ${fault}`, ''].join('\n'));
        return () => checkLiveSupport(loadScenarioFile(file, { command: 'run' }), nomad);
      };
      expect(check('{ at: 5m, action: drain, target: nomad_client, count: 1, for: 2m }', 'real')).not.toThrow();
      expect(check('{ at: 5m, action: drain, target: nomad_client, count: 2 }', 'twin')).not.toThrow();
      expect(check('{ at: 5m, action: drain, target: nomad_client, count: 2 }', 'real')).toThrow(/faults\[0\] \(drain nomad_client at 5 min\): with --nomad real, live mode cannot drain `nomad_client` \(count 2\): the real agent has 1 client node, so 2 cannot be drained/);
      expect(check('{ at: 5m, action: kill, target: nomad_client, count: 1 }', 'real')).toThrow(/cannot kill `nomad_client`: the real agent's client runs in its server's process \(`kill nomad_server` stops both\)/);
      expect(check('{ at: 5m, action: terminate_instance, target: nomad_client, count: 1 }', 'real')).toThrow(/cannot terminate_instance `nomad_client`: there is no instance to terminate/);
      expect(check('{ at: 5m, action: partition, target: nomad_client, for: 2m }', 'real')).toThrow(/cannot partition `nomad_client`: .*no network between them to cut/);
      expect(check('{ at: 5m, action: kill, target: nomad_client, count: 1 }', 'real')).toThrow(expect.objectContaining({ hint: expect.stringContaining('a drain of nomad_client with count 1') }));
      expect(check('{ at: 5m, action: kill, target: nomad_client, count: 1 }', 'twin')).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('twin agree --nomad real', () => {
  it('is refused with the reason (a real agent\'s build starts a process, beyond the agreement\'s latency budget) and a hint, before anything starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twin-nomad-agree-'));
    try {
      // A scenario the live replay would refuse for another reason under --nomad real: only the agreement's refusal names the agreement.
      const file = join(dir, 'drain.yaml');
      writeFileSync(file, ['name: drain-real', 'seed: 3', 'duration: 20m', 'workload:', '  arrivals: { kind: poisson, rate_per_hour: 60 }', '  jobs: [ { name: build, duration: { median: 2m, p95: 4m } } ]', 'faults:', '  - { at: 5m, action: drain, target: nomad_client, count: 1 }', ''].join('\n'));
      const err = { text: '' };
      const io = { stdout: { write: () => undefined }, stderr: { write: (s: string) => (err.text += s) } };
      const t0 = Date.now();
      expect(await main(['agree', file, '--nomad', 'real', '-q'], io)).toBe(2);
      expect(err.text).toContain('twin agree: --nomad real: the agreement cannot be judged on a real Nomad agent');
      expect(err.text).toMatch(/3\.4 s of wall time per build .* allows 250 ms of wall time per build at any time scale/);
      expect(err.text).toContain('hint: `twin run FILE --mode live --nomad real`');
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
