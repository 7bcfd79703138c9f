import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import type { JobView, NodeView } from './cluster-state.ts';
import { NomadScheduler } from './scheduler.ts';
import {
  columnize,
  formatKv,
  humanizeIBytes,
  renderJobList,
  renderJobStatus,
  renderNodeStatusAllocs,
  renderNodeStatusSelf,
} from './status-text.ts';

const deadJob = (id: string): JobView => ({
  id,
  type: 'batch',
  priority: 50,
  status: 'dead',
  count: 1,
  cpuMilli: 2000,
  memoryMb: 4096,
  datacenter: 'us-east-1',
  nodeClass: null,
  stopped: false,
  summary: { queued: 0, starting: 0, running: 0, failed: 0, complete: 1, lost: 0 },
  allocIds: [],
  evalIds: [],
  blockedEvalId: null,
});

const seedNode: NodeView = {
  id: 'ec2727c5-1111-2222-3333-444444444444',
  name: 'ip-127-0-0-1',
  datacenter: 'us-east-1',
  nodeClass: 'linux-64bit',
  status: 'ready',
  drain: false,
  eligibility: 'eligible',
  totalCpuMilli: 8000,
  totalMemoryMb: 32768,
  reservedCpuMilli: 2000,
  reservedMemoryMb: 4096,
  usedCpuMilli: 0,
  usedMemoryMb: 0,
  runningAllocs: 0,
};

describe('text helpers', () => {
  it('columnize aligns with two spaces and does not pad the last column', () => {
    expect(columnize([['ID', 'Status'], ['abc', 'x'], ['a', 'running']])).toBe('ID   Status\nabc  x\na    running');
  });

  it('formatKv aligns the equals signs', () => {
    expect(formatKv([['ID', '1'], ['Status', 'ready']])).toBe('ID     = 1\nStatus = ready');
  });

  it('humanizeIBytes prints like go-humanize', () => {
    expect(humanizeIBytes(0)).toBe('0 B');
    expect(humanizeIBytes(256 * 1024 * 1024)).toBe('256 MiB');
    expect(humanizeIBytes(2048 * 1024 * 1024)).toBe('2.0 GiB');
    expect(humanizeIBytes(28672 * 1024 * 1024)).toBe('28 GiB');
  });
});

describe('nomad status', () => {
  it('lists jobs as the seed shows them, sorted by id', () => {
    const jobs = [
      deadJob('5a4ea0c9fa4f8c0001b6401b-0-build-GERey-realitycheck-2'),
      deadJob('5a4ea06b7d560d000116830f-0-build-GERey-realitycheck-1'),
      deadJob('5a4ea0cafa4f8c0001b6401c-0-build-GERey-realitycheck-3'),
    ];
    expect(renderJobList(jobs)).toBe(
      [
        'ID                                                     Type   Priority  Status',
        '5a4ea06b7d560d000116830f-0-build-GERey-realitycheck-1  batch  50        dead',
        '5a4ea0c9fa4f8c0001b6401b-0-build-GERey-realitycheck-2  batch  50        dead',
        '5a4ea0cafa4f8c0001b6401c-0-build-GERey-realitycheck-3  batch  50        dead',
      ].join('\n'),
    );
    expect(renderJobList([])).toBe('No running jobs');
  });
});

