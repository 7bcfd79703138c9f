/**
 * The lines the Services machine's services write, one definition for both runtimes: the simulation generates
 * them from what it did (`container-logs.ts`), the live stack's services write them as they do it
 * (`harness/live/service-logs.ts`). Where the seeds print a service's line (picard-dispatcher's `Still
 * running...` and `taking build=`, the build agent's gRPC warning) this is that shape; the others are the twin's,
 * in the same style (sim/symptoms/README.md says which). Each function gives the text after the time prefix.
 */
/** How often a service whose dependency is down logs that it cannot reach it (the twin's choice: once a minute). */
export const DEPENDENCY_RETRY_LOG_MS = 60_000;

export const LOG_LINES = {
  /** A container's process started (`docker start`, a restart, the app's start). */
  starting: (name: string) => `INFO ${name}.init Starting ${name}`,
  /** A graceful stop (`docker stop`, Replicated stopping the app). */
  sigterm: (name: string) => `INFO ${name}.init Received SIGTERM, shutting down ${name}`,
  /** Every CircleCI service retries a dependency it cannot reach, and says so. */
  cannotReach: (name: string, dependency: string) => `ERROR ${name}.deps cannot reach ${dependency}: connection refused, retrying`,
  /** dispatcher's line when it starts: the frontend image in dispatcher mode consumes the usage queue. */
  dispatcherMode: 'INFO circle.backend.build.run-queue dispatcher mode is on - no need for run-queue',
  /** dispatcher moved a build from the usage queue to the run queue (the seeds' lines, with its 24-hex build id). */
  forwarded: (oid: string, slug: string) => `INFO circle.backend.build.usage-queue ${oid}: ${slug} -> forwarded to run-queue`,
  usageChanged: (oid: string) => `INFO circle.backend.build.usage-queue ${oid}: publishing :usage-changed (:recur) event`,
  /** picard-dispatcher's heartbeat, every two minutes (the seeds' 19:32:33, 19:34:33): all a slow day shows. */
  stillRunning: 'INFO picard-dispatcher.init Still running...',
  /** picard-dispatcher took a build off run-queue (the seeds' `taking build=GERey/realitycheck/38`). */
  taking: (slug: string) => `INFO picard-dispatcher.core taking build=${slug}`,
  fetchedConfig: (project: string, revision: string) => `INFO circle.http.builds project ${project} at revision ${revision} successfully fetched and parsed .circleci/config.yml`,
  resourceClass: (slug: string, cpuMilli: number, memoryMb: number, className: string) => `INFO picard-dispatcher.tasks build ${slug} is using resource class {:cpu ${(cpuMilli / 1000).toFixed(1)}, :ram ${memoryMb}, :class :${className}}`,
  computedTasks: (slug: string, parallel: number) => `INFO picard-dispatcher.tasks Computed tasks for build=${slug}, stage=:build, parallel=${parallel}`,
  matchingJobs: (slug: string) => `INFO picard-dispatcher.tasks build has matching jobs: build=${slug} parsed=:build passed=:build`,
  /** picard-dispatcher could not dispatch a build (the build fails with this reason). */
  dispatchFailed: (slug: string, reason: string) => `ERROR picard-dispatcher.core build=${slug} failed: ${reason}`,
  submitted: (slug: string, jobId: string) => `INFO picard-scheduler.core build=${slug} submitted job=${jobId} to nomad`,
  agentConnected: (slug: string) => `INFO output-processor.grpc build=${slug} agent connected, streaming step output`,
  finalized: (slug: string, succeeded: boolean) => `INFO output-processor.finalize build=${slug} status=${succeeded ? 'success' : 'failed'} step output written to mongo`,
  pushAccepted: (project: string, slug: string) => `INFO circle.http.api.hooks push to ${project} accepted: build=${slug} queued`,
  pushRefused: (what: string, reason: string) => `ERROR circle.http.api.hooks push ${what} not accepted: ${reason}`,
  auditWritten: (events: number, key: string) => `INFO audit-log-service.writer wrote ${events} events to ${key}`,
  /** server-agent's answer to Replicated's readiness check: 503 naming what is not ready, 200 once everything runs (FAQ). */
  readyAgent: (notReady: readonly string[]) => (notReady.length === 0 ? 'INFO ready-agent GET /ready 200: all services ready' : `WARN ready-agent GET /ready 503: not ready: ${notReady.join(', ')}`),
  nomadMetricsPolled: 'INFO nomad-metrics polled the Nomad server: reported circle.nomad.server_agent.* and circle.nomad.client_agent.* gauges',
  telegrafWrote: 'I! [outputs] wrote batch of statsd metrics (circle.*) to the output',
  /** tutum/logrotate's hourly line: the container logs on the Services machine's volume rotated. */
  logrotateRotated: 'logrotate: rotated /var/lib/docker/containers/*/*.log',
  /** notifier mails the committers of a failed build through exim. */
  emailSending: (slug: string) => `INFO circle.notifications.email sending :build-failed email for build=${slug} via exim:25`,
  emailFailed: (slug: string) => `ERROR circle.notifications.email failed to send :build-failed email for build=${slug}: javax.mail.MessagingException: Could not connect to SMTP host: exim, port: 25;`,
  emailFailedCause: '  nested exception is: java.net.ConnectException: Connection refused (Connection refused)',
  /** slanger pushes each build's status change to the open builds pages (Pusher's protocol). */
  livePushed: (slug: string, fate: string) => `INFO slanger.pusher event=build-status channel=private-build-${slug.replaceAll('/', '-')} status=${fate}`,
  /** A status change the pipeline could not hand to slanger (the twin's line, in the notifier's log). */
  livePushFailed: (slug: string, fate: string) => `WARN circle.notifications.pusher could not push event=build-status status=${fate} for build=${slug} to slanger:4567: connection refused`,
  /** The build agent (`nomad logs -stderr <alloc>`) while output-processor cannot be reached on 8585: the seeds' warning. */
  grpcUnavailable: (isoTime: string) => `{"error":"rpc error: code = Unavailable desc = grpc: the connection is unavailable","level":"warning","msg":"error fetching config, retrying","time":"${isoTime}Z"}`,
} as const;

