import type { RawJob, RawScenario } from './schema.ts';
import type { ScenarioContext } from './parse.ts';
import type { SettledResourceClass, SettledScenario } from './settled.ts';
import type { ArrivalSpec, DurationSpec, JobTemplate } from '../models/workload/types.ts';
import { parseDurationMs } from '../util/duration.ts';
import { parseTrace } from '../models/workload/trace-file.ts';
import { instanceType, priceForSize, VM_SERVICE_DEFAULT_TYPE } from '../models/autoscaling/instance-types.ts';

/** Defaults of the scenario contract, applied once here and nowhere downstream. */
export const DEFAULTS = {
  version: '2.19.6',
  seed: 1,
  mode: 'sim',
  timeScale: 60,
  storage: 's3',
  auth: 'github',
  scheduler: 'binpack',
  nomadClients: { count: 10, cpus: 8, memoryGb: 32, bootTimeMs: 180_000 },
  diurnal: { nightShareOfPeak: 0.05, peakAt: '14:00', widthMs: 9_000_000, weekends: true },
  vmService: { preallocatedMachine: 0, preallocatedRemoteDocker: 0, maxInstances: 1000, dailyCycleAt: '00:00' },
  /** The seeds give no disk sizes: a normal load (300 builds/h) fills the free space in ~8 h of logrotate downtime. */
  disk: { diskGb: 100, freeGb: 12, logMbPerHour: 20, logMbPerBuild: 3, rabbitmqLimitGb: 5 },
  /** CloudWatch's standard one-minute period; AWS's default cooldown of 300 s. */
  autoscaling: { periodMs: 60_000, cooldownMs: 300_000 },
  recoveryAfterMs: 300_000,
  /** DESIGN.md's example price of a developer-hour spent waiting. */
  developerHourUsd: 200,
} as const;

function ms(d: string | number): number {
  return typeof d === 'number' ? d : parseDurationMs(d);
}

function timeOfDayMs(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return ((h ?? 0) * 60 + (m ?? 0)) * 60_000;
}

function settleDuration(d: RawJob['duration']): DurationSpec {
  if (typeof d === 'string' || typeof d === 'number') return { kind: 'fixed', ms: Math.max(1, ms(d)) };
  if ('dist' in d) {
    switch (d.dist) {
      case 'exponential':
        return { kind: 'exponential', meanMs: ms(d.mean) };
      case 'uniform':
        return { kind: 'uniform', minMs: ms(d.min), maxMs: ms(d.max) };
      case 'lognormal':
        return { kind: 'lognormal', medianMs: ms(d.median), p95Ms: ms(d.p95) };
      case 'fixed':
        return { kind: 'fixed', ms: Math.max(1, ms(d.value)) };
    }
  }
  return { kind: 'lognormal', medianMs: ms(d.median), p95Ms: ms(d.p95) };
}

function settleArrivals(raw: RawScenario, traceText: string | undefined, traceFile: string): ArrivalSpec {
  const a = raw.workload.arrivals;
  switch (a.kind) {
    case 'poisson':
      return { kind: 'poisson', ratePerHour: a.rate_per_hour };
    case 'diurnal':
      return {
        kind: 'diurnal',
        peakPerHour: a.peak_per_hour,
        nightPerHour: a.night_per_hour ?? a.peak_per_hour * DEFAULTS.diurnal.nightShareOfPeak,
        peakAtMs: timeOfDayMs(a.peak_at ?? DEFAULTS.diurnal.peakAt),
        widthMs: a.width === undefined ? DEFAULTS.diurnal.widthMs : ms(a.width),
        weekends: a.weekends ?? DEFAULTS.diurnal.weekends,
      };
    case 'burst':
      return {
        kind: 'burst',
        baseRatePerHour: a.base_per_hour,
        burstRatePerHour: a.burst_per_hour,
        firstAtMs: a.first_at === undefined ? 0 : ms(a.first_at),
        everyMs: ms(a.every),
        lengthMs: ms(a.length),
      };
    case 'trace':
      return { kind: 'trace', arrivals: parseTrace(traceText ?? '', { source: traceFile, jobCount: raw.workload.jobs.length }) };
  }
}

/** The client size and price: from the instance type when named, else cpus/memory_gb and a listed type of that size. */
function settleNomadClients(nc: NonNullable<RawScenario['topology']>['nomad_clients']): SettledScenario['topology']['nomadClients'] {
  const type = nc?.instance_type === undefined ? undefined : instanceType(nc.instance_type);
  const cpus = type?.vcpus ?? nc?.cpus ?? DEFAULTS.nomadClients.cpus;
  const memoryGb = type?.memory_gb ?? nc?.memory_gb ?? DEFAULTS.nomadClients.memoryGb;
  const listed = type === undefined ? priceForSize(cpus, memoryGb) : { hourUsd: type.hour_usd, source: nc!.instance_type! };
  return {
    count: nc?.count ?? DEFAULTS.nomadClients.count,
    cpus,
    memoryGb,
    bootTimeMs: nc?.boot_time === undefined ? DEFAULTS.nomadClients.bootTimeMs : ms(nc.boot_time),
    ...(nc?.instance_type === undefined ? {} : { instanceType: nc.instance_type }),
    hourUsd: nc?.hour_usd ?? listed.hourUsd,
    priceSource: nc?.hour_usd === undefined ? `list price of ${listed.source}` : 'nomad_clients.hour_usd',
  };
}

