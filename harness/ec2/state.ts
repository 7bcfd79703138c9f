import { Simulation } from '../../sim/engine/simulation.ts';
import { MetricStore } from '../../sim/models/autoscaling/metric-store.ts';
import { MetricAlarms } from '../../sim/models/autoscaling/metric-alarms.ts';
import { TargetTrackingScaler } from '../../sim/models/autoscaling/tracking-scaler.ts';
import { AutoScalingModel, DEFAULT_AUTOSCALING_TIMINGS, type AutoScalingTimings } from './autoscaling-model.ts';
import { systemClock, type Clock } from './clock.ts';
import { DEFAULT_EC2_TIMINGS, Ec2Model, type Ec2Timings, type NetworkSpec } from './ec2-model.ts';
import { IdGenerator } from './ids.ts';
import type { CloudEvent, ModelContext } from './model-context.ts';

export type { CloudEvent } from './model-context.ts';

/** What a caller may set; everything has a default (see {@link settleStateOptions}). */
export interface Ec2StateOptions {
  /** Root seed of every id the model draws (instances, volumes, addresses, request ids). */
  seed?: number;
  clock?: Clock;
  region?: string;
  /** The account that owns what is created (`OwnerId`). */
  accountId?: string;
  /** The subnet every instance lands in; default 10.0.0.0/16. */
  subnetCidr?: string;
  /** Zones of the region (default `<region>a`, `b`, `c`); the subnet is in the first one. */
  availabilityZones?: readonly string[];
  timings?: Partial<Ec2Timings & AutoScalingTimings>;
  /** The account's instance limit (InstanceLimitExceeded beyond it). */
  maxInstances?: number;
  /** How many events the log keeps (the oldest are dropped). */
  eventLogLimit?: number;
}

/** The options with every default applied, once, at the boundary. */
export interface SettledStateOptions {
  readonly seed: number;
  readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;
  readonly network: NetworkSpec;
  readonly ec2Timings: Ec2Timings;
  readonly autoScalingTimings: AutoScalingTimings;
  readonly maxInstances: number;
  readonly eventLogLimit: number;
}

export function settleStateOptions(options: Ec2StateOptions = {}): SettledStateOptions {
  const region = options.region ?? 'us-east-1';
  const t = options.timings ?? {};
  const pick = <K extends keyof (Ec2Timings & AutoScalingTimings)>(k: K, d: number): number => {
    const v = t[k] ?? d;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`timing ${k} must be a non-negative integer of ms, got ${v}`);
    return v;
  };
  return {
    seed: options.seed ?? 1,
    clock: options.clock ?? systemClock,
    region,
    accountId: options.accountId ?? '123456789012',
    network: {
      cidr: options.subnetCidr ?? '10.0.0.0/16',
      availabilityZones: options.availabilityZones ?? [`${region}a`, `${region}b`, `${region}c`],
    },
    ec2Timings: {
      bootMs: pick('bootMs', DEFAULT_EC2_TIMINGS.bootMs),
      stopMs: pick('stopMs', DEFAULT_EC2_TIMINGS.stopMs),
      terminateMs: pick('terminateMs', DEFAULT_EC2_TIMINGS.terminateMs),
      snapshotBaseMs: pick('snapshotBaseMs', DEFAULT_EC2_TIMINGS.snapshotBaseMs),
      snapshotPerGibMs: pick('snapshotPerGibMs', DEFAULT_EC2_TIMINGS.snapshotPerGibMs),
      rebootMs: pick('rebootMs', DEFAULT_EC2_TIMINGS.rebootMs),
      terminatedVisibleMs: pick('terminatedVisibleMs', DEFAULT_EC2_TIMINGS.terminatedVisibleMs),
    },
    autoScalingTimings: {
      healthCheckDelayMs: pick('healthCheckDelayMs', DEFAULT_AUTOSCALING_TIMINGS.healthCheckDelayMs),
      launchRetryMs: Math.max(1, pick('launchRetryMs', DEFAULT_AUTOSCALING_TIMINGS.launchRetryMs)),
    },
    maxInstances: options.maxInstances ?? 1000,
    eventLogLimit: options.eventLogLimit ?? 10_000,
  };
}

