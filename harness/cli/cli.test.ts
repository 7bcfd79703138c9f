import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from './main.ts';
import { parseCliArgs, CliError, COMMANDS, OPTIONS } from './args.ts';
import { Progress } from './progress.ts';
import { runProgress } from './commands/run.ts';
import { captureIo as capture } from './capture-io.ts';

// A scenario named `explode` fails inside the simulation (after every file loaded), as a harness error would.
vi.mock('../../sim/run.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../sim/run.ts')>();
  return {
    ...actual,
    runScenarioDetailed: (...a: Parameters<typeof actual.runScenarioDetailed>) => {
      if (a[0].name === 'explode') throw new RangeError('the engine blew up');
      return actual.runScenarioDetailed(...a);
    },
  };
});


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
    expect(bad(['run', 'a.yaml', '--seed', '-3'])).toBe('--seed must be a whole number from 0 to 4294967295, got `-3`');
    expect(bad(['run', 'a.yaml', '--seed'])).toBe('--seed needs a value');
    expect(bad(['run', 'a.yaml', '--json=yes'])).toBe('--json takes no value');
    expect(bad(['help', 'rnu'])).toContain('did you mean `run`?');
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
    const dir = tmp({ 'live.yaml': `${OK}faults:\n  - { at: 10m, action: kill, target: api-service }\n` });
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['run', join(dir, 'live.yaml'), '--mode', 'live', '--out', out], c.io)).toBe(2);
    expect(c.stderr).toContain('faults[0] (kill api-service at 10 min): live mode cannot act on `api-service` yet');
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

  it('refuses a sweep of a key the scenario does not have, naming it and the keys beside it, before reading the file', async () => {
    const c = capture();
    expect(await main(['tune', 'x.yaml', '--sweep', 'topology.nomad_clients.cont=4,8'], c.io)).toBe(2);
    expect(c.stderr).toContain('--sweep topology.nomad_clients.cont: the scenario has no field `topology.nomad_clients.cont`; did you mean `topology.nomad_clients.count`?');
    expect(c.stderr).toContain('hint: keys under topology.nomad_clients: topology.nomad_clients.count, ');
  });
});

/** Every error the CLI prints has one form: `twin <command>: <what>` then `  hint: <what to do>`, and nothing else. */
const ERROR_FORM = /(?:^|\n)twin(?: [a-z]+)?: [^\n]+\n {2}hint: [^\n]+\n$/;

