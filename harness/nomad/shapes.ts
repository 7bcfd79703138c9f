/**
 * Nomad's HTTP JSON shapes (PascalCase, as the Go structs marshal) and pure functions that build them from
 * the scheduler's views plus the few facts only the API layer keeps (raft-like indexes, timestamps, the
 * job as submitted, drain metadata, task states).
 *
 * Field names and nesting follow Nomad's `api/jobs.go`, `api/nodes.go`, `api/allocations.go`,
 * `api/evaluations.go` and the HTTP API documentation. Fields of features the twin does not model
 * (deployments, networks, devices, volumes, periodic and parameterized jobs) are either left out or given
 * the value a cluster that does not use them shows (`null`, `false`, `""`).
 */
import { ALLOC_DISK_MB, CLIENT_DISK_MB } from '../../sim/metrics/client-agent.ts';
import {
  CPU_MHZ_PER_CORE,
  type AllocView,
  type EvalView,
  type JobView,
  type NodeView,
  type PlacementFailure,
} from '../../sim/models/nomad/index.ts';

// ---------------------------------------------------------------------------------------------
// What clients send

/** A placement constraint (`${node.class} = linux-64bit`). */
export interface ApiConstraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

/** A task's resource ask: CPU in MHz, memory in MB (Nomad's `api.Resources`). */
export interface ApiResources {
  CPU: number;
  MemoryMB: number;
  DiskMB?: number;
}

export interface ApiTask {
  Name: string;
  Driver: string;
  Config?: Record<string, unknown> | null;
  Env?: Record<string, string> | null;
  Resources: ApiResources;
  Meta?: Record<string, string> | null;
}

export interface ApiTaskGroup {
  Name: string;
  Count: number;
  Tasks: ApiTask[];
  Constraints?: ApiConstraint[] | null;
  Meta?: Record<string, string> | null;
}

/** A job as registered, after the defaults Nomad's `Canonicalize` applies. */
export interface ApiJob {
  ID: string;
  Name: string;
  Namespace: string;
  Region: string;
  Type: string;
  Priority: number;
  AllAtOnce: boolean;
  Datacenters: string[];
  Constraints: ApiConstraint[] | null;
  TaskGroups: ApiTaskGroup[];
  Meta: Record<string, string> | null;
}

// ---------------------------------------------------------------------------------------------
// What the API layer keeps besides the scheduler

/** Raft-like indexes of one object: the index that created it and the last that changed it. */
export interface Indexes {
  createIndex: number;
  modifyIndex: number;
}

export interface JobMeta extends Indexes {
  job: ApiJob;
  jobModifyIndex: number;
  submitTimeMs: number;
  summaryModifyIndex: number;
}

/** One task event (Nomad's `TaskEvent`), kept per allocation: every task of a group shares the state. */
export interface TaskEventMeta {
  type: string;
  timeMs: number;
  message: string;
  exitCode?: number;
}

export interface TaskStateMeta {
  state: 'pending' | 'running' | 'dead';
  failed: boolean;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  events: TaskEventMeta[];
}

export interface AllocMeta extends Indexes {
  allocModifyIndex: number;
  /** The placement's metrics as the scheduler saw the cluster then (Nomad's `Metrics`, an `AllocMetric`). */
  placement: { nodesEvaluated: number; nodesAvailable: Record<string, number> };
  createTimeMs: number;
  modifyTimeMs: number;
  nodeName: string;
  taskGroup: string;
  taskNames: string[];
  task: TaskStateMeta;
  /** `DesiredTransition.Migrate`: a drain marked it for migration. */
  migrate: boolean;
  /** Stopped by the server, not yet reported by its client: the client status it still shows. */
  reportedClientStatus: string | null;
  /** Why the server stopped it, when that is not the scheduler's own reason (a drain's migration). */
  desiredDescription: string | null;
}

export interface EvalMeta extends Indexes {
  jobModifyIndex: number;
  createTimeMs: number;
  modifyTimeMs: number;
  /** Tasks still to place when the evaluation was last seen (Nomad's `QueuedAllocations`). */
  queued: number;
  /** Ready nodes per datacenter when the evaluation was created (`NodesAvailable` of its metrics). */
  nodesAvailable: Record<string, number>;
  /**
   * For an evaluation that left tasks unplaced: why, as it was when it ran (Nomad records the failure on the
   * evaluation itself as well as on the blocked one it creates; the scheduler keeps it on the blocked one).
   */
  failure: PlacementFailure | null;
}