describe('nomad status <job>', () => {
  it('shows a pending job, why it cannot be placed, and no allocations', () => {
    const s = new NomadScheduler({ rng: new Rng(1) });
    s.addNode({ name: 'a', cpuMilli: 4000, memoryMb: 8192 });
    s.addNode({ name: 'b', cpuMilli: 4000, memoryMb: 8192 });
    s.registerJob({ id: 'big-build', count: 3, cpuMilli: 4000, memoryMb: 1024 });
    const job = s.job('big-build')!;
    expect(renderJobStatus(job, s.jobAllocs(job.id), s.evaluation(job.blockedEvalId!))).toBe(
      [
        'ID            = big-build',
        'Name          = big-build',
        'Type          = batch',
        'Priority      = 50',
        'Datacenters   = us-east-1',
        'Status        = pending',
        'Periodic      = false',
        'Parameterized = false',
        '',
        'Summary',
        'Task Group  Queued  Starting  Running  Failed  Complete  Lost',
        'build       3       0         0        0       0         0',
        '',
        'Placement Failure',
        'Task Group "build":',
        '  * Resources exhausted on 2 nodes',
        '  * Dimension "cpu" exhausted on 2 nodes',
        '',
        'Allocations',
        'No allocations placed',
      ].join('\n'),
    );
  });

  it('lists allocations newest first with short ids', () => {
    const s = new NomadScheduler({ rng: new Rng(1) });
    const n = s.addNode({ name: 'a', cpuMilli: 8000, memoryMb: 32768 });
    const placed = s.registerJob({ id: 'par', count: 2, cpuMilli: 2000, memoryMb: 4096 }).placed;
    s.markRunning(placed[0]!.allocId);
    const text = renderJobStatus(s.job('par')!, s.jobAllocs('par'));
    const evalId = s.alloc(placed[0]!.allocId)!.evalId;
    expect(text).toContain('Status        = running');
    expect(text).toContain('build       0       1         1        0       0         0');
    expect(text.split('Allocations\n')[1]).toBe(
      columnize([
        ['ID', 'Eval ID', 'Node ID', 'Task Group', 'Desired', 'Status'],
        [placed[1]!.allocId.slice(0, 8), evalId.slice(0, 8), n.slice(0, 8), 'build', 'run', 'pending'],
        [placed[0]!.allocId.slice(0, 8), evalId.slice(0, 8), n.slice(0, 8), 'build', 'run', 'running'],
      ]),
    );
    expect(text).not.toContain('Placement Failure');
  });
});

describe('nomad node-status', () => {
  it('-allocs prints the seed troubleshooting table', () => {
    expect(renderNodeStatusAllocs([seedNode])).toBe(
      ['ID        DC         Name          Class        Drain  Status  Running Allocs', 'ec2727c5  us-east-1  ip-127-0-0-1  linux-64bit  false  ready   0'].join('\n'),
    );
    expect(renderNodeStatusAllocs([])).toBe('');
  });

  it('-allocs shows drain, down nodes and running allocations from the scheduler', () => {
    const s = new NomadScheduler({ rng: new Rng(2) });
    const a = s.addNode({ name: 'ip-10-0-0-1', cpuMilli: 8000, memoryMb: 32768 });
    const b = s.addNode({ name: 'ip-10-0-0-2', cpuMilli: 8000, memoryMb: 32768 });
    s.registerJob({ id: 'j', count: 3, cpuMilli: 2000, memoryMb: 4096, nodeClass: 'linux-64bit' });
    s.setDrain(a, true);
    s.setNodeStatus(b, 'down');
    const rows = renderNodeStatusAllocs(s.nodes()).split('\n').slice(1);
    const row = (id: string) => rows.find((r) => r.startsWith(id.slice(0, 8)))!.split(/\s{2,}/);
    expect(row(a).slice(1)).toEqual(['us-east-1', 'ip-10-0-0-1', 'linux-64bit', 'true', 'ready', String(s.node(a)!.runningAllocs)]);
    expect(row(b).slice(1)).toEqual(['us-east-1', 'ip-10-0-0-2', 'linux-64bit', 'false', 'down', '0']);
  });

  it('-self shows allocated resources after the reservation and the allocations', () => {
    const s = new NomadScheduler({ rng: new Rng(3) });
    const n = s.addNode({ name: 'ip-127-0-0-1', cpuMilli: 8000, memoryMb: 32768 });
    const p = s.registerJob({ id: 'build-1', count: 1, cpuMilli: 2000, memoryMb: 4096 }).placed[0]!;
    const text = renderNodeStatusSelf(s.node(n)!, s.nodeAllocs(n));
    expect(text).toBe(
      [
        `ID          = ${n.slice(0, 8)}`,
        'Name        = ip-127-0-0-1',
        'Class       = linux-64bit',
        'DC          = us-east-1',
        'Drain       = false',
        'Eligibility = eligible',
        'Status      = ready',
        '',
        'Allocated Resources',
        'CPU' + ' '.repeat(13) + 'Memory',
        '5000/15000 MHz  4.0 GiB/28 GiB',
        '',
        'Allocations',
        columnize([
          ['ID', 'Eval ID', 'Job ID', 'Task Group', 'Desired Status', 'Client Status'],
          [p.allocId.slice(0, 8), s.alloc(p.allocId)!.evalId.slice(0, 8), 'build-1', 'build', 'run', 'pending'],
        ]),
      ].join('\n'),
    );
    expect(renderNodeStatusSelf(seedNode, [])).not.toContain('Allocations');
  });
});