/** Applies every default and resolves names: the boundary between what users write and what the model runs. */
export function settle(raw: RawScenario, opts: { file: string; ctx: ScenarioContext; traceText?: string | undefined }): SettledScenario {
  const { ctx } = opts;
  const version = raw.version ?? DEFAULTS.version;
  const classes: Record<string, SettledResourceClass> = {};
  for (const rc of ctx.resourceClasses(version)) classes[`${rc.executor}:${rc.name}`] = { ...rc };
  for (const [name, rc] of Object.entries(raw.topology?.resource_classes ?? {})) {
    classes[`docker:${name}`] = { name, executor: 'docker', cpuMilli: Math.round(rc.cpu * 1000), memoryMb: rc.ram_mb };
  }
  const defaultClass = ctx.defaultResourceClass(version);
  const jobs: JobTemplate[] = raw.workload.jobs.map((j) => ({
    weight: j.weight ?? 1,
    executor: j.executor ?? 'docker',
    resourceClass: j.resource_class ?? defaultClass,
    duration: settleDuration(j.duration),
    parallelism: j.parallelism ?? 1,
    usesContexts: j.uses_contexts ?? false,
    workflowJobs: j.workflow_jobs ?? 1,
    failureRate: j.failure_rate ?? 0,
    artifacts: j.artifacts ?? 0,
    testResults: j.test_results ?? false,
    dockerLayerCaching: j.docker_layer_caching ?? false,
  }));
  const nc = raw.topology?.nomad_clients;
  const traceFile = raw.workload.arrivals.kind === 'trace' ? raw.workload.arrivals.file : '';

  const settled: SettledScenario = {
    name: raw.name,
    description: raw.description ?? '',
    file: opts.file,
    version,
    seed: raw.seed ?? DEFAULTS.seed,
    durationMs: ms(raw.duration),
    mode: raw.mode ?? DEFAULTS.mode,
    timeScale: raw.time_scale ?? DEFAULTS.timeScale,
    topology: {
      storage: raw.topology?.storage ?? DEFAULTS.storage,
      auth: raw.topology?.auth ?? DEFAULTS.auth,
      scheduler: raw.topology?.scheduler ?? DEFAULTS.scheduler,
      nomadClients: settleNomadClients(nc),
      resourceClasses: classes,
      defaultResourceClass: defaultClass,
      vmService: {
        preallocatedMachine: raw.topology?.vm_service?.preallocated_machine ?? DEFAULTS.vmService.preallocatedMachine,
        preallocatedRemoteDocker: raw.topology?.vm_service?.preallocated_remote_docker ?? DEFAULTS.vmService.preallocatedRemoteDocker,
        maxInstances: raw.topology?.vm_service?.max_instances ?? DEFAULTS.vmService.maxInstances,
        ...(raw.topology?.vm_service?.boot_time === undefined ? {} : { bootTime: settleDuration(raw.topology.vm_service.boot_time) }),
        dailyCycleAtMs: timeOfDayMs(raw.topology?.vm_service?.daily_cycle_at ?? DEFAULTS.vmService.dailyCycleAt),
        dailyCycleWritten: raw.topology?.vm_service?.daily_cycle_at !== undefined,
      },
      disk: {
        capacityMb: (raw.topology?.services_machine?.disk_gb ?? DEFAULTS.disk.diskGb) * 1000,
        freeMb: (raw.topology?.services_machine?.disk_free_gb ?? DEFAULTS.disk.freeGb) * 1000,
        logMbPerHour: raw.topology?.services_machine?.log_mb_per_hour ?? DEFAULTS.disk.logMbPerHour,
        logMbPerBuild: raw.topology?.services_machine?.log_mb_per_build ?? DEFAULTS.disk.logMbPerBuild,
        rabbitmqLimitMb: (raw.topology?.services_machine?.rabbitmq_disk_limit_gb ?? DEFAULTS.disk.rabbitmqLimitGb) * 1000,
      },
    },
    workload: {
      arrivals: settleArrivals(raw, opts.traceText, traceFile),
      jobs,
      jobNames: raw.workload.jobs.map((j, i) => j.name ?? `job-${i + 1}`),
      scheduled: (raw.workload.scheduled ?? []).map((s) => ({ job: s.job, everyMs: ms(s.every), firstAtMs: s.first_at === undefined ? ms(s.every) : ms(s.first_at) })),
    },
    faults: (raw.faults ?? [])
      .map((f) => ({
        atMs: ms(f.at),
        action: f.action,
        target: f.target === 'nomad_client' || f.target === 'services_machine' ? f.target : (ctx.resolveContainer(version, f.target) ?? f.target),
        writtenTarget: f.target,
        ...(f.for === undefined ? {} : { forMs: ms(f.for) }),
        count: f.count ?? 1,
      }))
      .map((f, i) => ({ f, i }))
      .sort((a, b) => a.f.atMs - b.f.atMs || a.i - b.i)
      .map(({ f }) => f),
    cost: {
      written: raw.cost !== undefined,
      developerHourUsd: raw.cost?.developer_hour_usd ?? DEFAULTS.developerHourUsd,
      vmInstanceHourUsd: raw.cost?.vm_instance_hour_usd ?? instanceType(VM_SERVICE_DEFAULT_TYPE).hour_usd,
    },
    expect: (raw.expect ?? []).map((e) => {
      if (e.equals !== undefined) return { metric: e.metric, op: 'equals' as const, expected: e.equals };
      const op = e.max !== undefined ? ('max' as const) : ('min' as const);
      const v = (e.max ?? e.min)!;
      return { metric: e.metric, op, expected: typeof v === 'string' ? parseDurationMs(v) : v };
    }),
  };
  if (raw.backups) {
    const b = raw.backups;
    // A replica takes no scheduled backups: every_ms 0 (parse refuses `every` on it and requires it otherwise).
    settled.backups = { strategy: b.strategy, everyMs: b.every === undefined ? 0 : ms(b.every), lagMs: b.lag === undefined ? 0 : ms(b.lag), ...(b.copy ? { copy: { region: b.copy.region, takesMs: ms(b.copy.takes) } } : {}) };
  }
  if (raw.disaster) settled.disaster = { atMs: ms(raw.disaster.at), kind: raw.disaster.kind, ...(raw.disaster.breaks ? { breaks: raw.disaster.breaks } : {}), share: raw.disaster.share ?? 1 };
  if (raw.recovery) {
    settled.recovery = {
      runbook: raw.recovery.runbook,
      then: raw.recovery.then ?? [],
      afterMs: raw.recovery.after === undefined ? DEFAULTS.recoveryAfterMs : ms(raw.recovery.after),
      skip: raw.recovery.skip ?? [],
      order: raw.recovery.order ?? [],
      reassignPrivateIp: raw.recovery.reassign_private_ip ?? false,
      ...(raw.recovery.rpo_tolerance === undefined ? {} : { rpoToleranceMs: ms(raw.recovery.rpo_tolerance) }),
    };
  }
  if (raw.autoscaling) {
    const a = raw.autoscaling;
    const policies = a.policies ?? [];
    settled.autoscaling = {
      min: a.min,
      max: a.max,
      desired: a.desired ?? settled.topology.nomadClients.count,
      bootTime: a.boot_time === undefined ? { kind: 'fixed', ms: settled.topology.nomadClients.bootTimeMs } : settleDuration(a.boot_time),
      scheduled: policies.flatMap((p) => (p.kind === 'scheduled' ? [{ cron: p.cron, ...(p.desired === undefined ? {} : { desired: p.desired }), ...(p.min === undefined ? {} : { min: p.min }), ...(p.max === undefined ? {} : { max: p.max }) }] : [])),
      steps: policies.flatMap((p) =>
        p.kind === 'step'
          ? [
              {
                metric: p.metric,
                op: p.below === undefined ? ('above' as const) : ('below' as const),
                threshold: (p.below ?? p.above)!,
                add: p.add,
                periodMs: p.period === undefined ? DEFAULTS.autoscaling.periodMs : ms(p.period),
                evaluationPeriods: p.evaluation_periods ?? 1,
                datapointsToAlarm: p.datapoints_to_alarm ?? p.evaluation_periods ?? 1,
                treatMissingData: p.treat_missing_data ?? 'missing',
                cooldownMs: p.cooldown === undefined ? DEFAULTS.autoscaling.cooldownMs : ms(p.cooldown),
              },
            ]
          : [],
      ),
      targetTracking: policies.flatMap((p) =>
        p.kind === 'target_tracking'
          ? [
              {
                metric: p.metric,
                target: p.target,
                warmupMs: p.warmup === undefined ? DEFAULTS.autoscaling.cooldownMs : ms(p.warmup),
                scaleInCooldownMs: p.scale_in_cooldown === undefined ? DEFAULTS.autoscaling.cooldownMs : ms(p.scale_in_cooldown),
                disableScaleIn: p.disable_scale_in ?? false,
              },
            ]
          : [],
      ),
    };
  }
  return settled;
}
