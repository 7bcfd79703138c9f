import type { NodeView } from '../nomad/cluster-state.ts';
import { CPU_MHZ_PER_CORE } from '../nomad/cluster-state.ts';
import type { HeldGauge, Telegraf } from '../../metrics/telegraf.ts';
import { METRICS } from '../../metrics/metric-names.ts';
import { ALLOC_DISK_MB, CLIENT_DISK_MB, CLIENT_RESOURCE_METRICS, clientHostTag, clientResourceValues, clientTags, type ClientPoll } from '../../metrics/client-agent.ts';

/**
 * What a client's nomad-metrics gets across on a tick: its node's gauges (`report`), only `poll_failure:1`
 * (its agent is stopped, or the Nomad server that answers for the node is down), or nothing (the machine is
 * terminated, or a partition drops its UDP on the way to telegraf).
 */
export type ClientReach = 'report' | 'poll_failure' | 'silent';

/**
 * Clients with series of their own in a report: the first this many by registration. Each client adds about
 * 2.5 KB of tagged series to report.json (12 clients took it from 6.3 to 36.7 KB); the clients beyond it are
 * aggregated: their gauges count in the untagged sums only, and their poll failures in one series tagged
 * `host:others` whose value is how many of them failed to poll (0 while all of them report).
 */
export const MAX_CLIENT_SERIES = 8;
/** The host tag of the clients beyond `MAX_CLIENT_SERIES`. */
export const OTHERS_HOST = 'others';

const MHZ_PER_MILLI = CPU_MHZ_PER_CORE / 1000;
const RESOURCE_COUNT = CLIENT_RESOURCE_METRICS.length;

/** One client's series: what it last sent, and the gauges of each tag set it has sent under. */
interface ClientSeries {
  reach: ClientReach;
  /** The `reachKey` of the tick that last asked `reach` for this client. */
  reachKey: number;
  status: string;
  drain: boolean;
  usedCpuMilli: number;
  usedMemoryMb: number;
  runningAllocs: number;
  /** The values last sent (zeros while not reporting), in `CLIENT_RESOURCE_METRICS` order. */
  values: number[];
  /** The resource gauges of the current tag set (none while not reporting). */
  gauges: HeldGauge[] | undefined;
  gaugesByTags: Map<string, HeldGauge[]>;
  /** Its own poll-failure gauge; undefined for a client beyond `MAX_CLIENT_SERIES` (aggregated in `others`). */
  pollFailure: HeldGauge | undefined;
}

/**
 * The `--client` nomad-metrics of every Nomad client, sampled on the statsd tick: per client the seeds'
 * `circle.nomad.client_agent.*` gauges, tagged `drain`, `status` (the seeds' tags) and `host`. The series are
 * held gauges and a client's values are recomputed only when what they derive from changed since the last
 * tick, so a tick costs a few comparisons per client. Beyond `MAX_CLIENT_SERIES` clients are aggregated. The untagged names carry the sum over the clients that
 * report, and no value while none does (the cluster-wide view the seeds say an external aggregation gives).
 */
export class ClientMetrics {
  /** By position in the server's node list, which only grows (a node is never removed, and keeps its place). */
  private readonly clients: ClientSeries[] = [];
  private readonly totals: HeldGauge[];
  private readonly sums = new Array<number>(RESOURCE_COUNT).fill(0);
  /** Clients whose gauges reach telegraf; with none, the sums have no value (no series to add up). */
  private reporting = 0;
  /** Positions in `nodes` of the clients reporting at the last tick, ascending, and that tick's `reachKey`. */
  private readonly reportingAt: number[] = [];
  private lastReachKey = Number.NaN;
  /** The aggregated clients' poll failures (`host:others`), and how many of them send anything / only a failure. */
  private othersPollFailure: HeldGauge | undefined;
  private othersHeard = 0;
  private othersFailing = 0;
  private readonly poll: ClientPoll = {
    host: '',
    status: '',
    drain: false,
    cpuTotalMhz: 0,
    cpuReservedMhz: 0,
    cpuUsedMhz: 0,
    memoryTotalMb: 0,
    memoryReservedMb: 0,
    memoryUsedMb: 0,
    diskTotalMb: CLIENT_DISK_MB,
    diskReservedMb: 0,
    diskUsedMb: 0,
  };

  constructor(private readonly telegraf: Telegraf) {
    this.totals = CLIENT_RESOURCE_METRICS.map((name) => telegraf.held(name));
  }

