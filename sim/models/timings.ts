/**
 * Service latencies of the pipeline model (virtual ms). The seeds give few of these; where they are silent
 * these are round figures typical of the services involved, chosen so that fixed overheads are small next to
 * build durations and capacity waits. Each is named for the hop it delays.
 */
export const TIMINGS = {
  /** GitHub Enterprise → frontend webhook delivery. */
  webhookDeliveryMs: 50,
  /** frontend accepting the webhook and asking workflows-conductor to start the workflow. */
  frontendHandleMs: 20,
  /** workflows-conductor creating the workflow and its first build (postgres + mongo writes). */
  workflowStartMs: 30,
  /** dispatcher: usage-queue → run-queue forwarding ("forwarded to run-queue" in its log). */
  usageQueueForwardMs: 100,
  /** picard-dispatcher worker threads consuming the run queue concurrently. */
  picardWorkers: 16,
  /** picard-dispatcher fetching `.circleci/config.yml` from GitHub Enterprise (lognormal). */
  configFetch: { medianMs: 250, p95Ms: 1_000 },
  /** picard-dispatcher computing tasks (resource class, split by parallelism). */
  taskComputeMs: 10,
  /** contexts-service + vault-cci decrypting a context. */
  contextsFetchMs: 40,
  /** schedulerer (picard-scheduler) sending the job to the Nomad server. */
  schedulererSubmitMs: 50,
  /** Nomad client: receiving the allocation and starting the build-agent task (image present). */
  clientStartMs: 1_500,
  /** vm-service assigning an already running (preallocated) VM. */
  preallocatedAssignMs: 5_000,
  /** How often vm-scaler tops up the preallocated pool. */
  vmScalerIntervalMs: 60_000,
  /** After the workload stops, how long the run may drain before unfinished builds count as stuck
   * (the VM Provider's "Timeout for long running tasks (hours)": 6). */
  drainLimitMs: 6 * 3_600_000,
  /** Nomad's periodic garbage collection of terminal jobs (job_gc_interval). */
  nomadGcIntervalMs: 5 * 60_000,
} as const;