/** The service and dependency of a `cannotReach` line; undefined for any other line. */
export function parseCannotReach(text: string): { service: string; dependency: string } | undefined {
  const m = /^ERROR (\S+)\.deps cannot reach (.+): connection refused, retrying$/.exec(text);
  return m === null ? undefined : { service: m[1]!, dependency: m[2]! };
}

/** What a notifier line says did not reach its service: a failed build's mail (exim), a status change (slanger, with its fate). */
export function parseUndelivered(text: string): { to: 'exim' } | { to: 'slanger'; fate: string } | undefined {
  if (/^ERROR circle\.notifications\.email failed to send :build-failed email /.test(text)) return { to: 'exim' };
  const m = /^WARN circle\.notifications\.pusher could not push event=build-status status=(\S+) /.exec(text);
  return m === null ? undefined : { to: 'slanger', fate: m[1]! };
}

/** A calendar instant as the logs print it (UTC). */
export interface LogStamp {
  readonly year: number;
  /** 0 = January. */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly ms: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `Jan 5 09:40:12.345:+0000`: the CircleCI services' log prefix (the seeds' dispatcher and picard-dispatcher lines). */
export function serviceStamp(s: LogStamp): string {
  return `${MONTHS[s.month]} ${s.day} ${pad(s.hour)}:${pad(s.minute)}:${pad(s.second)}.${pad(s.ms, 3)}:+0000`;
}

/** `2026-01-05 09:40:12`: exim's main log and Nomad's prefix. */
export function isoStamp(s: LogStamp, sep = '-'): string {
  return `${s.year}${sep}${pad(s.month + 1)}${sep}${pad(s.day)} ${pad(s.hour)}:${pad(s.minute)}:${pad(s.second)}`;
}

/** How each container prefixes a line: the CircleCI services' `Jan 5 09:40:12.345:+0000`, exim's main log, RabbitMQ none (its reports carry their own header). */
export function linePrefix(name: string, s: LogStamp): string {
  if (name === 'exim') return `${isoStamp(s)} `;
  if (name === 'rabbitmq') return '';
  return `${serviceStamp(s)} `;
}
