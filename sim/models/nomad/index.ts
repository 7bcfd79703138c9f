/** The Nomad server scheduling model: see README.md. */
export {
  NomadScheduler,
  DEFAULT_MAX_BLOCKED_RETRIES_PER_CHANGE,
  DEFAULT_RESERVED_CPU_MILLI,
  DEFAULT_RESERVED_MEMORY_MB,
  type AllocRef,
  type Change,
  type JobCounts,
  type NodeResources,
  type NomadSchedulerOptions,
  type NomadSchedulerSettings,
} from './scheduler.ts';
export {
  CPU_MHZ_PER_CORE,
  DEFAULT_DATACENTER,
  DEFAULT_JOB_PRIORITY,
  DEFAULT_NODE_CLASS,
  TASK_GROUP_NAME,
  nomadId,
  shortId,
  type AllocView,
  type ClientStatus,
  type DesiredStatus,
  type Eligibility,
  type EvalStatus,
  type EvalTrigger,
  type EvalView,
  type JobSpec,
  type JobStatus,
  type JobSummary,
  type JobView,
  type NodeSpec,
  type NodeStatus,
  type NodeView,
  type Placement,
  type PlacementFailure,
} from './cluster-state.ts';
export {
  BINPACK_MAX_FIT_SCORE,
  finalScore,
  jobAntiAffinityPenalty,
  scoreFitBinPack,
  scoreFitSpread,
  type Algorithm,
} from './rank.ts';
export { BATCH_CANDIDATE_LIMIT, MAX_SKIP, SKIP_SCORE_THRESHOLD, candidateLimit } from './stack.ts';
export {
  columnize,
  formatKv,
  humanizeIBytes,
  renderJobList,
  renderJobStatus,
  renderNodeStatusAllocs,
  renderNodeStatusSelf,
  renderPlacementFailure,
} from './status-text.ts';
export { auditScheduler } from './invariants.ts';
