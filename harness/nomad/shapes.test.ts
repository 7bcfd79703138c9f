import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/engine/rng.ts';
import { NomadScheduler } from '../../sim/models/nomad/index.ts';
import { parseJobRegistration } from './job-spec.ts';
import {
  BLOCKED_EVAL_DESCRIPTION,
  toAllocStub,
  toAllocation,
  toEvaluation,
  toJob,
  toJobStub,
  toNode,
  toNodeStub,
  type AllocMeta,
  type EvalMeta,
  type JobMeta,
  type NodeMeta,
} from './shapes.ts';

const T0 = Date.UTC(2020, 7, 18, 12, 0, 0);

function fixture() {
  const s = new NomadScheduler({ rng: new Rng(1).fork('nomad') });
  const nodeId = s.addNode({ name: 'ip-10-0-0-1', cpuMilli: 4000, memoryMb: 8192, datacenter: 'us-east-1', nodeClass: 'linux-64bit' });
  const reg = parseJobRegistration({
    Job: { ID: 'j1', Type: 'batch', Datacenters: ['us-east-1'], TaskGroups: [{ Name: 'build', Count: 2, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 5000, MemoryMB: 2048 } }] }] },
  });
  s.registerJob(reg.spec);
  const jobMeta: JobMeta = { job: reg.job, createIndex: 10, modifyIndex: 12, jobModifyIndex: 10, summaryModifyIndex: 11, submitTimeMs: T0 };
  const nodeMeta: NodeMeta = {
    createIndex: 2,
    modifyIndex: 2,
    address: '10.0.0.1',
    drainStrategy: null,
    legacyDrain: false,
    events: [{ message: 'Node registered', subsystem: 'Cluster', timeMs: T0, createIndex: 2 }],
    statusUpdatedAtMs: T0,
  };
  return { s, nodeId, reg, jobMeta, nodeMeta };
}

const allocMeta = (over: Partial<AllocMeta> = {}): AllocMeta => ({
  createIndex: 10,
  modifyIndex: 13,
  allocModifyIndex: 10,
  placement: { nodesEvaluated: 1, nodesAvailable: { 'us-east-1': 1 } },
  createTimeMs: T0,
  modifyTimeMs: T0 + 1000,
  nodeName: 'ip-10-0-0-1',
  taskGroup: 'build',
  taskNames: ['agent'],
  migrate: false,
  reportedClientStatus: null,
  desiredDescription: null,
  task: { state: 'running', failed: false, startedAtMs: T0 + 500, finishedAtMs: null, events: [{ type: 'Started', timeMs: T0 + 500, message: 'Task started by client' }] },
  ...over,
});

const evalMeta: EvalMeta = { createIndex: 10, modifyIndex: 10, jobModifyIndex: 10, createTimeMs: T0, modifyTimeMs: T0, queued: 1, nodesAvailable: { 'us-east-1': 1 }, failure: null };