describe('a CLI people expect', () => {
  it('prints one command\'s usage, paragraph, only its options and examples for `<command> --help` and `help <command>`', async () => {
    for (const command of COMMANDS.filter((c) => c !== 'help')) {
      const a = capture();
      expect(await main([command, '--help'], a.io)).toBe(0);
      const b = capture();
      expect(await main(['help', command], b.io)).toBe(0);
      expect(b.stdout).toBe(a.stdout);
      expect(a.stdout).toMatch(new RegExp(`^Usage: twin ${command === 'version' ? '--version' : command}`));
      expect(a.stdout).toContain('Examples:\n  twin ');
      const options = a.stdout.slice(a.stdout.indexOf('\nOptions:\n'), a.stdout.indexOf('\nExamples:\n'));
      for (const [name, o] of Object.entries(OPTIONS)) {
        if (name === 'supervise') continue;
        if (o.commands.includes(command)) expect(options, `${command} --${name}`).toMatch(new RegExp(`^ {2}(-\\w, | {4})--${name}\\b`, 'm'));
        else expect(options, `${command} --${name}`).not.toMatch(new RegExp(`--${name}\\b`));
      }
    }
    const run = capture();
    await main(['run', '--help'], run.io);
    expect(run.stdout).not.toContain('Commands:');
    expect(run.stdout).toMatch(/--seed N +root seed/);
    const explore = capture();
    await main(['explore', '--help'], explore.io);
    expect(explore.stdout).toMatch(/--seed N +exploration seed/);
    const all = capture();
    expect(await main(['--help'], all.io)).toBe(0);
    for (const c of COMMANDS) expect(all.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
  });

  it('prints the package version, Node\'s and the version profiles for --version and -V', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const c = capture();
      expect(await main([flag], c.io)).toBe(0);
      expect(c.stdout).toContain(`twin ${pkg.version}`);
      expect(c.stdout).toContain(`node ${process.version}`);
      expect(c.stdout).toContain('version profiles: 2.17.2, 2.19.6 (default)');
    }
  });

  it('prints every bad-input error in one form, exit 2', async () => {
    const dir = tmp({ 'ok.yaml': OK });
    const cases: Array<[string[], string]> = [
      [['run', join(dir, 'ok.yaml'), '--seed', '-3'], 'twin run: --seed must be a whole number from 0 to 4294967295, got `-3`'],
      [['topology', '--version', '9.9'], 'twin topology: unknown version profile `9.9`; the versions there are: 2.17.2, 2.19.6 (the default)'],
      [['conformance', '--version', '2.19'], 'twin conformance: unknown version profile `2.19`'],
      [['rnu'], 'twin: unknown command `rnu`; did you mean `run`?'],
      [['run'], 'twin run: `twin run` needs at least one scenario file'],
      [['run', join(dir, 'ok.yaml'), '--sede', '1'], 'twin run: unknown option `--sede`; did you mean `--seed`?'],
      // Without --sweep the file may hold the sweep (its `tune:` section): a file without one has nothing to sweep.
      [['tune', join(dir, 'ok.yaml')], 'twin tune: nothing to sweep'],
      [['run', join(dir, 'ok.yaml'), '--out', join(dir, 'ok.yaml', 'out'), '-q'], `twin run: cannot mkdir ${join(dir, 'ok.yaml')}: EEXIST (file already exists)\n  hint: check the path`],
      [['validate', join(dir, 'missing.yaml')], ''],
    ];
    for (const [argv, first] of cases) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(2);
      if (argv[0] === 'validate') continue;
      expect(c.stderr, argv.join(' ')).toMatch(ERROR_FORM);
      expect(c.stderr, argv.join(' ')).toContain(first);
      expect(c.stderr).not.toMatch(/\n {4}at /);
      expect(c.stderr).not.toContain('UNKNOWN_VERSION');
      expect(c.stderr).not.toContain('ERR_PARSE_ARGS');
      expect(c.stdout).toBe('');
    }
  });

  it('ends a scenario error with one summary line in the same form', async () => {
    const dir = tmp({ 'bad.yaml': OK.replace('duration: 2m', 'duration: soon') });
    const c = capture();
    expect(await main(['run', join(dir, 'bad.yaml')], c.io)).toBe(2);
    expect(c.stderr).toMatch(/\ntwin run: 1 problem in the scenario files; nothing was run or written\.\n {2}hint: [^\n]+\n$/);
  });

  it('prints an internal error as one line and "please report", with the stack only under TWIN_DEBUG=1', async () => {
    const broken = (stderr: { write(s: string): unknown }) => ({ stdout: { write: () => { throw new RangeError('stdout is gone'); } }, stderr });
    let plain = '';
    expect(await main(['schema'], broken({ write: (s: string) => (plain += s) }), {})).toBe(2);
    expect(plain).toBe("twin schema: internal error: RangeError: stdout is gone\n  please report this, with the command line and the scenario files, to the twin's maintainers (TWIN_DEBUG=1 prints the stack)\n");
    let debug = '';
    expect(await main(['schema'], broken({ write: (s: string) => (debug += s) }), { TWIN_DEBUG: '1' })).toBe(2);
    expect(debug).toContain('twin schema: internal error: RangeError: stdout is gone\n');
    expect(debug).toMatch(/\n {4}at .*main\.ts/);
  });

  it('prints --json for run and explore (one document on stdout) and validate (one line a file)', async () => {
    const dir = tmp({ 'ok.yaml': OK, 'fail.yaml': OK.replace('name: cli-ok', 'name: cli-fail').replace('builds.lost, max: 0', 'builds.succeeded, max: 0') });
    const c = capture();
    expect(await main(['run', join(dir, 'ok.yaml'), join(dir, 'fail.yaml'), '--out', join(dir, 'out'), '--json', '-q'], c.io)).toBe(1);
    const doc = JSON.parse(c.stdout) as { passed: boolean; scenarios: Array<{ scenario: string; passed: boolean; report: string; failed_expectations: unknown[] }> };
    expect(doc.passed).toBe(false);
    expect(doc.scenarios.map((s) => [s.scenario, s.passed, s.failed_expectations.length])).toEqual([['cli-ok', true, 0], ['cli-fail', false, 1]]);
    expect(existsSync(doc.scenarios[1]!.report)).toBe(true);
    const e = capture();
    expect(await main(['explore', join(dir, 'ok.yaml'), '--runs', '2', '--seed', '3', '--out', join(dir, 'explore'), '--json', '-q'], e.io)).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ scenario: 'cli-ok', seed: 3, runs: 2, passed: true });
    expect(e.stdout).not.toContain('PASS explore');
    const v = capture();
    expect(await main(['validate', join(dir, 'ok.yaml'), join(dir, 'fail.yaml'), '--json'], v.io)).toBe(0);
    expect(v.stdout.trim().split('\n').map((l) => JSON.parse(l) as { valid: boolean; name: string })).toEqual([expect.objectContaining({ valid: true, name: 'cli-ok' }), expect.objectContaining({ valid: true, name: 'cli-fail' })]);
  });

  it('writes nothing when a later scenario fails in the harness, and leaves an earlier output as it was', async () => {
    const dir = tmp({ 'ok.yaml': OK, 'explode.yaml': OK.replace('name: cli-ok', 'name: explode') });
    const out = join(dir, 'out');
    const c = capture();
    expect(await main(['run', join(dir, 'ok.yaml'), join(dir, 'explode.yaml'), '--out', out, '-q'], c.io)).toBe(2);
    expect(c.stderr).toContain('internal error: RangeError: the engine blew up');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['explode.yaml', 'ok.yaml']);
    writeFileSync(join(dir, 'keep.txt'), 'x');
    const again = capture();
    expect(await main(['run', join(dir, 'ok.yaml'), join(dir, 'explode.yaml'), '--out', dir, '-q'], again.io)).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['explode.yaml', 'keep.txt', 'ok.yaml']);
  });
});

