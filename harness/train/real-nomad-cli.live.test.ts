import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { drillFile, loadDrill } from './drills.ts';
import { executeLine } from './console.ts';
import { RealNomadCli } from './real-nomad-cli.ts';
import { TrainingSession } from '../../sim/training/session.ts';
import { which } from '../providers/process.ts';

/**
 * The real `nomad` binary inside a drill: read-only commands run it against the twin's Nomad API serving the
 * drill's simulated cluster; the drain the trainee undoes with the built-in `node-drain` shows in the real CLI's
 * next answer. Skipped (one line) without a `nomad` on PATH or at /opt/nomad-0.9.3/nomad.
 */
const BINARY = which('nomad') ?? (existsSync('/opt/nomad-0.9.3/nomad') ? '/opt/nomad-0.9.3/nomad' : undefined);

describe.skipIf(BINARY === undefined)(`the real nomad CLI in a drill (${BINARY ?? 'skipped: no nomad binary on PATH or in /opt/nomad-0.9.3'})`, () => {
  let s: TrainingSession;
  let cli: RealNomadCli;
  beforeAll(async () => {
    const { drill, installation, profile } = loadDrill(drillFile('nomad-clients-draining'));
    s = new TrainingSession(drill, installation, profile);
    cli = (await RealNomadCli.start(s, BINARY))!;
  });
  afterAll(async () => {
    await cli?.stop();
  });

  it('lists the drill\'s four drained clients with the real binary, and the transcript records it', async () => {
    const r = await executeLine(s, 'nomad node-status -allocs', undefined, cli);
    expect(r.exit).toBe(0);
    const rows = r.output.split('\n').slice(1);
    expect(rows.map((l) => l.split(/\s+/)[0]).sort()).toEqual(['3fbc8e92', '40718a7c', 'a44ed808', 'db25dff1']);
    expect(rows.every((l) => / true /.test(l))).toBe(true);
    expect(s.entries.at(-1)).toMatchObject({ command: 'nomad node-status -allocs', exit: 0 });
  });

  it('follows the simulation: a client undrained by the built-in node-drain reads Drain false in the real CLI, and pending jobs then run', async () => {
    const before = await executeLine(s, 'nomad status', undefined, cli);
    expect(before.output).toContain('pending');
    expect(cli.argsOf('nomad node-drain -disable -yes 3fbc8e92')).toBeUndefined();
    expect((await executeLine(s, 'nomad node-drain -disable -yes 3fbc8e92', undefined, cli)).exit).toBe(0);
    const r = await executeLine(s, 'nomad node status 3fbc8e92', undefined, cli);
    expect(r.output).toMatch(/Drain\s+= false/);
    const after = await executeLine(s, 'nomad status | grep running', undefined, cli);
    expect(after.exit).toBe(0);
  });

  it('answers an unknown id with 0.9.3\'s own words (nomad status searches every context), and its exit code reaches the transcript', async () => {
    const r = await executeLine(s, 'nomad status no-such-job', undefined, cli);
    expect(r, r.output).toMatchObject({ exit: 1, output: 'Unable to resolve ID: "no-such-job"' });
    expect(s.entries.at(-1)!.exit).toBe(1);
  });
});

describe('which lines go to the real binary', () => {
  it('takes the read-only commands in both spellings, and leaves writes to the emulation', async () => {
    const { drill, installation, profile } = loadDrill(drillFile('nomad-clients-draining'));
    const fake = Object.create(RealNomadCli.prototype) as RealNomadCli;
    void new TrainingSession(drill, installation, profile);
    expect(fake.argsOf('nomad status')).toEqual(['status']);
    expect(fake.argsOf('sudo docker exec -it nomad nomad node status -allocs | grep true')).toEqual(['node', 'status', '-allocs']);
    expect(fake.argsOf('nomad alloc logs -stderr abc')).toEqual(['alloc', 'logs', '-stderr', 'abc']);
    for (const w of ['nomad node-drain -enable -yes 3fbc8e92', 'nomad node eligibility -disable x', 'nomad job stop j', 'nomad job run j.nomad', 'sudo docker ps']) expect(fake.argsOf(w), w).toBeUndefined();
  });
});