export interface DrainStrategyMeta {
  deadlineNs: number;
  ignoreSystemJobs: boolean;
  startedAtMs: number;
}

export interface NodeEventMeta {
  message: string;
  subsystem: 'Cluster' | 'Drain' | 'Heartbeat';
  timeMs: number;
  createIndex: number;
}

export interface NodeMeta extends Indexes {
  address: string;
  /** Set while a `DrainSpec` drain (Nomad ≥ 0.8) is in progress; cleared when it completes. */
  drainStrategy: DrainStrategyMeta | null;
  /** True while a `?enable=true` drain (Nomad ≤ 0.7) is on: it stays on until disabled. */
  legacyDrain: boolean;
  events: NodeEventMeta[];
  statusUpdatedAtMs: number;
}

/** Who the agent says it is (`/v1/agent/self`, `/v1/status/leader`). */
export interface AgentIdentity {
  version: string;
  region: string;
  datacenter: string;
  nodeName: string;
  httpAddr: string;
  rpcAddr: string;
  serfPort: number;
}

// ---------------------------------------------------------------------------------------------
// What the server returns

export interface TaskGroupSummaryJson {
  Queued: number;
  Complete: number;
  Failed: number;
  Running: number;
  Starting: number;
  Lost: number;
  Unknown: number;
}

export interface JobSummaryJson {
  JobID: string;
  Namespace: string;
  Summary: Record<string, TaskGroupSummaryJson>;
  Children: { Pending: number; Running: number; Dead: number };
  CreateIndex: number;
  ModifyIndex: number;
}

export interface JobListStubJson {
  ID: string;
  ParentID: string;
  Name: string;
  Namespace: string;
  Datacenters: string[];
  Type: string;
  Priority: number;
  Periodic: boolean;
  ParameterizedJob: boolean;
  Stop: boolean;
  Status: string;
  StatusDescription: string;
  JobSummary: JobSummaryJson;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
  SubmitTime: number;
}

/** A task as 0.9.3 stores it: the submitted fields plus the defaults its `Canonicalize` fills in. */
export interface TaskJson extends Omit<ApiTask, 'Resources'> {
  Resources: ResourcesJson;
  [key: string]: unknown;
}

export interface TaskGroupJson extends Omit<ApiTaskGroup, 'Tasks'> {
  Tasks: TaskJson[];
  [key: string]: unknown;
}

export interface JobJson extends Omit<ApiJob, 'TaskGroups'> {
  TaskGroups: TaskGroupJson[];
  ParentID: string;
  Affinities: null;
  Spreads: null;
  Update: Record<string, unknown>;
  Dispatched: boolean;
  VaultToken: string;
  Periodic: null;
  ParameterizedJob: null;
  Payload: null;
  Stop: boolean;
  Status: string;
  StatusDescription: string;
  Stable: boolean;
  Version: number;
  SubmitTime: number;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
}

export interface JobRegisterResponseJson {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
  Index: number;
  LastContact: number;
  KnownLeader: boolean;
}

export interface JobDeregisterResponseJson {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Index: number;
  LastContact: number;
  KnownLeader: boolean;
}

export interface TaskEventJson {
  Type: string;
  Time: number;
  Message: string;
  DisplayMessage: string;
  Details: Record<string, string>;
  ExitCode: number;
  FailsTask: boolean;
}

export interface TaskStateJson {
  State: string;
  Failed: boolean;
  Restarts: number;
  LastRestart: string;
  StartedAt: string;
  FinishedAt: string;
  Events: TaskEventJson[];
}

