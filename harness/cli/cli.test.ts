import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.ts';
import { parseCliArgs, CliError } from './args.ts';

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

const OK = `name: cli-ok
duration: 30m
topology: { nomad_clients: { count: 2 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs: [ { duration: 2m } ]
expect:
  - { metric: builds.lost, max: 0 }
`;

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'twin-cli-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('parseCliArgs', () => {
  it('parses commands, files and options', () => {
    expect(parseCliArgs(['run', 'a.yaml', 'b.yaml', '--seed', '42', '--out', 'o'])).toMatchObject({ command: 'run', files: ['a.yaml', 'b.yaml'], seed: 42, out: 'o' });
    expect(parseCliArgs(['topology', '--version', '2.17.2', '--json'])).toMatchObject({ command: 'topology', version: '2.17.2', json: true });
  });

  it('rejects bad input with a hint', () => {
    const bad = (argv: string[]) => {
      try {
        parseCliArgs(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(CliError);
        return (e as CliError).message;
      }
      throw new Error('accepted');
    };
    expect(bad(['rnu'])).toContain('did you mean `run`?');
    expect(bad(['run', 'a.yaml', '--seed', 'x'])).toContain('--seed must be a whole number');
    expect(bad(['run', 'a.yaml', '--sede', '1'])).toContain('did you mean `--seed`?');
    expect(bad(['run'])).toContain('needs at least one scenario file');
    expect(bad(['topology', '--seed', '1'])).toContain('does not apply');
    expect(bad(['run', 'a.yaml', '--mode', 'real'])).toContain('sim or live');
    expect(bad(['run', 'a.yaml', '--time-scale', 'fast'])).toContain('--time-scale must be a number');
    expect(bad(['run', 'a.yaml', '--time-scale', '0'])).toContain('above 0');
    expect(bad(['validate', 'a.yaml', '--time-scale', '60'])).toContain('does not apply');
    expect(bad(['agree'])).toContain('needs at least one scenario file');
    expect(parseCliArgs(['agree', 'a.yaml', '--time-scale', '240'])).toMatchObject({ command: 'agree', timeScale: 240 });
  });
});

describe('twin CLI', () => {
  it('runs a scenario, writes the report files (and nomad-status.txt) and exits 0', async () => {
    const dir = tmp({ 'ok.yaml': OK });
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['run', join(dir, 'ok.yaml'), '--out', out, '-q'], c.io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['junit.xml', 'nomad-status.txt', 'report.html', 'report.json', 'report.md']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ scenario: 'cli-ok', seed: 1, passed: true, mode: 'sim' });
    expect(c.stdout).toMatch(/^PASS cli-ok: \d+ builds/);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('exits 1 on a failed expectation and prints the replay line', async () => {
    const dir = tmp({ 'fail.yaml': OK.replace('builds.lost, max: 0', 'builds.succeeded, max: 0') });
    const c = capture();
    expect(await main(['run', join(dir, 'fail.yaml'), '--out', join(dir, 'out'), '--seed', '9', '-q'], c.io)).toBe(1);
    expect(c.stdout).toContain('FAIL cli-ok');
    expect(c.stdout).toContain(`Rerun: twin run ${join(dir, 'fail.yaml')} --seed 9`);
    expect(readFileSync(join(dir, 'out', 'junit.xml'), 'utf8')).toContain('Rerun:');
  });

  it('exits 2 on a bad file among good ones and writes nothing', async () => {
    const dir = tmp({ 'ok.yaml': OK, 'bad.yaml': OK.replace('name: cli-ok', 'name: bad').replace('duration: 2m', 'duration: soon') });
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['run', join(dir, 'ok.yaml'), join(dir, 'bad.yaml'), '--out', out], c.io)).toBe(2);
    expect(c.stderr).toMatch(/bad\.yaml:6:\d+: workload\.jobs\[0\]\.duration: `soon` is not valid/);
    expect(c.stderr).toContain('nothing was run or written');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a live run whose faults have no live counterpart, before starting anything, and writes nothing', async () => {
    const dir = tmp({ 'live.yaml': `${OK}faults:\n  - { at: 10m, action: kill, target: telegraf }\n` });
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['run', join(dir, 'live.yaml'), '--mode', 'live', '--out', out], c.io)).toBe(2);
    expect(c.stderr).toContain('faults[0] (kill telegraf at 10 min): live mode cannot act on `telegraf` yet');
    expect(c.stderr).toContain('hint: live faults act on the real processes postgres, redis, rabbitmq');
    expect(c.stderr).not.toContain('starting postgres');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses two scenarios with the same name', async () => {
    const dir = tmp({ 'a.yaml': OK, 'b.yaml': OK });
    const c = capture();
    expect(await main(['run', join(dir, 'a.yaml'), join(dir, 'b.yaml'), '--out', join(dir, 'out')], c.io)).toBe(2);
    expect(c.stderr).toContain('is also used by');
  });

  it('writes one directory per scenario and a combined JUnit file for several', async () => {
    const dir = tmp({ 'a.yaml': OK, 'b.yaml': OK.replace('name: cli-ok', 'name: cli-two') });
    const out = join(dir, 'out');
    expect(await main(['run', join(dir, 'a.yaml'), join(dir, 'b.yaml'), '--out', out, '-q'], capture().io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['cli-ok', 'cli-two', 'junit.xml']);
    expect((readFileSync(join(out, 'junit.xml'), 'utf8').match(/<testsuite /g) ?? []).length).toBe(2);
  });

  it('validates files and prints the topology of either version', async () => {
    const dir = tmp({ 'ok.yaml': OK });
    const c = capture();
    expect(await main(['validate', join(dir, 'ok.yaml')], c.io)).toBe(0);
    expect(c.stdout).toContain('ok ');
    const t = capture();
    expect(await main(['topology', '--version', '2.17.2'], t.io)).toBe(0);
    expect(t.stdout).toContain('output-processor');
    expect(t.stdout).toContain('nomad_server');
    const bad = capture();
    expect(await main(['topology', '--version', '9.9'], bad.io)).toBe(2);
    expect(bad.stderr).toContain('2.19.6');
  });

  it('says plainly that commands not built yet are not available', async () => {
    const c = capture();
    expect(await main(['tune', 'x.yaml'], c.io)).toBe(2);
    expect(c.stderr).toContain('not available yet');
  });
});