describe('progress', () => {
  const lines = (tty: boolean) => {
    let text = '';
    return { stream: { isTTY: tty, write: (s: string) => (text += s) }, get text() { return text; } };
  };

  it('counts the workload to 100%, then names the drain, then says done', () => {
    const s = lines(false);
    const p = new Progress(s.stream, '  x', true);
    const on = runProgress(p, 3_600_000);
    for (const v of [0, 900_000, 1_800_000, 2_700_000, 3_540_000, 3_600_000, 3_660_000, 3_720_000]) on(v, 3_600_000 + 6 * 3_600_000);
    p.done();
    const out = s.text.split('\n').filter(Boolean);
    expect(out[0]).toBe('  x   0% workload: 0ms of 1h');
    expect(out).toContain('  x  75% workload: 45m of 1h');
    expect(out.at(-2)).toMatch(/^ {2}x 100% drain: builds still in the pipeline after the workload's 1h \(\+0ms, at most 6h\)$/);
    expect(out.at(-1)).toBe('  x 100% done');
    expect(out).toHaveLength(6);
  });

  it('names the fault-free baseline\'s phases after the run\'s', () => {
    const s = lines(false);
    const p = new Progress(s.stream, '  x', true);
    const run = runProgress(p, 3_600_000);
    const baseline = runProgress(p, 3_600_000, 'baseline');
    run(3_600_000, 7 * 3_600_000);
    baseline(0, 7 * 3_600_000);
    baseline(3_600_000, 7 * 3_600_000);
    expect(s.text.split('\n').filter(Boolean).map((l) => l.split(':')[0])).toEqual(['  x 100% drain', '  x   0% baseline (no faults) workload', '  x 100% baseline (no faults) drain']);
  });

  it('shows a faulted run\'s phases on stderr through to done', async () => {
    const dir = tmp({ 'fault.yaml': `${OK}faults:\n  - { at: 10m, action: kill, target: telegraf }\n` });
    const c = capture();
    expect(await main(['run', join(dir, 'fault.yaml'), '--out', join(dir, 'out')], c.io)).toBe(0);
    const phases = c.stderr.split('\n').filter((l) => l.startsWith('  cli-ok ')).map((l) => l.split(':')[0]!.replace(/\s+\d+%/, ''));
    expect([...new Set(phases)]).toEqual(['  cli-ok workload', '  cli-ok drain', '  cli-ok baseline (no faults) workload', '  cli-ok baseline (no faults) drain', '  cli-ok done']);
  });

  it('redraws one line on a terminal and clears it at the end', () => {
    const s = lines(true);
    const p = new Progress(s.stream, '  x', true);
    p.update(1, 4, 'a', 'workload');
    p.update(1, 4, 'a', 'workload');
    p.update(4, 4, 'b', 'drain');
    p.done();
    const plain = lines(false);
    const q = new Progress(plain.stream, '  y', true);
    q.update(10, 100, 'a', 'boot');
    q.update(12, 100, 'b', 'work');
    q.update(13, 100, 'c', 'work');
    expect(plain.text).toBe('  y  10% boot: a\n  y  12% work: b\n');
    expect(s.text.split('\r').filter(Boolean).map((l) => l.trimEnd())).toEqual(['  x  25% workload: a', '  x 100% drain: b', '']);
  });
});

describe('bin/twin.js', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const twin = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [join(root, 'bin', 'twin.js'), ...args], { encoding: 'utf8', env: { ...process.env, TWIN_DEBUG: '1', ...env } });

  it('runs a fresh bundle, and the sources through tsx when the bundle is absent or stale; both give the same report', async () => {
    const dist = tmp({});
    execFileSync(process.execPath, [join(root, 'bin', 'build.mjs'), '--outdir', dist], { stdio: 'pipe' });
    await checkLiveBundle(dist);
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;

    const bundled = twin(['--version'], { TWIN_DIST: dist });
    expect(bundled.status).toBe(0);
    expect(bundled.stdout).toContain(`twin ${version}`);
    expect(bundled.stdout).toContain('runtime: prebuilt bundle');
    expect(bundled.stderr).toBe(`twin: running the bundle ${join(dist, 'twin.mjs')}\n`);

    const absent = twin(['--version'], { TWIN_DIST: tmp({}) });
    expect(absent.status).toBe(0);
    expect(absent.stdout).toContain(`twin ${version}`);
    expect(absent.stdout).toContain('runtime: TypeScript sources through tsx');
    expect(absent.stderr).toContain('no bundle manifest');

    const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as { inputs: Record<string, [number, number]> };
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['harness/cli/main.ts', 'fixtures/2.19.6/containers.yaml', 'package.json']));
    // The live stack is not in the bundle: no driver, SDK or provider is loaded for the simulation's commands.
    expect(Object.keys(manifest.inputs).filter((f) => /node_modules\/(pg|ioredis|amqplib|@aws-sdk|testcontainers|@testcontainers|mongodb|ldapts)\/|harness\/(providers|live\/replay|ec2|github|nomad)\//.test(f))).toEqual([]);
    const scenario = join(tmp({ 'ok.yaml': OK }), 'ok.yaml');
    const viaBundle = twin(['run', scenario, '--out', join(dist, 'a'), '-q'], { TWIN_DIST: dist });
    expect(viaBundle.status, viaBundle.stderr).toBe(0);
    manifest.inputs['fixtures/2.19.6/containers.yaml']![0] -= 1;
    writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest));
    const stale = twin(['run', scenario, '--out', join(dist, 'b'), '-q'], { TWIN_DIST: dist });
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stderr).toContain('running the sources through tsx: fixtures/2.19.6/containers.yaml changed since the bundle was built');
    expect(readFileSync(join(dist, 'a', 'report.json'), 'utf8')).toBe(readFileSync(join(dist, 'b', 'report.json'), 'utf8'));
  });
});

