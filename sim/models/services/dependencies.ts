/**
 * What each step of the pipeline needs running at the moment it happens. The seeds give the startup
 * dependencies and the failure effects; these runtime needs are what makes those effects emerge (each line
 * cites the effect it explains).
 */
export const NEEDS = {
  /** frontend serving www-api: "Potential total data loss. All running builds will fail and the UI will not work" (postgres, mongo, rabbitmq). */
  webhook: ['frontend', 'postgres', 'mongo', 'rabbitmq'],
  /** Starting a workflow: "Workflows will fail to start" (domain-service, permissions-service). */
  workflowStart: ['workflows-conductor', 'postgres', 'permissions-service', 'domain-service'],
  /** Moving a running workflow to its next job: needs the domain model of the project. */
  workflowAdvance: ['workflows-conductor', 'postgres', 'domain-service'],
  /** Recording a job's end in its workflow (output-processor calls workflows-conductor). */
  workflowRecord: ['workflows-conductor', 'postgres'],
  /** dispatcher forwarding from the usage queue to the run queue. */
  forward: ['dispatcher', 'mongo'],
  /** picard-dispatcher's GitHub API calls go through its redis-backed client: "API calls out to GitHub may also fail". */
  githubApi: ['redis'],
  /** contexts: "contexts-service will stop working, and all jobs that use contexts-service will fail". */
  contexts: ['contexts-service', 'vault-cci', 'postgres'],
  /** vm-service keeps its inventory in postgres (the `vms` database). */
  vm: ['vm-service', 'postgres'],
  /** output-processor finalising a build: status and step output to mongo. */
  finalise: ['output-processor', 'mongo'],
  /** Scheduled workflows. */
  cron: ['cron-service', 'postgres'],
} as const satisfies Record<string, readonly string[]>;
