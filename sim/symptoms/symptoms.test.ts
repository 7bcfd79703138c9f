import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../fixtures/load.ts';
import { listedContainers, renderDockerPs, EXTRA_ROWS, type ContainerLife } from './docker-ps.ts';
import { allocStderr, containerLogs, intervals, type LifeEvent, type LogSources } from './container-logs.ts';
import { curlAnswer } from './health.ts';
import { humanDuration, serviceLogTime } from './clock-text.ts';
import type { ObservedBuild } from './recorder.ts';
import type { Build } from '../models/build.ts';
import { SymptomRecorder } from './recorder.ts';
import { diskFree } from '../training/session.ts';

const profile = loadProfile('2.19.6');
const listed = listedContainers(profile, 's3');
const up: ContainerLife = { state: 'running', sinceMs: 0, cause: 'boot' };

function sources(history: Record<string, LifeEvent[]>, nowMs: number, builds: ObservedBuild[] = []): LogSources {
  return { nowMs, history: (n) => history[n] ?? [], builds, allocs: [], events: [] };
}

function build(id: number, b: Partial<Build>, fate?: Partial<ObservedBuild>): ObservedBuild {
  const model = { enteredRunQueueMs: -1, acceptedAtMs: -1, submittedAtMs: -1, firstTaskStartMs: -1, tasksTotal: 1, resourceClass: { name: 'medium', executor: 'docker', cpuMilli: 2000, memoryMb: 4096 }, nomadJobId: `job-${id}`, ...b } as unknown as Build;
  return { id, name: `gh/acme/repo-1/${id}`, createdAtMs: 0, build: model, ...fate };
}

describe('sudo docker ps', () => {
  it('lists the seeds\' containers under the listing\'s names, and the replicated and retraced rows', () => {
    const text = renderDockerPs(listed, () => up, 3_600_000);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^CONTAINER ID {3}IMAGE {2,}COMMAND {2,}CREATED {2,}STATUS {2,}PORTS {2,}NAMES$/);
    for (const name of ['picard-output-processor', 'picard-scheduler', 'nomad', 'replicated', 'replicated-ui', 'retraced-api', 'retraced-nsqd', 'notifier']) expect(lines.some((l) => l.endsWith(`   ${name}`)), name).toBe(true);
    expect(lines.find((l) => l.endsWith('picard-output-processor'))).toContain('0.0.0.0:8585->8585/tcp');
    expect(lines.find((l) => l.endsWith(' replicated-premkit'))).toContain('3 weeks ago');
    // No migrators: they exit after startup, as the listing shows.
    expect(text).not.toContain('migrator');
    expect(lines.length).toBe(1 + listed.length + EXTRA_ROWS.length);
  });

  it('leaves out a stopped container, and `-a` shows it exited with the kill\'s code', () => {
    const life = (n: string): ContainerLife => (n === 'exim' ? { state: 'stopped', sinceMs: 600_000, cause: 'kill' } : up);
    expect(renderDockerPs(listed, life, 3_600_000)).not.toMatch(/ exim$/m);
    expect(renderDockerPs(listed, life, 3_600_000, { all: true })).toMatch(/Exited \(137\) 50 minutes ago +exim$/m);
  });

  it('words spans as Docker does', () => {
    expect([0, 1000, 5000, 60_000, 600_000, 3_600_000, 26 * 3_600_000, 3 * 86_400_000].map(humanDuration)).toEqual(['Less than a second', '1 second', '5 seconds', 'About a minute', '10 minutes', 'About an hour', '26 hours', '3 days']);
    expect(serviceLogTime(3_723_456)).toBe('Jan 5 09:02:03.456:+0000');
  });
});

