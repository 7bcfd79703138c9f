/**
 * `twin run --mode live --nomad real`: a 20-minute scenario at 60x replayed on twin up's stack whose Nomad server
 * is a real agent (server and client, its own data dir): the replay's builds run as raw_exec build agents on it,
 * a kill of nomad_server goes through the fault adapter to the agent's process, and a drain of nomad_client to its
 * one node (through its API). Skipped with one line without a `nomad` binary.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import type { Report } from '../../sim/report/types.ts';
import { which } from '../providers/process.ts';

const binary = which('nomad');

describe.skipIf(binary === undefined)(`twin run --mode live --nomad real (${binary ?? 'skipped: no `nomad` binary on PATH'})`, () => {
  const out = mkdtempSync(join(tmpdir(), 'twin-real-replay-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('replays a short scenario with its builds on the real agent, kills and starts its server and drains its client node through the fault adapter', async () => {
    const file = join(out, 'real-nomad.yaml');
    writeFileSync(
      file,
      [
        'name: real-nomad-short',
        'seed: 11',
        'duration: 20m',
        'workload:',
        '  arrivals: { kind: poisson, rate_per_hour: 60 }',
        '  jobs: [ { name: build, duration: { median: 1m, p95: 2m } } ]',
        'faults:',
        '  - { at: 8m, action: kill, target: nomad_server, for: 2m }',
        '  - { at: 13m, action: drain, target: nomad_client, count: 1, for: 3m }',
        '',
      ].join('\n'),
    );
    const err = { text: '' };
    const io = { stdout: { write: () => undefined }, stderr: { write: (s: string) => (err.text += s) } };
    const dir = join(out, 'report');
    const code = await main(['run', file, '--mode', 'live', '--nomad', 'real', '--time-scale', '60', '--out', dir], io);
    expect(existsSync(join(dir, 'report.json')), err.text).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;
    expect(report.mode).toBe('live');
    expect(err.text).toMatch(/nomad_server: nomad agent \(server and client, data dir [^)]+\).*: the builds run on its 1 client \(the scenario.s 10 Nomad clients/);
    const log = report.live!.fault_log;
    expect(log.some((l) => /kill nomad_server/.test(l)), log.join('\n')).toBe(true);
    expect(log.some((l) => /start nomad_server/.test(l)), log.join('\n')).toBe(true);
    // The drain of the scenario's client acts on the real agent's one node, through its API, and is undone after `for`.
    expect(log.some((l) => /drain nomad_client: drain enabled on the real agent's node \S+ \([0-9a-f]{8}, now ineligible(, draining)?\)/.test(l)), log.join('\n')).toBe(true);
    expect(log.some((l) => /undrain nomad_client: drain disabled on the real agent's node \S+ \([0-9a-f]{8}, now eligible\)/.test(l)), log.join('\n')).toBe(true);
    console.info(`real-nomad-short on ${report.live?.backends['nomad_server'] ?? 'nomad_server'}: ${JSON.stringify(report.builds)}`);
    expect(report.builds.succeeded, err.text).toBeGreaterThan(0);
    // The agreement section is there, with why its queue times cannot be judged on a real agent (on the summary too).
    expect(report.agreement?.caveat).toMatch(/^the builds ran on a real Nomad agent \(--nomad real\): the agreement cannot be judged on a real Nomad agent: .*; the counts are comparable, the queue times are not$/);
    expect(code, err.text).toBeLessThanOrEqual(1);
  }, 600_000);
});
