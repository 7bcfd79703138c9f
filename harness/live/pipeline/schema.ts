import type { Migration } from '../../providers/index.ts';

/** The database the pipeline's tables live in. */
export const PIPELINE_DB = 'circle';

/** `builds` (one row per triggered push) and `step_output` (standing in for MongoDB's action logs in v0). */
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
];

export const RUN_QUEUE = 'run-queue';
export const SCHEDULERER_QUEUE = 'schedulerer';

/** What travels on `run-queue`. */
export interface RunMessage {
  buildId: number;
  repo: string;
  sha: string;
}

/** What travels on `schedulerer`. */
export interface ScheduleMessage extends RunMessage {
  parallelism: number;
  durationMs: number;
}