describe('sudo docker logs', () => {
  it('picard-dispatcher says `Still running...` every two minutes, falls silent while hung, and resumes after a restart', () => {
    const hung: LifeEvent[] = [{ atMs: 1_800_000, state: 'paused', cause: 'pause' }, { atMs: 3_000_000, state: 'stopped', cause: 'stop' }, { atMs: 3_000_000, state: 'running', cause: 'start' }];
    const lines = containerLogs('picard-dispatcher', sources({ 'picard-dispatcher': hung }, 3_600_000));
    const beats = lines.filter((l) => l.endsWith('Still running...')).map((l) => l.slice(0, 15));
    expect(beats.slice(0, 2)).toEqual(['Jan 5 08:00:33.', 'Jan 5 08:02:33.']);
    expect(beats).not.toContain('Jan 5 08:30:33.');
    expect(beats).toContain('Jan 5 08:52:33.');
    expect(lines.some((l) => l.includes('Starting picard-dispatcher'))).toBe(true);
    expect(intervals(hung, 0, 3_600_000, (s) => s === 'running')).toEqual([[0, 1_800_000], [3_000_000, 3_600_000]]);
  });

  it('picard-dispatcher logs `taking build=` and the resource class in the seeds\' shape', () => {
    const lines = containerLogs('picard-dispatcher', sources({}, 150_000, [build(38, { acceptedAtMs: 100_000, submittedAtMs: 101_000 })]), 5);
    expect(lines[0]).toBe('Jan 5 08:01:40.000:+0000 INFO picard-dispatcher.core taking build=acme/repo-1/38');
    expect(lines[2]).toContain('is using resource class {:cpu 2.0, :ram 4096, :class :medium}');
  });

  it('dispatcher forwards each build to the run queue', () => {
    const lines = containerLogs('dispatcher', sources({}, 600_000, [build(37, { enteredRunQueueMs: 50_000 })]));
    expect(lines.some((l) => /usage-queue [0-9a-f]{24}: acme\/repo-1\/37 -> forwarded to run-queue$/.test(l))).toBe(true);
  });

  it('notifier cannot mail a failed build while exim is down, and exim logs the mails it took', () => {
    const exim: LifeEvent[] = [{ atMs: 200_000, state: 'stopped', cause: 'kill' }];
    const builds = [build(1, {}, { fate: 'failed', fateAtMs: 100_000 }), build(2, {}, { fate: 'failed', fateAtMs: 300_000 }), build(3, {}, { fate: 'succeeded', fateAtMs: 300_000 })];
    const notifier = containerLogs('notifier', sources({ exim }, 600_000, builds));
    expect(notifier.filter((l) => l.includes('sending :build-failed email'))).toHaveLength(1);
    expect(notifier.filter((l) => l.includes('Could not connect to SMTP host: exim, port: 25'))).toHaveLength(1);
    expect(containerLogs('exim', sources({ exim }, 600_000, builds)).filter((l) => l.includes(' <= '))).toHaveLength(1);
  });

  it('contexts-service names vault-cci when a context could not be read, and logs the contexts it decrypted', () => {
    const ctx = { usesContexts: true } as Build['template'];
    const builds = [build(5, { template: ctx, submittedAtMs: 10_000 }, { fate: 'succeeded', fateAtMs: 90_000 }), build(6, { template: ctx }, { fate: 'failed', fateAtMs: 100_000, reason: 'vault-cci down: the context could not be read' })];
    const lines = containerLogs('contexts-service', sources({}, 600_000, builds));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('decrypted context for build=acme/repo-1/5');
    expect(lines[1]).toContain('build=acme/repo-1/6: Put http://vault-cci:8200/v1/transit/decrypt/contexts: dial tcp vault-cci:8200: connect: connection refused');
  });

  it('rabbitmq reports its disk alarm, frontend the webhooks it could not accept (from the twin\'s trace lines)', () => {
    const r = new SymptomRecorder();
    r.onTrace('600000 rabbitmq disk alarm set');
    r.onTrace('660000 webhook 12 not triggered: rabbitmq disk alarm: the request hung until GitHub timed out');
    r.onTrace('900000 rabbitmq disk alarm cleared');
    const s = { ...sources({}, 1_000_000), events: r.events };
    expect(containerLogs('rabbitmq', s)).toEqual([
      '=INFO REPORT==== 5-Jan-2026::08:00:00 ===\nServer startup complete; 6 plugins started.',
      '=WARNING REPORT==== 5-Jan-2026::08:10:00 ===\ndisk resource limit alarm set on node rabbit@rabbitmq.\n\n**********************************************************\n*** Publishers will be blocked until this alarm clears ***\n**********************************************************',
      '=INFO REPORT==== 5-Jan-2026::08:15:00 ===\ndisk resource limit alarm cleared on node rabbit@rabbitmq',
    ]);
    expect(containerLogs('frontend', s)).toEqual(['Jan 5 08:11:00.000:+0000 ERROR circle.http.api.hooks push webhook 12 not accepted: rabbitmq disk alarm: the request hung until GitHub timed out']);
  });

  it('df -h shows the root volume as the disk model holds it', () => {
    expect(diskFree(100_000, 4_900).split('\n')[3]).toBe('/dev/nvme0n1p1 100G  95G  4.9G  96% /');
  });

  it('cuts to --tail and generates the same lines twice', () => {
    const s = sources({}, 3_600_000);
    expect(containerLogs('picard-dispatcher', s, 3)).toHaveLength(3);
    expect(containerLogs('picard-dispatcher', s)).toEqual(containerLogs('picard-dispatcher', s));
  });

  it('a build agent warns as the seeds show while output-processor is unreachable, and not otherwise', () => {
    const alloc = { allocId: 'a1', buildName: 'gh/acme/repo-1/1', nodeId: 'n', placedAtMs: 0, endedAtMs: 60_000 };
    const down: LifeEvent[] = [{ atMs: 30_000, state: 'stopped', cause: 'kill' }];
    const lines = allocStderr(alloc, sources({ 'output-processor': down }, 120_000));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('{"error":"rpc error: code = Unavailable desc = grpc: the connection is unavailable","level":"warning","msg":"error fetching config, retrying","time":"2026-01-05T08:00:30Z"}');
    expect(allocStderr(alloc, sources({}, 120_000))).toEqual([]);
  });
});