export interface AllocListStubJson {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobType: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: string;
  DesiredDescription: string;
  ClientStatus: string;
  ClientDescription: string;
  DesiredTransition: { Migrate: boolean | null; Reschedule: null; ForceReschedule: null };
  TaskStates: Record<string, TaskStateJson>;
  FollowupEvalID: string;
  CreateIndex: number;
  ModifyIndex: number;
  AllocModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

/** Nomad's `structs.Resources` as a job's task, an allocation and a node report it. */
export interface ResourcesJson {
  CPU: number;
  MemoryMB: number;
  DiskMB: number;
  IOPS: number;
  Networks: null;
  Devices: null;
}

export interface AllocationJson extends AllocListStubJson {
  Job: JobJson | null;
  Resources: ResourcesJson;
  SharedResources: ResourcesJson;
  TaskResources: Record<string, ResourcesJson>;
  AllocatedResources: {
    Tasks: Record<string, { Cpu: { CpuShares: number }; Memory: { MemoryMB: number }; Networks: null; Devices: null }>;
    Shared: { DiskMB: number };
  };
  Metrics: AllocMetricJson;
  DeploymentID: string;
  DeploymentStatus: null;
  RescheduleTracker: null;
  PreemptedAllocations: null;
  PreemptedByAllocation: string;
  PreviousAllocation: string;
  NextAllocation: string;
}

export interface AllocMetricJson {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesAvailable: Record<string, number>;
  ClassFiltered: null;
  ConstraintFiltered: Record<string, number> | null;
  NodesExhausted: number;
  ClassExhausted: null;
  DimensionExhausted: Record<string, number> | null;
  QuotaExhausted: null;
  Scores: null;
  ScoreMetaData: null;
  AllocationTime: number;
  CoalescedFailures: number;
}

export interface EvaluationJson {
  ID: string;
  Namespace: string;
  Priority: number;
  Type: string;
  TriggeredBy: string;
  JobID: string;
  JobModifyIndex: number;
  NodeID: string;
  NodeModifyIndex: number;
  DeploymentID: string;
  Status: string;
  StatusDescription: string;
  Wait: number;
  WaitUntil: string;
  NextEval: string;
  PreviousEval: string;
  BlockedEval: string;
  FailedTGAllocs: Record<string, AllocMetricJson> | null;
  ClassEligibility: null;
  EscapedComputedClass: boolean;
  QuotaLimitReached: string;
  AnnotatePlan: boolean;
  QueuedAllocations: Record<string, number>;
  SnapshotIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface DrainStrategyJson {
  Deadline: number;
  IgnoreSystemJobs: boolean;
  ForceDeadline: string;
  StartedAt: string;
}

export interface DriverInfoJson {
  Attributes: Record<string, string>;
  Detected: boolean;
  Healthy: boolean;
  HealthDescription: string;
  UpdateTime: string;
}

export interface NodeListStubJson {
  Address: string;
  ID: string;
  Datacenter: string;
  Name: string;
  NodeClass: string;
  Version: string;
  Drain: boolean;
  SchedulingEligibility: string;
  Status: string;
  StatusDescription: string;
  Drivers: Record<string, DriverInfoJson>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface NodeEventJson {
  Message: string;
  Subsystem: string;
  Details: null;
  Timestamp: string;
  CreateIndex: number;
}

export interface NodeJson {
  ID: string;
  SecretID: string;
  Datacenter: string;
  Name: string;
  HTTPAddr: string;
  TLSEnabled: boolean;
  Attributes: Record<string, string>;
  Resources: { CPU: number; MemoryMB: number; DiskMB: number; IOPS: number };
  Reserved: { CPU: number; MemoryMB: number; DiskMB: number; IOPS: number };
  NodeResources: { Cpu: { CpuShares: number }; Memory: { MemoryMB: number }; Disk: { DiskMB: number } };
  ReservedResources: { Cpu: { CpuShares: number }; Memory: { MemoryMB: number }; Disk: { DiskMB: number } };
  Links: Record<string, string>;
  Meta: Record<string, string>;
  NodeClass: string;
  ComputedClass: string;
  Drain: boolean;
  DrainStrategy: DrainStrategyJson | null;
  SchedulingEligibility: string;
  Status: string;
  StatusDescription: string;
  StatusUpdatedAt: number;
  Events: NodeEventJson[];
  Drivers: Record<string, DriverInfoJson>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** The reply of `/v1/node/:id/drain` and `/v1/node/:id/eligibility` (Nomad's `NodeDrainUpdateResponse`). */
export interface NodeUpdateResponseJson {
  EvalCreateIndex: number;
  EvalIDs: string[] | null;
  NodeModifyIndex: number;
  Index: number;
}

// ---------------------------------------------------------------------------------------------
// Builders

/** Go's zero `time.Time` as JSON (what Nomad prints for a task that has not started or finished). */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
/** Disk every allocation asks for: Nomad's default ephemeral disk (300 MB), as the simulation's clients count it. */
export const DEFAULT_EPHEMERAL_DISK_MB = ALLOC_DISK_MB;
/** Each simulated client's disk (a 100 GB root volume), as the simulation's client gauges report it. */
export const NODE_DISK_MB = CLIENT_DISK_MB;
/** Nomad keeps the last 10 events of a node (`structs.MaxRetainedNodeEvents`). */
export const MAX_RETAINED_NODE_EVENTS = 10;

/** Milliseconds since the epoch as Nomad's `int64` UnixNano fields. */
export function unixNano(ms: number): number {
  return ms * 1e6;
}

/** Milliseconds since the epoch as an RFC 3339 timestamp. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** Scheduler millicores as the MHz Nomad's API speaks (`CPU_MHZ_PER_CORE` per core). */
export function milliToMhz(cpuMilli: number): number {
  return Math.round((cpuMilli * CPU_MHZ_PER_CORE) / 1000);
}

/** MHz of a Nomad resource ask as scheduler millicores, rounded up so that a task never gets less than it asked. */
export function mhzToMilli(mhz: number): number {
  return Math.max(1, Math.ceil((mhz * 1000) / CPU_MHZ_PER_CORE));
}

/** The one task group of a job (the twin's scheduler places one group per job). */
export function taskGroupOf(job: ApiJob): ApiTaskGroup {
  const tg = job.TaskGroups[0];
  if (tg === undefined) throw new Error(`job ${job.ID} has no task group`);
  return tg;
}

export function toJobSummary(view: JobView, meta: JobMeta): JobSummaryJson {
  const s = view.summary;
  return {
    JobID: view.id,
    Namespace: meta.job.Namespace,
    Summary: {
      [taskGroupOf(meta.job).Name]: {
        Queued: s.queued,
        Complete: s.complete,
        Failed: s.failed,
        Running: s.running,
        Starting: s.starting,
        Lost: s.lost,
        Unknown: 0,
      },
    },
    Children: { Pending: 0, Running: 0, Dead: 0 },
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.summaryModifyIndex,
  };
}

export function toJobStub(view: JobView, meta: JobMeta): JobListStubJson {
  return {
    ID: view.id,
    ParentID: '',
    Name: meta.job.Name,
    Namespace: meta.job.Namespace,
    Datacenters: meta.job.Datacenters,
    Type: meta.job.Type,
    Priority: view.priority,
    Periodic: false,
    ParameterizedJob: false,
    Stop: view.stopped,
    Status: view.status,
    StatusDescription: '',
    JobSummary: toJobSummary(view, meta),
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
    JobModifyIndex: meta.jobModifyIndex,
    SubmitTime: unixNano(meta.submitTimeMs),
  };
}

/** Go durations marshal as nanoseconds. */
const NS_PER_S = 1e9;
/** 0.9.3's defaults for a batch job's group (`structs.DefaultBatchJobRestartPolicy`, `...ReschedulePolicy`). */
export const BATCH_RESTART_POLICY = Object.freeze({ Attempts: 3, Interval: 86_400 * NS_PER_S, Delay: 15 * NS_PER_S, Mode: 'fail' });
export const BATCH_RESCHEDULE_POLICY = Object.freeze({ Attempts: 1, Interval: 86_400 * NS_PER_S, Delay: 5 * NS_PER_S, DelayFunction: 'constant', MaxDelay: 0, Unlimited: false });
/** A batch job has no rolling updates: 0.9.3 stores a zero `UpdateStrategy`. */
const ZERO_UPDATE = Object.freeze({ Stagger: 0, MaxParallel: 0, HealthCheck: '', MinHealthyTime: 0, HealthyDeadline: 0, ProgressDeadline: 0, AutoRevert: false, AutoPromote: false, Canary: 0 });

function toTaskJson(t: ApiTask): TaskJson {
  return {
    Name: t.Name,
    Driver: t.Driver,
    User: '',
    Config: t.Config ?? null,
    Env: t.Env ?? null,
    Services: null,
    Vault: null,
    Templates: null,
    Constraints: null,
    Affinities: null,
    Resources: resources(t.Resources.CPU, t.Resources.MemoryMB, 0),
    DispatchPayload: null,
    Meta: t.Meta ?? null,
    KillTimeout: 5 * NS_PER_S,
    LogConfig: { MaxFiles: 10, MaxFileSizeMB: 10 },
    Artifacts: null,
    Leader: false,
    ShutdownDelay: 0,
    KillSignal: '',
  };
}

function toTaskGroupJson(g: ApiTaskGroup): TaskGroupJson {
  return {
    Name: g.Name,
    Count: g.Count,
    Update: null,
    Migrate: null,
    Constraints: g.Constraints ?? null,
    RestartPolicy: { ...BATCH_RESTART_POLICY },
    Tasks: g.Tasks.map(toTaskJson),
    EphemeralDisk: { Sticky: false, SizeMB: DEFAULT_EPHEMERAL_DISK_MB, Migrate: false },
    Meta: g.Meta ?? null,
    ReschedulePolicy: { ...BATCH_RESCHEDULE_POLICY },
    Affinities: null,
    Spreads: null,
  };
}

/** The job as `GET /v1/job/:id` answers: what was submitted, with 0.9.3's defaults, in its field order. */
export function toJob(view: JobView, meta: JobMeta): JobJson {
  const j = meta.job;
  return {
    Stop: view.stopped,
    Region: j.Region,
    Namespace: j.Namespace,
    ID: j.ID,
    ParentID: '',
    Name: j.Name,
    Type: j.Type,
    Priority: j.Priority,
    AllAtOnce: j.AllAtOnce,
    Datacenters: j.Datacenters,
    Constraints: j.Constraints,
    Affinities: null,
    Spreads: null,
    TaskGroups: j.TaskGroups.map(toTaskGroupJson),
    Update: { ...ZERO_UPDATE },
    Periodic: null,
    ParameterizedJob: null,
    Dispatched: false,
    Payload: null,
    Meta: j.Meta,
    VaultToken: '',
    Status: view.status,
    StatusDescription: '',
    Stable: false,
    Version: 0,
    SubmitTime: unixNano(meta.submitTimeMs),
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
    JobModifyIndex: meta.jobModifyIndex,
  };
}

/** Nomad's `ClientDescription` for each client status. */
function clientDescription(clientStatus: string): string {
  switch (clientStatus) {
    case 'running':
      return 'Tasks are running';
    case 'complete':
      return 'All tasks have completed';
    case 'failed':
      return 'Failed tasks';
    case 'lost':
      return 'alloc is lost since its node is down';
    default:
      return '';
  }
}

/** Nomad's `DesiredDescription`: why the server wants an allocation stopped. */
function desiredDescription(a: AllocView): string {
  if (a.desiredStatus !== 'stop') return '';
  return a.clientStatus === 'lost' ? 'alloc is lost since its node is down' : 'alloc not needed due to job update';
}

function toTaskState(t: TaskStateMeta): TaskStateJson {
  return {
    State: t.state,
    Failed: t.failed,
    Restarts: 0,
    LastRestart: GO_ZERO_TIME,
    StartedAt: t.startedAtMs === null ? GO_ZERO_TIME : rfc3339(t.startedAtMs),
    FinishedAt: t.finishedAtMs === null ? GO_ZERO_TIME : rfc3339(t.finishedAtMs),
    Events: t.events.map((e) => ({
      Type: e.type,
      Time: unixNano(e.timeMs),
      Message: e.message,
      DisplayMessage: e.message,
      Details: {},
      ExitCode: e.exitCode ?? 0,
      FailsTask: e.type === 'Terminated' && (e.exitCode ?? 0) !== 0,
    })),
  };
}

export function toAllocStub(a: AllocView, meta: AllocMeta, jobType = 'batch'): AllocListStubJson {
  // Until its client reports a server-side stop, the allocation shows the client status it had. (Not a spread of
  // the view: the scheduler's views are class instances whose ids are getters.)
  const clientStatus = meta.reportedClientStatus ?? a.clientStatus;
  const state = toTaskState(meta.task);
  const states: Record<string, TaskStateJson> = {};
  for (const name of meta.taskNames) states[name] = state;
  return {
    ID: a.allocId,
    EvalID: a.evalId,
    Name: `${a.jobId}.${meta.taskGroup}[${a.taskIndex}]`,
    Namespace: 'default',
    NodeID: a.nodeId,
    NodeName: meta.nodeName,
    JobID: a.jobId,
    JobType: jobType,
    JobVersion: 0,
    TaskGroup: meta.taskGroup,
    DesiredStatus: a.desiredStatus,
    DesiredDescription: meta.desiredDescription ?? desiredDescription(a),
    ClientStatus: clientStatus,
    ClientDescription: clientDescription(clientStatus),
    DesiredTransition: { Migrate: meta.migrate ? true : null, Reschedule: null, ForceReschedule: null },
    TaskStates: states,
    FollowupEvalID: '',
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
    AllocModifyIndex: meta.allocModifyIndex,
    CreateTime: unixNano(meta.createTimeMs),
    ModifyTime: unixNano(meta.modifyTimeMs),
  };
}

/** A resource ask in Nomad's `structs.Resources` shape. */
export function resources(cpuMhz: number, memoryMb: number, diskMb: number): ResourcesJson {
  return { CPU: cpuMhz, MemoryMB: memoryMb, DiskMB: diskMb, IOPS: 0, Networks: null, Devices: null };
}

/** A full allocation; `job` is the owning job when it is still known (it is null after a purge). */
export function toAllocation(a: AllocView, meta: AllocMeta, job: { view: JobView; meta: JobMeta } | null): AllocationJson {
  const tasks = job === null ? [] : taskGroupOf(job.meta.job).Tasks;
  const taskResources: AllocationJson['TaskResources'] = {};
  const allocated: AllocationJson['AllocatedResources']['Tasks'] = {};
  let cpu = 0;
  let mem = 0;
  for (const t of tasks) {
    taskResources[t.Name] = resources(t.Resources.CPU, t.Resources.MemoryMB, 0);
    allocated[t.Name] = { Cpu: { CpuShares: t.Resources.CPU }, Memory: { MemoryMB: t.Resources.MemoryMB }, Networks: null, Devices: null };
    cpu += t.Resources.CPU;
    mem += t.Resources.MemoryMB;
  }
  return {
    ...toAllocStub(a, meta, job?.meta.job.Type ?? 'batch'),
    Job: job === null ? null : toJob(job.view, job.meta),
    Resources: resources(cpu, mem, DEFAULT_EPHEMERAL_DISK_MB),
    SharedResources: resources(0, 0, DEFAULT_EPHEMERAL_DISK_MB),
    TaskResources: taskResources,
    AllocatedResources: { Tasks: allocated, Shared: { DiskMB: DEFAULT_EPHEMERAL_DISK_MB } },
    Metrics: {
      NodesEvaluated: meta.placement.nodesEvaluated,
      NodesFiltered: 0,
      NodesAvailable: meta.placement.nodesAvailable,
      ClassFiltered: null,
      ConstraintFiltered: null,
      NodesExhausted: 0,
      ClassExhausted: null,
      DimensionExhausted: null,
      QuotaExhausted: null,
      Scores: null,
      ScoreMetaData: null,
      AllocationTime: 0,
      CoalescedFailures: 0,
    },
    DeploymentID: '',
    DeploymentStatus: null,
    RescheduleTracker: null,
    PreemptedAllocations: null,
    PreemptedByAllocation: '',
    PreviousAllocation: '',
    NextAllocation: '',
  };
}

/** A placement failure as Nomad's `AllocMetric` (the value of `FailedTGAllocs[group]`). */
export function toAllocMetric(f: PlacementFailure, nodesAvailable: Record<string, number>): AllocMetricJson {
  const dims: Record<string, number> = {};
  if (f.dimensionExhausted.cpu > 0) dims.cpu = f.dimensionExhausted.cpu;
  if (f.dimensionExhausted.memory > 0) dims.memory = f.dimensionExhausted.memory;
  return {
    NodesEvaluated: f.nodesEvaluated,
    NodesFiltered: f.nodesFiltered,
    NodesAvailable: nodesAvailable,
    ClassFiltered: null,
    ConstraintFiltered: f.constraint !== null && f.nodesFiltered > 0 ? { [f.constraint]: f.nodesFiltered } : null,
    NodesExhausted: f.nodesExhausted,
    ClassExhausted: null,
    DimensionExhausted: Object.keys(dims).length > 0 ? dims : null,
    QuotaExhausted: null,
    Scores: null,
    ScoreMetaData: null,
    AllocationTime: 0,
    CoalescedFailures: f.coalescedFailures,
  };
}

/** Nomad's `StatusDescription` of a blocked evaluation (`generic_sched.go`). */
export const BLOCKED_EVAL_DESCRIPTION = 'created to place remaining allocations';

export function toEvaluation(e: EvalView, meta: EvalMeta, taskGroup: string, jobType = 'batch'): EvaluationJson {
  const failure = e.failedTgAllocs ?? meta.failure;
  return {
    ID: e.id,
    Namespace: 'default',
    Priority: e.priority,
    // Nomad creates deregistration evaluations with the service type whatever the job's type.
    Type: e.triggeredBy === 'job-deregister' ? 'service' : jobType,
    TriggeredBy: e.triggeredBy,
    JobID: e.jobId,
    JobModifyIndex: meta.jobModifyIndex,
    NodeID: '',
    NodeModifyIndex: 0,
    DeploymentID: '',
    Status: e.status,
    StatusDescription: e.triggeredBy === 'queued-allocs' ? BLOCKED_EVAL_DESCRIPTION : '',
    Wait: 0,
    WaitUntil: GO_ZERO_TIME,
    NextEval: '',
    PreviousEval: e.previousEvalId ?? '',
    BlockedEval: e.blockedEvalId ?? '',
    FailedTGAllocs: failure === null ? null : { [taskGroup]: toAllocMetric(failure, meta.nodesAvailable) },
    ClassEligibility: null,
    EscapedComputedClass: false,
    QuotaLimitReached: '',
    AnnotatePlan: false,
    QueuedAllocations: e.triggeredBy === 'job-deregister' ? {} : { [taskGroup]: meta.queued },
    SnapshotIndex: meta.createIndex,
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
  };
}

/** What a node reports as draining: a DrainSpec drain in progress or a legacy drain that is on. */
export function isDraining(meta: NodeMeta): boolean {
  return meta.drainStrategy !== null || meta.legacyDrain;
}

function drivers(updatedAtMs: number): Record<string, DriverInfoJson> {
  return {
    docker: {
      Attributes: { 'driver.docker': 'true', 'driver.docker.version': '17.06.0-ce' },
      Detected: true,
      Healthy: true,
      HealthDescription: 'Healthy',
      UpdateTime: rfc3339(updatedAtMs),
    },
  };
}

export function toNodeStub(n: NodeView, meta: NodeMeta, version: string): NodeListStubJson {
  return {
    Address: meta.address,
    ID: n.id,
    Datacenter: n.datacenter,
    Name: n.name,
    NodeClass: n.nodeClass,
    Version: version,
    Drain: isDraining(meta),
    SchedulingEligibility: n.eligibility,
    Status: n.status,
    StatusDescription: '',
    Drivers: drivers(meta.statusUpdatedAtMs),
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
  };
}

/**
 * A node. `httpAddr` is where its client API answers: the twin serves every simulated client's endpoints
 * (`/v1/client/...`) on its own listener, so the CLI's direct-to-client calls (logs, stats) reach it.
 */
export function toNode(n: NodeView, meta: NodeMeta, version: string, httpAddr: string): NodeJson {
  const cpuMhz = milliToMhz(n.totalCpuMilli);
  const reservedMhz = milliToMhz(n.reservedCpuMilli);
  const cores = Math.max(1, Math.round(n.totalCpuMilli / 1000));
  const diskMb = NODE_DISK_MB;
  const ds = meta.drainStrategy;
  return {
    ID: n.id,
    SecretID: '',
    Datacenter: n.datacenter,
    Name: n.name,
    HTTPAddr: httpAddr,
    TLSEnabled: false,
    Attributes: {
      'cpu.arch': 'amd64',
      'cpu.numcores': String(cores),
      'cpu.frequency': String(CPU_MHZ_PER_CORE),
      'cpu.totalcompute': String(cpuMhz),
      'memory.totalbytes': String(n.totalMemoryMb * 1024 * 1024),
      'kernel.name': 'linux',
      'os.name': 'ubuntu',
      'nomad.version': version,
      'unique.hostname': n.name,
      'unique.network.ip-address': meta.address,
      'unique.storage.volume': '/dev/xvda1',
      'driver.docker': '1',
    },
    Resources: { CPU: cpuMhz, MemoryMB: n.totalMemoryMb, DiskMB: diskMb, IOPS: 0 },
    Reserved: { CPU: reservedMhz, MemoryMB: n.reservedMemoryMb, DiskMB: 0, IOPS: 0 },
    NodeResources: { Cpu: { CpuShares: cpuMhz }, Memory: { MemoryMB: n.totalMemoryMb }, Disk: { DiskMB: diskMb } },
    ReservedResources: { Cpu: { CpuShares: reservedMhz }, Memory: { MemoryMB: n.reservedMemoryMb }, Disk: { DiskMB: 0 } },
    Links: {},
    Meta: {},
    NodeClass: n.nodeClass,
    ComputedClass: `v1:${n.nodeClass}`,
    Drain: isDraining(meta),
    DrainStrategy:
      ds === null
        ? null
        : {
            Deadline: ds.deadlineNs,
            IgnoreSystemJobs: ds.ignoreSystemJobs,
            ForceDeadline: ds.deadlineNs > 0 ? rfc3339(ds.startedAtMs + ds.deadlineNs / 1e6) : GO_ZERO_TIME,
            StartedAt: rfc3339(ds.startedAtMs),
          },
    SchedulingEligibility: n.eligibility,
    Status: n.status,
    StatusDescription: '',
    StatusUpdatedAt: Math.floor(meta.statusUpdatedAtMs / 1000),
    Events: meta.events.map((e) => ({
      Message: e.message,
      Subsystem: e.subsystem,
      Details: null,
      Timestamp: rfc3339(e.timeMs),
      CreateIndex: e.createIndex,
    })),
    Drivers: drivers(meta.statusUpdatedAtMs),
    CreateIndex: meta.createIndex,
    ModifyIndex: meta.modifyIndex,
  };
}

/** `/v1/agent/self`: the parts of Nomad's agent config and stats that clients read. */
export function toAgentSelf(id: AgentIdentity, stats: { commitIndex: number }): Record<string, unknown> {
  const [rpcHost = '127.0.0.1', rpcPort = '4647'] = id.rpcAddr.split(':');
  const httpPort = Number(id.httpAddr.split(':')[1] ?? 4646);
  return {
    config: {
      Addresses: { HTTP: '127.0.0.1', RPC: rpcHost, Serf: '127.0.0.1' },
      AdvertiseAddrs: { HTTP: id.httpAddr, RPC: id.rpcAddr, Serf: `127.0.0.1:${id.serfPort}` },
      BindAddr: '127.0.0.1',
      Client: { Enabled: false },
      DataDir: '/opt/nomad',
      Datacenter: id.datacenter,
      DevMode: false,
      NodeName: id.nodeName,
      Ports: { HTTP: httpPort, RPC: Number(rpcPort), Serf: id.serfPort },
      Region: id.region,
      Server: { Enabled: true, BootstrapExpect: 1 },
      // 0.9 reports its version as an object (`version.VersionInfo`); older agents had a string here.
      Version: { Revision: '', Version: id.version, VersionPrerelease: '', VersionMetadata: '' },
    },
    member: {
      Name: `${id.nodeName}.${id.region}`,
      Addr: rpcHost,
      Port: id.serfPort,
      Status: 'alive',
      Tags: { role: 'nomad', region: id.region, dc: id.datacenter, build: id.version, port: rpcPort, rpc_addr: rpcHost, bootstrap: '1', vsn: '1', mvn: '1', raft_vsn: '2' },
      ProtocolMin: 1,
      ProtocolMax: 5,
      ProtocolCur: 2,
      DelegateMin: 2,
      DelegateMax: 4,
      DelegateCur: 4,
    },
    stats: {
      nomad: { server: 'true', leader: 'true', leader_addr: id.rpcAddr, bootstrap: 'true', known_regions: '1' },
      // A single server's raft: the leader of term 1, with every committed index applied at once.
      raft: {
        state: 'Leader',
        term: '1',
        num_peers: '0',
        commit_index: String(stats.commitIndex),
        applied_index: String(stats.commitIndex),
        last_log_index: String(stats.commitIndex),
        last_log_term: '1',
        fsm_pending: '0',
        last_contact: '0',
        protocol_version: '2',
      },
      // The twin is no Go program: its runtime says so instead of inventing a Go version.
      runtime: { arch: 'amd64', 'kernel.name': 'linux', version: 'twin' },
      serf: { members: '1', failed: '0', left: '0', health_score: '0', member_time: '1', event_time: '1', query_time: '1', intent_queue: '0', event_queue: '0', query_queue: '0', encrypted: 'false' },
      vault: { tracked_for_revoked: '0', token_ttl: '0s', is_renewing: 'false', token_expire_time: '', token_last_renewal_time: '', token_next_renewal_time: '' },
    },
  };
}
