import type { Migration } from '../../providers/index.ts';

/** The database the pipeline's tables live in. */
export const PIPELINE_DB = 'circle';

/**
 * `builds` (one row per job of a workflow), `workflows`; `step_output` was v0's stand-in for MongoDB's action
 * logs and is no longer written (output-processor stores step output in MongoDB); applied migrations are never edited.
 */
export const PIPELINE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'pipeline-001-builds',
    sql: `CREATE TABLE builds (
      id bigserial PRIMARY KEY,
      repo text NOT NULL,
      sha text NOT NULL,
      delivery_guid text,
      status text NOT NULL DEFAULT 'queued',
      parallelism integer,
      queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      scheduled_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz
    )`,
  },
  {
    id: 'pipeline-002-step-output',
    sql: 'CREATE TABLE step_output (build_id bigint NOT NULL REFERENCES builds(id), seq integer NOT NULL, line text NOT NULL, PRIMARY KEY (build_id, seq))',
  },
  {
    // Workflows of several jobs run in sequence (workflows-conductor starts the next job when one succeeds);
    // `reason` says why a build ended as it did when a stage gave up on it.
    id: 'pipeline-003-workflows',
    sql: `CREATE TABLE workflows (
      id bigserial PRIMARY KEY,
      repo text NOT NULL,
      sha text NOT NULL,
      source text NOT NULL DEFAULT 'push',
      status text NOT NULL DEFAULT 'running',
      jobs_total integer,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      finished_at timestamptz
    );
    ALTER TABLE builds
      ADD COLUMN workflow_id bigint REFERENCES workflows(id),
      ADD COLUMN job_index integer NOT NULL DEFAULT 0,
      ADD COLUMN job_name text,
      ADD COLUMN dispatched_at timestamptz,
      ADD COLUMN reason text;
    CREATE INDEX builds_status ON builds (status);
    CREATE UNIQUE INDEX builds_workflow_job ON builds (workflow_id, job_index)`,
  },
  {
    // What a build is to store in object storage (from its config), so that the ledger can check it is there.
    id: 'pipeline-004-build-stores',
    sql: 'ALTER TABLE builds ADD COLUMN artifacts integer NOT NULL DEFAULT 0, ADD COLUMN test_results boolean NOT NULL DEFAULT false',
  },
  {
    // A build failed for an infrastructure reason (its Nomad allocation was lost) is re-run as a new build of the
    // same workflow job: `retry_of` names the build it re-runs. One first build per workflow job, one retry per build.
    id: 'pipeline-005-retries',
    sql: `ALTER TABLE builds ADD COLUMN retry_of bigint REFERENCES builds(id);
    DROP INDEX builds_workflow_job;
    CREATE UNIQUE INDEX builds_workflow_job ON builds (workflow_id, job_index) WHERE retry_of IS NULL;
    CREATE UNIQUE INDEX builds_retry_of ON builds (retry_of)`,
  },
  {
    // contexts-service's contexts: each names where vault-cci keeps its secrets.
    id: 'pipeline-006-contexts',
    sql: 'CREATE TABLE contexts (name text PRIMARY KEY, vault_path text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())',
  },
  {
    // A followed project's settings: the OAuth token of who followed it, which picard-dispatcher fetches the
    // project's config with (a project without a row: the stack's follower's token).
    id: 'pipeline-007-project-settings',
    sql: 'CREATE TABLE project_settings (repo text PRIMARY KEY, github_token text NOT NULL)',
  },
  {
    // When dispatcher forwarded a build from the usage queue to the run queue (the dev-console's usage queue is the
    // queued builds it has not forwarded yet).
    id: 'pipeline-008-forwarded',
    sql: 'ALTER TABLE builds ADD COLUMN forwarded_at timestamptz',
  },
];

/** The MongoDB collection of build records with their stored step output. */
export const ACTION_LOGS = 'action_logs';
/** The MongoDB collection where frontend records each push it takes (the project page lists them). */
export const PUSH_EVENTS = 'push_events';
/** The MongoDB collection of running builds' status, which output-processor writes as their steps run. */
export const BUILD_STATUS = 'build_status';

/** frontend and workflows-conductor → dispatcher: new builds wait here until dispatcher forwards them to run-queue. */
export const USAGE_QUEUE = 'usage-queue';
export const RUN_QUEUE = 'run-queue';
export const SCHEDULERER_QUEUE = 'schedulerer';
/** output-processor → workflows-conductor: a job of a workflow ended. */
export const WORKFLOW_EVENTS_QUEUE = 'workflow-events';

/** What travels on `run-queue`. */
export interface RunMessage {
  buildId: number;
  repo: string;
  sha: string;
  /** The job's position in its workflow (0 = the first); absent in v0 messages: 0. */
  jobIndex?: number;
}

/** `GERey/realitycheck/38`: how the services' logs name a build (its repository and number). */
export function buildSlug(msg: Pick<RunMessage, 'repo' | 'buildId'>): string {
  return `${msg.repo}/${msg.buildId}`;
}

/** What travels on `schedulerer`. */
export interface ScheduleMessage extends RunMessage {
  parallelism: number;
  /** How long its steps run (scenario ms): its longest task. */
  durationMs: number;
  /** How long each task runs, by task index, when they differ (the build's own draws); else each runs `durationMs`. */
  taskDurationsMs?: number[];
  /** Nomad task resources: CPU in MHz, memory in MB (the job's resource class). */
  cpuMhz?: number;
  memoryMb?: number;
  /** The build fails on its own (a red test): the twin-only `x-twin-fails`. */
  fails?: boolean;
  /** The instance the build needs from vm-service: a `machine` executor or a remote Docker engine. */
  vm?: 'machine' | 'remote_docker';
  /** What the build stores in object storage besides its step output. */
  artifacts?: number;
  testResults?: boolean;
}

/** What travels on `workflow-events`. */
export interface WorkflowEvent {
  buildId: number;
  workflowId: number;
  jobIndex: number;
  status: 'succeeded' | 'failed';
}
