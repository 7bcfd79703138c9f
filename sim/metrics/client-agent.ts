import { METRICS } from './metric-names.ts';

/**
 * What nomad-metrics in `--client` mode reads of its own Nomad node on one poll: the node's status and drain
 * flag, its capacity (`Resources`), what the agent keeps back (`Reserved`) and what its non-terminal allocations
 * hold. CPU in MHz, memory and disk in MB, as the seeds' metrics chapter states the units.
 */
export interface ClientPoll {
  /** The node's name: the client machine the gauges come from (the `host` tag). */
  host: string;
  status: string;
  drain: boolean;
  cpuTotalMhz: number;
  cpuReservedMhz: number;
  cpuUsedMhz: number;
  memoryTotalMb: number;
  memoryReservedMb: number;
  memoryUsedMb: number;
  diskTotalMb: number;
  diskReservedMb: number;
  diskUsedMb: number;
}

/**
 * The `circle.nomad.client_agent.resources.*` gauges in the order `clientResourceValues` fills them: total,
 * used and available of cpu, memory, disk and iops, as the seeds' `--client` tables list them.
 */
export const CLIENT_RESOURCE_METRICS: readonly string[] = [
  METRICS.clientCpuTotal,
  METRICS.clientCpuUsed,
  METRICS.clientCpuAvailable,
  METRICS.clientMemoryTotal,
  METRICS.clientMemoryUsed,
  METRICS.clientMemoryAvailable,
  METRICS.clientDiskTotal,
  METRICS.clientDiskUsed,
  METRICS.clientDiskAvailable,
  METRICS.clientIopsTotal,
  METRICS.clientIopsUsed,
  METRICS.clientIopsAvailable,
];

/**
 * The tags of a client's resource gauges: the seeds' `drain` and `status`, and `host`, the client machine
 * that sent them. Every client's nomad-metrics sends the same names to the one telegraf, so without the
 * sender's host the series of two clients in the same state would be one. Sorted by tag name, in
 * DogStatsD's `key:value` form.
 */
export function clientTags(host: string, drain: boolean, status: string): string {
  return `drain:${drain ? 'true' : 'false'},host:${host},status:${status}`;
}

/** The poll-failure gauge's tags: only the sender (it is outside the tagged `resources` namespace). */
export function clientHostTag(host: string): string {
  return `host:${host}`;
}

/**
 * The twelve resource gauges of one poll, in `CLIENT_RESOURCE_METRICS` order. Available is what is left to
 * schedule: total − reserved − used. IOPS are 0: Nomad 0.9 reports no IOPS for a node or a task (the field
 * is deprecated and always 0), which is what nomad-metrics reads from the 0.9.3 clients the seeds install.
 */
export function clientResourceValues(p: ClientPoll, out: number[] = new Array<number>(12)): number[] {
  out[0] = p.cpuTotalMhz;
  out[1] = p.cpuUsedMhz;
  out[2] = p.cpuTotalMhz - p.cpuReservedMhz - p.cpuUsedMhz;
  out[3] = p.memoryTotalMb;
  out[4] = p.memoryUsedMb;
  out[5] = p.memoryTotalMb - p.memoryReservedMb - p.memoryUsedMb;
  out[6] = p.diskTotalMb;
  out[7] = p.diskUsedMb;
  out[8] = p.diskTotalMb - p.diskReservedMb - p.diskUsedMb;
  out[9] = 0;
  out[10] = 0;
  out[11] = 0;
  return out;
}

/**
 * One poll as the DogStatsD lines nomad-metrics sends (`name:value|g|#tags`): the poll failure, then the
 * resource gauges when the poll was answered (`undefined`: it failed, and only `poll_failure:1` goes out).
 */
export function clientPollLines(host: string, poll: ClientPoll | undefined): string[] {
  const lines = [`${METRICS.clientPollFailure}:${poll === undefined ? 1 : 0}|g|#${clientHostTag(host)}`];
  if (poll === undefined) return lines;
  const tags = clientTags(poll.host, poll.drain, poll.status);
  const values = clientResourceValues(poll);
  CLIENT_RESOURCE_METRICS.forEach((name, i) => lines.push(`${name}:${values[i]}|g|#${tags}`));
  return lines;
}

/** Disk of a client machine the scenario does not size: a 100 GB root volume. */
export const CLIENT_DISK_MB = 100 * 1024;
/** Disk every allocation asks for: Nomad's default ephemeral disk (300 MB). */
export const ALLOC_DISK_MB = 300;