describe('curl on the Services machine', () => {
  const state = (s: 'running' | 'stopped' | 'paused') => (n: string) => (n === 'api-service' ? s : 'running');
  it('answers a health endpoint 200 while the service runs, refuses when it is down, times out when it hangs', () => {
    expect(curlAnswer('http://localhost:8082/status', listed, state('running'), true)).toMatchObject({ status: 200, exit: 0 });
    expect(curlAnswer('http://localhost:8082/nope', listed, state('running'), false)).toMatchObject({ status: 404, output: 'Not Found' });
    expect(curlAnswer('http://localhost:8082/status', listed, state('stopped'), true)).toEqual({ output: 'curl: (7) Failed to connect to localhost port 8082: Connection refused', exit: 7 });
    expect(curlAnswer('localhost:8082/status', listed, state('paused'), true)).toMatchObject({ exit: 28 });
    expect(curlAnswer('http://example.com/', listed, state('running'), true)).toMatchObject({ exit: 6 });
    // ready-agent: 5XX until every container is healthy, then 200, naming what it waits for.
    expect(curlAnswer('http://localhost:8099/', listed, state('stopped'), false)).toEqual({ output: '{"ready":false,"waiting":["api-service"]}', exit: 0, status: 503 });
    expect(curlAnswer('http://localhost:8099/', listed, state('running'), false)).toMatchObject({ status: 200 });
    // Ports that do not speak HTTP: exim's SMTP banner, a store's silence.
    expect(curlAnswer('http://localhost:2525/', listed, state('running'), true)).toEqual({ output: 'curl: (1) Received HTTP/0.9 when not allowed', exit: 1 });
    expect(curlAnswer('http://localhost:5432/', listed, state('running'), true)).toMatchObject({ exit: 52 });
  });
});
