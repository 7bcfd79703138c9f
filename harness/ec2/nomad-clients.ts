/**
 * The Nomad clients' Auto Scaling Group on the twin's Nomad API: the group's instances ARE the Nomad clients.
 * What the model decides (`sim/models/autoscaling/`), this file carries out on the Nomad server's state:
 * - an instance of the group that reaches `running` (after EC2's boot time) registers as a Nomad client (its node
 *   named by the instance id), with the capacity of the group's client size;
 * - scale-in goes through the termination lifecycle hook `nomad-drain` (`drain-hook.ts`, the rule the simulation's
 *   group follows): the client is drained (Nomad's drain, no deadline), the hook completes once no allocation runs
 *   on it (a heartbeat at every check before), then EC2 terminates the instance;
 * - an instance shutting down (scale-in, `terminate-instances`, anything) takes its Nomad node down (its
 *   allocations are lost, as a real client's are when its machine goes).
 * Once a minute of the endpoint's model time (at the half minute, so that each datum lands in the period the
 * alarms read on the next whole minute) it publishes the stack's gauges to the endpoint's CloudWatch under
 * `GAUGE_NAMESPACE`, by the seeds' metric names (nomad-metrics' gauges, as telegraf's `[[outputs.cloudwatch]]`
 * would send them): `circle.nomad.server_agent.jobs.pending` (pending jobs) and
 * `circle.nomad.client_agent.resources.available.cpu` (MHz free on the clients in service: ready, eligible, not
 * draining) and `circle.run-queue.latency` (ms each allocation placed since the last minute waited from its job's
 * submission: the twin measures the build's queue time where the fleet decides it, in Nomad; a statistic set, none
 * in a minute without placements), so `aws cloudwatch get-metric-statistics` shows them and a `put-metric-alarm` on
 * pending jobs (or queue time) scales the fleet. That is the `direct` path (the EC2 endpoint alone, its tests); with
 * `gauges: 'telegraf'` (what `twin up` wires, `ServicesMachine.attach` with `TWIN_UP_ATTACH`) the pending jobs and
 * available cpu are left to telegraf's flushes (`telegraf-output.ts`), so a killed or hung telegraf or nomad-metrics
 * is a gap in CloudWatch as on AWS; the queue time stays published here.
 */
import { DRAIN_HOOK_SPEC, DrainHook } from '../../sim/models/autoscaling/drain-hook.ts';
import { freeCpuMilli, inServiceNodes } from '../../sim/models/autoscaling/in-service.ts';
import { milliToMhz } from '../nomad/shapes.ts';
import type { NomadApiState } from '../nomad/api-state.ts';
import type { Ec2State } from './state.ts';

export const GAUGE_NAMESPACE = 'CircleCI/Nomad';
export const PENDING_JOBS = 'circle.nomad.server_agent.jobs.pending';
export const AVAILABLE_CPU = 'circle.nomad.client_agent.resources.available.cpu';
export const QUEUE_TIME = 'circle.run-queue.latency';
const MINUTE_MS = 60_000;

export interface NomadClientsOptions {
  readonly groupName: string;
  /** Each client's machine (the launch configuration's instance type), cpus and GB. */
  readonly client: { readonly cpus: number; readonly memoryGb: number };
  /**
   * Nomad nodes that already run (the Nomad API's own clients): the group's first instances to boot take them
   * over instead of registering new ones, so the fleet is the group from the start.
   */
  readonly adopt?: readonly string[];
  /**
   * Where the pending-jobs and available-cpu gauges come from: `direct` (default) computes them from the scheduler's
   * state each minute; `telegraf` leaves them to telegraf's flushes (`telegraf-output.ts`, what `twin up` wires), so
   * a killed or hung telegraf or nomad-metrics is a gap in CloudWatch. The queue time is published here either way.
   */
  readonly gauges?: 'direct' | 'telegraf';
}

export class NomadClients {
  /** Instance id → Nomad node id, and back. */
  readonly nodeOf = new Map<string, string>();
  private readonly instanceOf = new Map<string, string>();
  private readonly unclaimed: string[];
  /** Allocations whose queue time was published. */
  private readonly placed = new Set<string>();
  private readonly hook: DrainHook;
  private readonly disposers: (() => void)[] = [];
  /** What the bridge did, oldest first (registrations, drains, nodes down), for logs and tests. */
  readonly events: string[] = [];
  /**
   * Why an instance that reached `running` cannot register with the Nomad server (a builder launched for a Services
   * machine it cannot join: an address nobody holds, no passphrase), or undefined when it can (default: all can).
   * One that cannot stays in `unregistered` and tries again at `retryRegistrations` (as a client keeps retrying its join).
   */
  refusal: ((instanceId: string) => string | undefined) | undefined;
  /** Running instances of the group that could not register, by id. */
  readonly unregistered = new Set<string>();

  constructor(
    private readonly ec2: Ec2State,
    private readonly nomad: NomadApiState,
    private readonly opts: NomadClientsOptions,
  ) {
    this.unclaimed = [...(opts.adopt ?? [])];
    this.hook = new DrainHook(ec2.autoscaling, opts.groupName, {
      nodeIdOf: (id) => this.nodeOf.get(id),
      drain: (node) => void nomad.drain(node, { enable: true, form: 'spec', deadlineNs: 0 }),
      allocsOn: (node) => nomad.scheduler.node(node)?.runningAllocs ?? 0,
    });
    const group = ec2.autoscaling.requireGroup(opts.groupName);
    if (!group.hooks.has(DRAIN_HOOK_SPEC.hookName)) ec2.autoscaling.putLifecycleHook({ ...DRAIN_HOOK_SPEC, groupName: opts.groupName });
    this.disposers.push(
      ec2.ec2.onInstanceState((i, previous) => this.onInstanceState(i.instanceId, i.state, previous)),
      ec2.onEvent((e) => {
        const started = this.hook.onEvent(e.kind, e.resourceId, e.detail);
        if (started !== undefined) this.note(`${started.instanceId} in ${DRAIN_HOOK_SPEC.hookName}: draining ${started.nodeId ?? '(no node yet)'}`);
      }),
    );
    const now = ec2.nowMs();
    this.every(MINUTE_MS - (now % MINUTE_MS) + MINUTE_MS / 2, () => this.minute());
  }

