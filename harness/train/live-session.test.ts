/**
 * The drill console on the live stack against a fake installation (no processes): what each command reads of the
 * live stack and what it does to it, and how the fix is judged. The real stack: live-drill.live.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FaultOrder } from '../../sim/faults/port.ts';
import type { LiveBuildsSince, LiveQueues } from '../../sim/training/live-support.ts';
import { drillFile, loadDrill } from './drills.ts';
import { PassThrough } from 'node:stream';
import { FOLLOW_MAX_LINES, FOLLOW_MAX_MS, FOLLOW_STEP_MS } from '../../sim/training/session.ts';
import { ServiceLogs } from '../live/service-logs.ts';
import { runInteractive, runScript } from './console.ts';
import { LiveTrainingSession, type LiveInstallation, type LiveRowView } from './live-session.ts';

const SCALE = 60;

/** A live installation in memory: rows whose state `act` changes, a clock the test moves, queues and builds it sets. */
class FakeInstallation implements LiveInstallation {
  readonly storage = 's3' as const;
  now = 3_600_000;
  readonly acted: FaultOrder[] = [];
  readonly rowMap = new Map<string, LiveRowView>();
  queueState: LiveQueues = { queuedBuilds: 14, runQueue: 0, schedulerQueue: 0, nomadPending: 0 };
  builds: LiveBuildsSince = { total: 0, succeeded: undefined, fates: {} };
  /** Installation time one lifecycle action takes on the stack. */
  actMs = 300_000;
  logSource: LiveInstallation['logSource'];
  /** Called at each of the console's wall waits (a follow's steps, the verification's polls): the stack working meanwhile. */
  onSleep: (() => void) | undefined;
  constructor(readonly profile: LiveInstallation['profile']) {
    for (const c of profile.containers) this.rowMap.set(c.name, { state: 'healthy', ports: [], healthUrl: undefined });
  }
  nowMs = () => this.now;
  rows = () => this.rowMap;
  async act(order: FaultOrder): Promise<string> {
    this.acted.push(order);
    this.now += this.actMs;
    const state = { kill: 'killed', stop: 'exited', pause: 'paused' }[order.action as string] ?? 'healthy';
    this.rowMap.set(order.target, { ...this.rowMap.get(order.target)!, state });
    if (order.target === 'picard-dispatcher' && state === 'healthy') this.queueState = { ...this.queueState, queuedBuilds: 0 };
    return `${order.action} ${order.target}`;
  }
  refreshHealth = async () => {};
  nomadScheduler = () => undefined;
  nomadUp = async () => false;
  nomadDrain = async () => undefined;
  queues = async () => this.queueState;
  queuedBuilds = async () => ['gh/twin/app/3', 'gh/twin/app/4'];
  buildsSince = async () => this.builds;
}

function setUp(drillName = 'queued-at-picard-dispatcher') {
  const { drill, profile } = loadDrill(drillFile(drillName));
  const inst = new FakeInstallation(profile);
  // The hidden fault, as the installation carried it out before the login.
  inst.rowMap.set('picard-dispatcher', { state: 'paused', ports: [] });
  // The verification's wall clock: each of its waits moves it (and the installation) on.
  let wall = 0;
  const sleep = async (ms: number) => {
    wall += ms;
    inst.now += ms * SCALE;
    inst.onSleep?.();
  };
  const s = new LiveTrainingSession(drill, inst, { seed: 7, commandMs: 30_000, timeScale: SCALE, wallMs: () => wall, sleep });
  s.recordFault({ action: 'pause', target: 'picard-dispatcher', count: 1 }, 2_400_000);
  return { s, inst, drill };
}

async function script(s: LiveTrainingSession, lines: string[]): Promise<string> {
  let text = '';
  await runScript(s, lines.join('\n'), { write: (x: string) => (text += x) });
  return text;
}

