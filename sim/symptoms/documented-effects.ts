import type { SymptomView } from '../report/types.ts';

/**
 * Where each row's documented failure effect (the table's `failure_effect` text) shows, as views of symptoms:
 * "No email notifications will be sent" is seen in `email`, "Live UI updates will stop" in `live-updates`. Read by
 * `twin conformance` only, to check that a row's effect was seen (attributed to the row's container), never by
 * the classifier. A row whose condition makes the container idle (federation-service without LDAP, fileserved
 * with S3) has no effect to see beyond its own status.
 */
export const DOCUMENTED_EFFECT_VIEWS: Readonly<Record<string, readonly SymptomView[]>> = {
  'api-service': ['ui'], // "Many parts of the UI (e.g. Contexts) will fail completely."
  'audit-log-service': ['audit-log'], // "Some events may not be recorded."
  'contexts-service': ['builds'], // "All builds using Contexts will fail."
  'cron-service': ['builds'], // "Scheduled workflows will not run."
  'domain-service': ['builds', 'ui'], // "Workflows will fail to start and some REST API calls may fail ..."
  exim: ['email'], // "No email notifications will be sent."
  'federation-service': ['ui'], // "If LDAP authentication is in use, all logins will fail ..."
  fileserved: ['builds', 'ui'], // "If not using S3, builds will produce no output and some REST API calls might fail."
  frontend: ['builds', 'ui'], // "The UI and REST API will be unavailable and no jobs will be triggered ..."
  mongo: ['builds', 'ui'], // "Potential total data loss. All running builds will fail and the UI will not work."
  'nomad-metrics': ['metrics'], // "Nomad metrics will be lost ..."
  'output-processor': ['builds', 'logs'], // "All running builds will either fail or be left in an unfixable, inconsistent state ..."
  'permissions-service': ['builds', 'ui'], // "Workflows will fail to start and some REST API calls may fail ..."
  'picard-dispatcher': ['logs', 'metrics'], // "No jobs will be sent to Nomad, the run queue will increase in size ..."
  postgres: ['builds', 'ui'], // "Potential total data loss. All running builds will fail and the UI will not work."
  rabbitmq: ['builds', 'ui'], // same
  redis: ['builds'], // "Lose output from currently-running job steps. API calls out to GitHub may also fail."
  schedulerer: ['metrics'], // "No jobs will be sent to Nomad, the run queue will increase in size ..."
  nomad_server: ['builds'], // "No 2.0 build jobs will run."
  'ready-agent': ['replicated'], // "Only required on startup. ..." (Replicated's check of it goes unanswered)
  'server-usage-stats': ['usage-stats'], // "CircleCI will not receive usage stats for your install ..."
  'shutdown-hook-poller': ['logs'], // "1.0 Builder lifecycles will not be properly managed ..."
  slanger: ['live-updates'], // "Live UI updates will stop but hard refreshes will still work."
  telegraf: ['metrics'], // "Metics will stop working but jobs will continue to run."
  'tutum/logrotate': ['disk'], // "... the Services machine disk will eventually run out of space ..."
  'test-results': ['ui'], // "There will be no test failure or timing data for jobs, but this will be back-filled ..."
  'vault-cci': ['builds'], // "contexts-service will stop working, and all jobs that use contexts-service will fail."
  'vm-gc': ['vm'], // "Old vm-service instances might not be destroyed until this service is restarted."
  'vm-scaler': ['vm'], // "VM instances for machine and Remote Docker might not be provisioned ..."
  'vm-service': ['builds'], // "Jobs that use machine or remote Docker will fail."
  'workflows-conductor': ['builds'], // "No new workflows will start, ... some REST and GraphQL API requests will fail."
};

/** Migrators ("Only runs at startup"): run again, their log shows the migrations checked. */
export const MIGRATOR_EFFECT_VIEWS: readonly SymptomView[] = ['logs'];

/** A container idle under the row's condition: only its own status can change. */
export const IDLE_EFFECT_VIEWS: readonly SymptomView[] = ['docker-ps'];

/**
 * The views in which a row's documented effect shows. `idle` is true for the condition under which the container
 * is not used (no LDAP for federation-service, S3 for fileserved). Throws for a container the table has not been
 * mapped for: a new row of the table must be given its views here.
 */
export function documentedEffectViews(container: { name: string; migrator: boolean }, idle: boolean): readonly SymptomView[] {
  if (idle) return IDLE_EFFECT_VIEWS;
  if (container.migrator) return MIGRATOR_EFFECT_VIEWS;
  const views = DOCUMENTED_EFFECT_VIEWS[container.name];
  if (views === undefined) throw new Error(`no symptom views are known for the documented effect of ${container.name} (sim/symptoms/documented-effects.ts)`);
  return views;
}