  private note(event: string): void {
    this.events.push(`${new Date(this.ec2.nowMs()).toISOString()} ${event}`);
  }

  /** Runs `fn` after `firstMs` of model time, then every minute, until disposed. */
  private every(firstMs: number, fn: () => void): void {
    let cancel = () => {};
    const tick = () => {
      fn();
      cancel = this.ec2.after(MINUTE_MS, tick);
    };
    cancel = this.ec2.after(firstMs, tick);
    this.disposers.push(() => cancel());
  }

  private member(instanceId: string): boolean {
    return this.ec2.autoscaling.groups.get(this.opts.groupName)?.instances.has(instanceId) ?? false;
  }

  private onInstanceState(instanceId: string, state: string, previous: string): void {
    if (state === 'running' && previous === 'pending' && this.member(instanceId) && !this.nodeOf.has(instanceId)) {
      this.register(instanceId);
      return;
    }
    if (state === 'shutting-down') {
      this.unregistered.delete(instanceId);
      const node = this.nodeOf.get(instanceId);
      if (node === undefined || this.nomad.scheduler.node(node)?.status === 'down') return;
      const { LostAllocs } = this.nomad.setNodeStatus(node, 'down');
      this.note(`${instanceId} shutting down: Nomad node ${node} down (${LostAllocs.length} allocations lost)`);
    }
  }

  /** A running instance of the group joins the Nomad server as a client (or takes over one), unless `refusal` says why not. */
  private register(instanceId: string): void {
    const refused = this.refusal?.(instanceId);
    if (refused !== undefined) {
      if (!this.unregistered.has(instanceId)) this.note(`${instanceId} running: cannot register with the Nomad server (${refused})`);
      this.unregistered.add(instanceId);
      return;
    }
    this.unregistered.delete(instanceId);
    const adopted = this.unclaimed.shift();
    const node = adopted ?? this.nomad.addClient({ name: instanceId, cpus: this.opts.client.cpus, memoryGb: this.opts.client.memoryGb });
    this.nodeOf.set(instanceId, node);
    this.instanceOf.set(node, instanceId);
    this.note(`${instanceId} running: ${adopted === undefined ? 'registered as' : 'took over'} Nomad node ${node}`);
  }

  /** The instances that could not register try again (the Services machine they dial may answer now). */
  retryRegistrations(): void {
    for (const id of [...this.unregistered]) if (this.member(id) && this.ec2.ec2.instances.get(id)?.state === 'running') this.register(id);
  }

  /** The instance a node is. */
  instanceOfNode(nodeId: string): string | undefined {
    return this.instanceOf.get(nodeId);
  }

  /** Whether a node's instance is shutting down or gone (its node stays down whatever else reaches it). */
  retired(nodeId: string): boolean {
    const id = this.instanceOf.get(nodeId);
    const state = id === undefined ? undefined : this.ec2.ec2.instances.get(id)?.state;
    return state === 'shutting-down' || state === 'terminated';
  }

  /** One minute: the drain hook's check, then the gauges. */
  private minute(): void {
    this.hook.check();
    const freeMhz = milliToMhz(freeCpuMilli(inServiceNodes(this.nomad.scheduler.nodes())));
    const datum = (metricName: string, value: number | undefined, unit: string) => ({ metricName, dimensions: [], timestampMs: undefined, unit, value });
    const waits = this.newQueueTimes();
    const queue =
      waits.length === 0
        ? []
        : [{ ...datum(QUEUE_TIME, undefined, 'Milliseconds'), statisticValues: { sampleCount: waits.length, sum: waits.reduce((a, b) => a + b, 0), minimum: Math.min(...waits), maximum: Math.max(...waits) } }];
    const gauges = this.opts.gauges === 'telegraf' ? [] : [datum(PENDING_JOBS, this.nomad.scheduler.counts().pending, 'Count'), datum(AVAILABLE_CPU, freeMhz, 'None')];
    if (gauges.length + queue.length > 0) this.ec2.cloudwatch.put(GAUGE_NAMESPACE, [...gauges, ...queue]);
  }

  /** The queue time (ms, job submitted to allocation placed) of each allocation placed since the last call. */
  private newQueueTimes(): number[] {
    const waits: number[] = [];
    for (const a of this.nomad.allocations().body ?? []) {
      if (this.placed.has(a.ID)) continue;
      this.placed.add(a.ID);
      const job = this.nomad.job(a.JobID).body;
      if (job !== undefined) waits.push(Math.max(0, (a.CreateTime - job.SubmitTime) / 1e6));
    }
    return waits;
  }

  /**
   * Keeps the endpoint's model time moving on its own (alarms, boots, the gauges) every `intervalMs` of wall time,
   * for a stack nobody calls: the endpoint otherwise fires its due transitions when a request comes in.
   */
  syncEvery(intervalMs: number): this {
    const timer = setInterval(() => this.ec2.sync(), intervalMs);
    timer.unref();
    this.disposers.push(() => clearInterval(timer));
    return this;
  }

  dispose(): void {
    for (const d of this.disposers.splice(0)) d();
  }
}