describe('the drill console on the live stack', () => {
  it('lists the live rows as the seeds\' docker ps: a hung container still Up, a killed one Exited (137) with -a, the Replicated rows beside them', async () => {
    const { s, inst } = setUp();
    inst.rowMap.set('output-processor', { state: 'killed', ports: [] });
    const ps = (await s.execute('sudo docker ps')).output;
    expect(ps.split('\n')[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    expect(ps).toMatch(/Up .*picard-dispatcher/);
    expect(ps).not.toMatch(/picard-output-processor/);
    expect(ps).toMatch(/replicated\b/);
    expect(ps).toMatch(/retraced/);
    const all = (await s.execute('sudo docker ps -a')).output;
    expect(all).toMatch(/Exited \(137\) .* ago .*picard-output-processor/);
  });

  it('restarts the container on the live stack (docker start of a hung one unpauses it); a wrong name acts on nothing', async () => {
    const { s, inst } = setUp();
    expect((await s.execute('sudo docker start picard-dispatcher')).exit).toBe(0);
    expect(inst.acted).toEqual([{ action: 'unpause', target: 'picard-dispatcher', count: 1 }]);
    await s.execute('sudo docker restart dispatcher');
    expect(inst.acted.at(-1)).toEqual({ action: 'restart', target: 'dispatcher', count: 1 });
    const bad = await s.execute('sudo docker restart picard-dispatchr');
    expect(bad.exit).toBe(1);
    expect(bad.output).toMatch(/No such container: picard-dispatchr/);
    expect(inst.acted).toHaveLength(2);
  });

  it('docker logs: the stack\'s own lines where it has them, else the generated log (no heartbeat after the pause)', async () => {
    const { s, inst } = setUp();
    const generated = (await s.execute('sudo docker logs --tail 3 picard-dispatcher')).output.split('\n');
    expect(generated).toHaveLength(3);
    expect(generated.every((l) => l.includes('Still running...'))).toBe(true);
    expect(generated.at(-1)).toMatch(/^Jan 5 08:3\d:/);
    inst.logSource = { logs: (name, opts) => [`${name} own line`, `tail ${opts?.tail}`] };
    expect((await s.execute('sudo docker logs --tail 7 picard-dispatcher')).output).toBe('picard-dispatcher own line\ntail 7');
    // notifier is a row of the listing only (frontend's mailer): its log is read all the same.
    expect((await s.execute('sudo docker logs --tail 2 notifier')).output).toBe('notifier own line\ntail 2');
  });

  it('curl asks the port the container really listens on: its answer when up, curl\'s (7) when the port is closed', async () => {
    const { s, inst } = setUp();
    const server = http.createServer((req, res) => res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    inst.rowMap.set('output-processor', { state: 'healthy', ports: [`127.0.0.1:${port}->8585/tcp`] });
    const up = await s.execute('curl -i http://localhost:8585/');
    expect(up.output).toMatch(/^HTTP\/1\.1 200 OK\nContent-Type: application\/json\n/);
    expect(up.output.endsWith('{"ok":true}')).toBe(true);
    await new Promise((r) => server.close(r));
    const down = await s.execute('curl http://localhost:8585/');
    expect(down).toMatchObject({ exit: 7, output: 'curl: (7) Failed to connect to localhost port 8585: Connection refused' });
  });

  it('says so for a command it does not carry out on the live stack (exit 1), and reads the dev-console queues from the stack', async () => {
    const { s } = setUp();
    const df = await s.execute('df -h');
    expect(df.exit).toBe(1);
    expect(df.output).toMatch(/does not carry this out/);
    await s.execute('circleci dev-console');
    await s.execute("(in-ns 'circle.backend.build.run-queue)");
    expect((await s.execute('(-> (all-builds) count)')).output).toBe('2');
    expect((await s.execute('exit')).ended).toBe(false);
    expect(s.prompt).toMatch(/^ubuntu@/);
  });

  it('the shortest path scores 100: fix verified on the stack\'s queues and builds, the stack\'s own time not the trainee\'s', async () => {
    const { s, inst, drill } = setUp();
    inst.builds = { total: 3, succeeded: { id: 25, at: '09:18' }, fates: { succeeded: 1, unfinished: 2 } };
    await script(s, [...drill.shortestPath, 'exit']);
    const r = await s.finish();
    expect(r.checks.map((c) => [c.check, c.passed])).toEqual([
      ['queue_drains', true],
      ['next_build_succeeds', true],
    ]);
    expect(r.grade.score).toBe(100);
    expect(r.durationMs).toBeGreaterThanOrEqual(inst.actMs);
  });

  it('is not fixed while builds stay queued, and says what it saw; the wrong container first costs the commands part', async () => {
    const { s } = setUp();
    await script(s, ['sudo docker logs --tail 10 dispatcher', 'sudo docker restart dispatcher', 'answer picard-dispatcher hung', 'exit']);
    const r = await s.finish();
    expect(r.fixed).toBe(false);
    // Builds still queued in PostgreSQL though the broker's queues are empty (picard-dispatcher holds them unacked).
    expect(r.checks[0]!.passed).toBe(false);
    expect(r.checks[0]!.observed).toMatch(/^builds queued 14, run-queue 0/);
    expect(r.checks[1]!.observed).toMatch(/0 builds since the session, none succeeded \(no builds\)/);
    expect(r.grade.parts.fix).toBe(0);
    expect(r.grade.rootCauseCorrect).toBe(true);
  });
});

describe('docker logs -f on the live stack', () => {
  /** The stack's own logs (the real ring and its followers) behind the fake installation, one line per step written. */
  function following(perStep = 1) {
    const set = setUp();
    const logs = new ServiceLogs();
    set.inst.logSource = logs;
    logs.write('picard-dispatcher', 'INFO picard-dispatcher.init Still running...', 1_000);
    let n = 0;
    set.inst.onSleep = () => {
      for (let i = 0; i < perStep; i++) logs.write('picard-dispatcher', `INFO picard-dispatcher.core taking build=gh/twin/app/${++n}`, 2_000 + n);
      logs.write('dispatcher', 'INFO dispatcher.core not followed', 2_000);
    };
    return { ...set, logs };
  }

  it('in a script, streams the lines written while it follows for FOLLOW_MAX_MS of the installation\'s time, then ^C and the next line runs', async () => {
    const { s, inst } = following();
    const text = await script(s, ['sudo docker logs -f --tail 1 picard-dispatcher', 'sudo docker ps', 'exit']);
    const steps = FOLLOW_MAX_MS / FOLLOW_STEP_MS;
    const taking = Array.from({ length: steps }, (_, i) => `taking build=gh/twin/app/${i + 1}`);
    const entry = s.entries[0]!;
    expect(entry.command).toBe('sudo docker logs -f --tail 1 picard-dispatcher');
    const lines = entry.output.split('\n');
    expect(lines[0]).toMatch(/Still running\.\.\.$/);
    expect(lines.slice(1, -1).map((l) => l.slice(l.indexOf('taking')))).toEqual(taking);
    expect(lines.at(-1)).toBe('^C');
    expect(entry.output).not.toContain('not followed');
    // The console printed the same, and the next line ran after it.
    expect(text).toMatch(/taking build=gh\/twin\/app\/15\n\^C\nubuntu@ip-172-31-72-162:~\$ sudo docker ps\n/);
    expect(s.entries[1]!.command).toBe('sudo docker ps');
    expect(inst.now).toBeGreaterThanOrEqual(3_600_000 + FOLLOW_MAX_MS);
  });

  it('stops at FOLLOW_MAX_LINES new lines in a script; a line written before the first step is not lost', async () => {
    const { s, logs } = following(7);
    expect((await s.execute('sudo docker logs -f --tail 0 picard-dispatcher')).following).toBe(true);
    logs.write('picard-dispatcher', 'INFO picard-dispatcher.core at once', 1_500);
    await expect(s.execute('sudo docker ps')).rejects.toThrow(/following/);
    const printed: string[] = [];
    for (;;) {
      const step = await s.followStep();
      if (step.output !== '') printed.push(...step.output.split('\n'));
      if (step.done) {
        expect(step.stoppedBy).toBe('limit');
        break;
      }
    }
    expect(printed).toHaveLength(FOLLOW_MAX_LINES);
    expect(printed[0]).toMatch(/at once$/);
    expect(s.isFollowing).toBe(false);
  });

  it('passes the followed lines through the line\'s filters, and ends (no ^C) when the container stops', async () => {
    const { s, inst, logs } = following();
    await s.execute('sudo docker logs -f --tail 0 picard-dispatcher | grep app/2');
    inst.onSleep = () => {
      logs.write('picard-dispatcher', 'INFO picard-dispatcher.core taking build=gh/twin/app/1', 3_000);
      logs.write('picard-dispatcher', 'INFO picard-dispatcher.core taking build=gh/twin/app/2', 3_001);
      inst.rowMap.set('picard-dispatcher', { state: 'killed', ports: [] });
    };
    const step = await s.followStep();
    expect(step).toMatchObject({ done: true, stoppedBy: 'container-stopped' });
    expect(step.output).toMatch(/^\S+ \d+ [\d:.]+:\+0000 INFO picard-dispatcher\.core taking build=gh\/twin\/app\/2$/);
    expect(s.entries[0]!.output).toBe(step.output);
  });

  it('does not follow a stopped container: its log so far, and docker returns', async () => {
    const { s, inst } = following();
    inst.rowMap.set('picard-dispatcher', { state: 'exited', ports: [] });
    const r = await s.execute('sudo docker logs -f picard-dispatcher');
    expect(r.following).toBeUndefined();
    expect(r.output).toMatch(/Still running\.\.\.$/);
  });

  it('in a terminal, streams each line as the service writes it until Ctrl-C, and the prompt comes back', async () => {
    const { s, logs } = following();
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    let text = '';
    output.on('data', (d: Buffer) => (text += d.toString()));
    const done = runInteractive(s, input, output);
    input.write('sudo docker logs -f --tail 0 picard-dispatcher\n');
    let n = 0;
    const writer = setInterval(() => logs.write('picard-dispatcher', `INFO picard-dispatcher.core taking build=gh/twin/live/${++n}`, Date.now()), 100);
    try {
      const until = Date.now() + 10_000;
      while (!/taking build=gh\/twin\/live\/3\b/.test(text) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(text).toMatch(/taking build=gh\/twin\/live\/3\b/);
      expect(s.isFollowing).toBe(true);
      input.write('\x03');
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      clearInterval(writer);
    }
    expect(s.isFollowing).toBe(false);
    const entry = s.entries.at(-1)!;
    expect(entry.output.endsWith('^C')).toBe(true);
    const seen = n;
    logs.write('picard-dispatcher', 'INFO picard-dispatcher.core after the Ctrl-C', Date.now());
    input.end('exit\n');
    await done;
    expect(entry.output).not.toContain('after the Ctrl-C');
    expect(text).not.toContain('after the Ctrl-C');
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(text.split('ubuntu@ip-172-31-72-162:~$').length).toBeGreaterThanOrEqual(3);
  });
});