/**
 * The live bundle beside the CLI's (`<dist>/live/`): its own manifest, nothing left for tsx to compile, an embedded
 * server's child that runs on plain Node, and the CLI's live commands taking it while it is current and the sources
 * (saying why) once it is stale.
 */
async function checkLiveBundle(dist: string): Promise<void> {
  const root = new URL('../../', import.meta.url).pathname;
  const live = join(dist, 'live');
  const manifest = JSON.parse(readFileSync(join(live, 'manifest.json'), 'utf8')) as { inputs: Record<string, [number, number]> };
  expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['harness/live/stack.ts', 'harness/live/stage-worker.ts', 'harness/providers/redis/embedded/embedded-redis-main.ts', 'harness/providers/s3/s3rver-worker.ts', 'fixtures/2.19.6/containers.yaml', 'package.json']));
  const outputs = readdirSync(live).filter((f) => f.endsWith('.mjs'));
  expect(outputs).toEqual(expect.arrayContaining(['live-stack.mjs', 'supervisor.mjs', 'stage-worker.mjs', 'service-worker.mjs', 'embedded-redis-main.mjs', 'embedded-rabbitmq-main.mjs', 'embedded-mongo-main.mjs', 's3rver-worker.mjs']));
  // No module of it imports a TypeScript file: nothing in a `twin up` from the bundle waits for tsx.
  for (const f of outputs) expect(readFileSync(join(live, f), 'utf8'), f).not.toMatch(/(?:from\s*|import\s*\(\s*)["'][^"']+\.ts["']/);

  // The embedded Redis's child, prebuilt, on plain Node (no loader): it listens and answers PING.
  const { createServer, connect } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(live, 'embedded-redis-main.mjs'), '--port', String(port), '--data-dir', join(dist, 'redis-data')], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
      child.once('exit', (code) => reject(new Error(`the prebuilt embedded redis exited (${code})`)));
    });
    const pong = await new Promise<string>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => c.write('*1\r\n$4\r\nPING\r\n'));
      c.once('data', (b) => (c.destroy(), resolve(b.toString())));
      c.once('error', reject);
    });
    expect(pong).toBe('+PONG\r\n');
  } finally {
    child.kill('SIGKILL');
  }

  const status = (env: Record<string, string>) => spawnSync(process.execPath, [join(root, 'bin', 'twin.js'), 'status'], { cwd: tmp({}), encoding: 'utf8', env: { ...process.env, TWIN_DEBUG: '1', TWIN_DIST: dist, ...env } });
  const fresh = status({});
  expect(fresh.status).toBe(1);
  expect(fresh.stderr).toBe(`twin: running the bundle ${join(dist, 'twin.mjs')}\ntwin status: no stack is running (start one with \`twin up -d\`)\n`);
  manifest.inputs['harness/live/stack.ts']![0] -= 1;
  writeFileSync(join(live, 'manifest.json'), JSON.stringify(manifest));
  const stale = status({});
  expect(stale.status).toBe(1);
  expect(stale.stderr).toContain('twin: the live stack from its sources through tsx: harness/live/stack.ts changed since the bundle was built\n');
  expect(stale.stderr).toContain('twin status: no stack is running');
}