describe('Nomad JSON shapes', () => {
  it('a job list stub carries the summary per task group, in PascalCase', () => {
    const { s, jobMeta } = fixture();
    const stub = toJobStub(s.job('j1')!, jobMeta);
    expect(stub).toMatchObject({
      ID: 'j1',
      Name: 'j1',
      Type: 'batch',
      Priority: 50,
      Status: 'running',
      Stop: false,
      CreateIndex: 10,
      ModifyIndex: 12,
      JobModifyIndex: 10,
      SubmitTime: T0 * 1e6,
      JobSummary: {
        JobID: 'j1',
        Namespace: 'default',
        Summary: { build: { Queued: 1, Starting: 1, Running: 0, Complete: 0, Failed: 0, Lost: 0, Unknown: 0 } },
        Children: { Pending: 0, Running: 0, Dead: 0 },
        ModifyIndex: 11,
      },
    });
    expect(Object.keys(stub).every((k) => /^[A-Z]/.test(k))).toBe(true);
  });

  it('a job keeps what was submitted, with status fields on top', () => {
    const { s, jobMeta } = fixture();
    s.stopJob('j1');
    const job = toJob(s.job('j1')!, jobMeta);
    expect(job).toMatchObject({ ID: 'j1', Status: 'dead', Stop: true, Region: 'global', Datacenters: ['us-east-1'], Version: 0 });
    expect(job.TaskGroups[0]!.Tasks[0]!.Resources).toEqual({ CPU: 5000, MemoryMB: 2048, DiskMB: 0, IOPS: 0, Networks: null, Devices: null });
    // The defaults 0.9.3 fills in for a batch job, as a real dev agent answered them.
    expect(job.TaskGroups[0]).toMatchObject({
      RestartPolicy: { Attempts: 3, Interval: 86_400e9, Delay: 15e9, Mode: 'fail' },
      ReschedulePolicy: { Attempts: 1, Interval: 86_400e9, Delay: 5e9, DelayFunction: 'constant', MaxDelay: 0, Unlimited: false },
      EphemeralDisk: { Sticky: false, SizeMB: 300, Migrate: false },
    });
    expect(job.TaskGroups[0]!.Tasks[0]).toMatchObject({ KillTimeout: 5e9, LogConfig: { MaxFiles: 10, MaxFileSizeMB: 10 } });
    expect(job.Update).toMatchObject({ MaxParallel: 0, Stagger: 0 });
  });

  it('an allocation is named job.group[index] and reports its task state on every task', () => {
    const { s, jobMeta } = fixture();
    const a = s.jobAllocs('j1')[0]!;
    s.markRunning(a.allocId);
    const stub = toAllocStub(a, allocMeta());
    expect(stub).toMatchObject({
      ID: a.allocId,
      EvalID: a.evalId,
      Name: 'j1.build[0]',
      NodeID: a.nodeId,
      NodeName: 'ip-10-0-0-1',
      JobID: 'j1',
      JobType: 'batch',
      TaskGroup: 'build',
      DesiredStatus: 'run',
      ClientStatus: 'running',
      ClientDescription: 'Tasks are running',
      CreateIndex: 10,
      ModifyIndex: 13,
      CreateTime: T0 * 1e6,
    });
    expect(stub.TaskStates.agent).toMatchObject({ State: 'running', Failed: false, StartedAt: '2020-08-18T12:00:00.500Z', FinishedAt: '0001-01-01T00:00:00Z' });
    expect(stub.TaskStates.agent!.Events[0]).toMatchObject({ Type: 'Started', Time: (T0 + 500) * 1e6, DisplayMessage: 'Task started by client' });
    const full = toAllocation(a, allocMeta(), { view: s.job('j1')!, meta: jobMeta });
    expect(full.Job!.ID).toBe('j1');
    expect(full.Resources).toEqual({ CPU: 5000, MemoryMB: 2048, DiskMB: 300, IOPS: 0, Networks: null, Devices: null });
    expect(full.AllocatedResources.Tasks.agent).toEqual({ Cpu: { CpuShares: 5000 }, Memory: { MemoryMB: 2048 }, Networks: null, Devices: null });
    // The CLI dereferences these (`alloc status -verbose`: Metrics; `node-status <id>`: Resources of each allocation).
    expect(full.Metrics).toMatchObject({ NodesEvaluated: 1, NodesFiltered: 0, NodesAvailable: { 'us-east-1': 1 }, NodesExhausted: 0, AllocationTime: 0, CoalescedFailures: 0 });
    expect(full.TaskResources.agent).toMatchObject({ CPU: 5000, MemoryMB: 2048 });
  });

  it("a lost allocation says why, in Nomad's words", () => {
    const { s, nodeId } = fixture();
    s.setNodeStatus(nodeId, 'down');
    const a = s.jobAllocs('j1')[0]!;
    expect(toAllocStub(a, allocMeta())).toMatchObject({ ClientStatus: 'lost', DesiredStatus: 'stop', DesiredDescription: 'alloc is lost since its node is down' });
  });

  it('a blocked evaluation carries the placement failure as an AllocMetric under its task group', () => {
    const { s } = fixture();
    const view = s.job('j1')!;
    const first = s.evaluation(view.evalIds[0]!)!;
    const blocked = s.evaluation(view.blockedEvalId!)!;
    const ev = toEvaluation(first, { ...evalMeta, failure: blocked.failedTgAllocs }, 'build');
    expect(ev).toMatchObject({ ID: first.id, Type: 'batch', TriggeredBy: 'job-register', Status: 'complete', BlockedEval: blocked.id, QueuedAllocations: { build: 1 } });
    const b = toEvaluation(blocked, evalMeta, 'build');
    // 0.9.3's Evaluation has no CreateTime/ModifyTime (they came later).
    expect(b).not.toHaveProperty('CreateTime');
    expect(b).toMatchObject({ DeploymentID: '', WaitUntil: '0001-01-01T00:00:00Z', QuotaLimitReached: '' });
    expect(b).toMatchObject({ Status: 'blocked', TriggeredBy: 'queued-allocs', PreviousEval: first.id, StatusDescription: BLOCKED_EVAL_DESCRIPTION });
    expect(b.FailedTGAllocs!.build).toMatchObject({
      NodesEvaluated: 1,
      NodesExhausted: 1,
      NodesAvailable: { 'us-east-1': 1 },
      DimensionExhausted: { cpu: 1 },
      ConstraintFiltered: null,
      CoalescedFailures: 0,
    });
  });

  it('a deregistration evaluation has the service type, as Nomad creates it', () => {
    const { s } = fixture();
    s.stopJob('j1');
    const view = s.job('j1')!;
    const e = s.evaluation(view.evalIds[view.evalIds.length - 1]!)!;
    expect(toEvaluation(e, evalMeta, 'build')).toMatchObject({ TriggeredBy: 'job-deregister', Type: 'service', QueuedAllocations: {} });
  });

  it('a node reports CPU in MHz, the reservation, and drain in both forms', () => {
    const { s, nodeId, nodeMeta } = fixture();
    const n = s.node(nodeId)!;
    const stub = toNodeStub(n, nodeMeta, '0.9.3');
    expect(stub).toMatchObject({ ID: nodeId, Name: 'ip-10-0-0-1', Datacenter: 'us-east-1', NodeClass: 'linux-64bit', Drain: false, SchedulingEligibility: 'eligible', Status: 'ready', Version: '0.9.3', Address: '10.0.0.1' });
    expect(stub).not.toHaveProperty('LastDrain');
    const node = toNode(n, nodeMeta, '0.9.3', '127.0.0.1:4646');
    expect(node.HTTPAddr).toBe('127.0.0.1:4646');
    expect(node.Resources).toMatchObject({ CPU: 10_000, MemoryMB: 8192 });
    expect(node.Reserved).toMatchObject({ CPU: 5_000, MemoryMB: 4096 });
    expect(node.Attributes['cpu.totalcompute']).toBe('10000');
    expect(node.Events[0]).toMatchObject({ Message: 'Node registered', Subsystem: 'Cluster', Timestamp: '2020-08-18T12:00:00.000Z' });
    expect(toNodeStub(n, { ...nodeMeta, legacyDrain: true }, '0.9.3').Drain).toBe(true);
    const draining = toNode(n, { ...nodeMeta, drainStrategy: { deadlineNs: 3_600e9, ignoreSystemJobs: false, startedAtMs: T0 } }, '0.9.3', '127.0.0.1:4646');
    expect(draining.Drain).toBe(true);
    expect(draining.DrainStrategy).toEqual({ Deadline: 3_600e9, IgnoreSystemJobs: false, ForceDeadline: '2020-08-18T13:00:00.000Z', StartedAt: '2020-08-18T12:00:00.000Z' });
  });
});