  /**
   * One statsd tick: `nodes` are the server's registered nodes, `reach` says what each client gets across.
   * `reachKey`, when given, changes whenever any client's reach or any node's position in `nodes` may have: while
   * it stays the same, a client's reach is the one it had at the last tick and `reach` is not asked again.
   */
  sample(nodes: readonly NodeView[], reach: (nodeId: string) => ClientReach, reachKey = Number.NaN): void {
    if (reachKey === this.lastReachKey && nodes.length >= this.clients.length) {
      // Nobody's reach changed and no position shifted: a client not reporting stays as it was, so only the
      // reporting ones (ascending) and the new ones are looked at.
      const known = this.clients.length;
      for (const i of this.reportingAt) this.visit(i, nodes[i]!, reach, reachKey);
      for (let i = known; i < nodes.length; i++) if (this.visit(i, nodes[i]!, reach, reachKey)) this.reportingAt.push(i);
    } else {
      this.reportingAt.length = 0;
      for (let i = 0; i < nodes.length; i++) if (this.visit(i, nodes[i]!, reach, reachKey)) this.reportingAt.push(i);
    }
    this.lastReachKey = reachKey;
    if (this.clients.length > MAX_CLIENT_SERIES) {
      this.othersPollFailure ??= this.telegraf.held(METRICS.clientPollFailure, clientHostTag(OTHERS_HOST));
      if (this.othersHeard === 0) this.othersPollFailure.release();
      else this.othersPollFailure.set(this.othersFailing);
    }
    if (this.reporting === 0) for (const g of this.totals) g.release();
    else for (let i = 0; i < RESOURCE_COUNT; i++) this.totals[i]!.set(this.sums[i]!);
  }

  /** One client at one tick; true when it reports. */
  private visit(i: number, n: NodeView, reach: (nodeId: string) => ClientReach, reachKey: number): boolean {
    let c = this.clients[i];
    const r = c !== undefined && c.reachKey === reachKey ? c.reach : reach(n.id);
    if (c === undefined) {
      c = {
        reach: 'silent',
        reachKey,
        status: '',
        drain: false,
        usedCpuMilli: -1,
        usedMemoryMb: -1,
        runningAllocs: -1,
        values: new Array<number>(RESOURCE_COUNT).fill(0),
        gauges: undefined,
        gaugesByTags: new Map(),
        pollFailure: i < MAX_CLIENT_SERIES ? this.telegraf.held(METRICS.clientPollFailure, clientHostTag(n.name)) : undefined,
      };
      this.clients.push(c);
    }
    c.reachKey = reachKey;
    if (r === c.reach && (r !== 'report' || (n.usedCpuMilli === c.usedCpuMilli && n.usedMemoryMb === c.usedMemoryMb && n.runningAllocs === c.runningAllocs && n.status === c.status && n.drain === c.drain))) return r === 'report';
    this.update(c, n, r);
    return r === 'report';
  }

  private update(c: ClientSeries, n: NodeView, r: ClientReach): void {
    for (let i = 0; i < RESOURCE_COUNT; i++) this.sums[i] = this.sums[i]! - c.values[i]!;
    if (c.pollFailure !== undefined) {
      if (r === 'silent') c.pollFailure.release();
      else c.pollFailure.set(r === 'report' ? 0 : 1);
    } else {
      this.othersHeard += (r !== 'silent' ? 1 : 0) - (c.reach !== 'silent' ? 1 : 0);
      this.othersFailing += (r === 'poll_failure' ? 1 : 0) - (c.reach === 'poll_failure' ? 1 : 0);
    }
    if (r !== 'report') {
      c.values.fill(0);
      if (c.gauges !== undefined) for (const g of c.gauges) g.release();
      c.gauges = undefined;
    } else {
      if (c.pollFailure === undefined) c.gauges = undefined;
      else if (c.gauges === undefined || n.status !== c.status || n.drain !== c.drain) {
        if (c.gauges !== undefined) for (const g of c.gauges) g.release();
        const tags = clientTags(n.name, n.drain, n.status);
        let gauges = c.gaugesByTags.get(tags);
        if (gauges === undefined) {
          gauges = CLIENT_RESOURCE_METRICS.map((name) => this.telegraf.held(name, tags));
          c.gaugesByTags.set(tags, gauges);
        }
        c.gauges = gauges;
      }
      const p = this.poll;
      p.host = n.name;
      p.status = n.status;
      p.drain = n.drain;
      p.cpuTotalMhz = n.totalCpuMilli * MHZ_PER_MILLI;
      p.cpuReservedMhz = Math.min(n.reservedCpuMilli, n.totalCpuMilli) * MHZ_PER_MILLI;
      p.cpuUsedMhz = n.usedCpuMilli * MHZ_PER_MILLI;
      p.memoryTotalMb = n.totalMemoryMb;
      p.memoryReservedMb = Math.min(n.reservedMemoryMb, n.totalMemoryMb);
      p.memoryUsedMb = n.usedMemoryMb;
      p.diskUsedMb = n.runningAllocs * ALLOC_DISK_MB;
      clientResourceValues(p, c.values);
      if (c.gauges !== undefined) for (let i = 0; i < RESOURCE_COUNT; i++) c.gauges[i]!.set(c.values[i]!);
    }
    for (let i = 0; i < RESOURCE_COUNT; i++) this.sums[i] = this.sums[i]! + c.values[i]!;
    if (c.reach === 'report') this.reporting--;
    if (r === 'report') this.reporting++;
    c.reach = r;
    c.status = n.status;
    c.drain = n.drain;
    c.usedCpuMilli = n.usedCpuMilli;
    c.usedMemoryMb = n.usedMemoryMb;
    c.runningAllocs = n.runningAllocs;
  }
}
