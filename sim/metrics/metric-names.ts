import type { Telegraf } from './telegraf.ts';

/**
 * The statsd metric names the twin emits, as the seeds document them (fixtures' `metrics.names`): one table
 * for the simulation's stages and the live replay's pollers, so a name is spelled once.
 */
export const METRICS = {
  httpRequest: 'circle.http.request',
  githubApiCall: 'circle.github.api_call',
  runQueueLatency: 'circle.run-queue.latency',
  runnableBuilds: 'circle.build-queue.runnable.builds',
  serverPollFailure: 'circle.nomad.server_agent.poll_failure',
  jobsPending: 'circle.nomad.server_agent.jobs.pending',
  jobsRunning: 'circle.nomad.server_agent.jobs.running',
  jobsComplete: 'circle.nomad.server_agent.jobs.complete',
  jobsDead: 'circle.nomad.server_agent.jobs.dead',
  clientPollFailure: 'circle.nomad.client_agent.poll_failure',
  clientCpuTotal: 'circle.nomad.client_agent.resources.total.cpu',
  clientCpuUsed: 'circle.nomad.client_agent.resources.used.cpu',
  clientCpuAvailable: 'circle.nomad.client_agent.resources.available.cpu',
  clientMemoryTotal: 'circle.nomad.client_agent.resources.total.memory',
  clientMemoryUsed: 'circle.nomad.client_agent.resources.used.memory',
  clientMemoryAvailable: 'circle.nomad.client_agent.resources.available.memory',
  clientDiskTotal: 'circle.nomad.client_agent.resources.total.disk',
  clientDiskUsed: 'circle.nomad.client_agent.resources.used.disk',
  clientDiskAvailable: 'circle.nomad.client_agent.resources.available.disk',
  clientIopsTotal: 'circle.nomad.client_agent.resources.total.iops',
  clientIopsUsed: 'circle.nomad.client_agent.resources.used.iops',
  clientIopsAvailable: 'circle.nomad.client_agent.resources.available.iops',
  vmCreated: 'circle.vm-service.vms.post.status',
  vmAssigned: 'circle.vm-service.vm.assigned-vm',
  vmDeleted: 'circle.vm-service.vms.delete.status',
} as const;

/** The Nomad server's job counts as nomad-metrics reads them. */
export interface ServerJobCounts {
  pending: number;
  running: number;
  complete: number;
  dead: number;
}

/**
 * nomad-metrics' poll of the Nomad server: the poll-failure gauge, and the job gauges only when the server
 * answered (an unanswered poll has no counts to report).
 */
export function reportServerPoll(telegraf: Telegraf, counts: ServerJobCounts | undefined): void {
  telegraf.gauge(METRICS.serverPollFailure, counts === undefined ? 1 : 0);
  if (counts === undefined) return;
  telegraf.gauge(METRICS.jobsPending, counts.pending);
  telegraf.gauge(METRICS.jobsRunning, counts.running);
  telegraf.gauge(METRICS.jobsComplete, counts.complete);
  telegraf.gauge(METRICS.jobsDead, counts.dead);
}