/** Callbacks one sync may fire before the model is declared runaway (a programmer error). */
const MAX_EVENTS_PER_SYNC = 1_000_000;

/**
 * The whole in-memory cloud the EC2, Auto Scaling and CloudWatch endpoints serve: the EC2 model, the Auto Scaling
 * model on top of it, CloudWatch's metrics and the target tracking they feed, and the time they share. Time is read from the injected clock and applied lazily: every
 * operation first fires the transitions that fell due (on the discrete-event engine of `sim/`), so a manual
 * clock moved by a test and the wall clock behave the same way.
 */
export class Ec2State {
  readonly options: SettledStateOptions;
  readonly ids: IdGenerator;
  readonly ec2: Ec2Model;
  readonly autoscaling: AutoScalingModel;
  /** CloudWatch's metrics (`PutMetricData`, and the twin's own publishers through `put(…, internal)`). */
  readonly cloudwatch: MetricStore;
  /** Target-tracking policies evaluated once a minute of model time on `cloudwatch`'s metrics. */
  readonly tracking: TargetTrackingScaler;
  /** `PutMetricAlarm`'s alarms running step and simple policies, evaluated once a minute on `cloudwatch`'s metrics. */
  readonly alarms: MetricAlarms;
  /** The newest events, oldest first (bounded by `eventLogLimit`). */
  readonly events: CloudEvent[] = [];
  private readonly engine = new Simulation();
  private readonly originMs: number;
  private syncing = false;
  private readonly listeners: ((e: CloudEvent) => void)[] = [];

  constructor(options: Ec2StateOptions = {}) {
    this.options = settleStateOptions(options);
    this.ids = new IdGenerator(this.options.seed);
    this.originMs = Math.floor(this.options.clock.nowMs());
    const ctx: ModelContext = {
      accountId: this.options.accountId,
      region: this.options.region,
      ids: this.ids,
      now: () => this.nowMs(),
      sync: () => this.sync(),
      after: (delayMs, fn) => this.after(delayMs, fn),
      emit: (kind, resourceId, detail) => this.emit({ atMs: this.nowMs(), kind, resourceId, detail }),
    };
    this.ec2 = new Ec2Model(ctx, this.options.ec2Timings, this.options.network, this.options.maxInstances);
    this.autoscaling = new AutoScalingModel(ctx, this.ec2, this.options.autoScalingTimings);
    this.cloudwatch = new MetricStore(() => this.nowMs());
    this.tracking = new TargetTrackingScaler(ctx, this.autoscaling, this.cloudwatch).start();
    this.alarms = new MetricAlarms(ctx, this.autoscaling, this.cloudwatch).start();
  }

  /** Model time (epoch ms): the clock's time as of the last sync, never going back. */
  nowMs(): number {
    return this.originMs + this.engine.nowMs;
  }

  /** Fires every transition that is due by the clock's current time. Re-entrant calls are no-ops. */
  sync(): void {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const target = Math.floor(this.options.clock.nowMs()) - this.originMs;
      const result = this.engine.run({ untilMs: Math.max(target, this.engine.nowMs), maxEvents: MAX_EVENTS_PER_SYNC });
      if (result.reason === 'max-events') throw new Error(`EC2 model fired ${MAX_EVENTS_PER_SYNC} callbacks in one sync: a runaway timer`);
    } finally {
      this.syncing = false;
    }
  }

  /** Calls `fn` `delayMs` of model time from now (fired by a later `sync`); returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void {
    const handle = this.engine.schedule(Math.max(0, Math.round(delayMs)), fn);
    return () => void this.engine.cancel(handle);
  }

  /** Called with every event as it happens (the log keeps them too). */
  onEvent(listener: (e: CloudEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private emit(e: CloudEvent): void {
    this.events.push(e);
    if (this.events.length > this.options.eventLogLimit) this.events.splice(0, this.events.length - this.options.eventLogLimit);
    for (const l of this.listeners) l(e);
  }
}
