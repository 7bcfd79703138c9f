import { z } from 'zod';
import { parseDurationMs } from '../util/duration.ts';
import { LIMITS, limitTag } from './limits.ts';
import { INSTANCE_TYPE_NAMES, instanceType } from '../models/autoscaling/instance-types.ts';
import { parseCron } from '../models/autoscaling/cron.ts';

/**
 * The scenario file contract of DESIGN.md, as written by users (snake_case, durations as text).
 * This one definition validates files, generates the JSON Schema for editors, and types `RawScenario`.
 * Defaults are applied once, later, by `settle()`.
 */

/** `250ms`, `90s`, `15m`, `4h`, `2d`, or compounds such as `1h10m`; a bare number means whole milliseconds. */
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*)+$';

/** A predicate: whether `parse` accepts the text (does not throw). */
function accepts(parse: (text: string) => unknown): (text: string) => boolean {
  return (text) => {
    try {
      parse(text);
      return true;
    } catch {
      return false;
    }
  };
}

function withinDurationLimit(text: string): boolean {
  try {
    return parseDurationMs(text) <= LIMITS.durationMs.value;
  } catch {
    return true; // the format check reports it
  }
}
const isDuration = accepts(parseDurationMs);
const isCron = accepts(parseCron);

const DURATION_HINT = 'a duration such as 250ms, 90s, 15m, 4h, 2d or 1h10m (units largest first, each once)';
/** The message of a bare number that is not whole: the parser turns it into a sentence with a hint. */
export const WHOLE_MS = 'whole-ms';

export const Duration = z
  .union([
    z
      .string()
      .regex(new RegExp(DURATION_PATTERN), DURATION_HINT)
      .refine(isDuration, DURATION_HINT)
      .refine(withinDurationLimit, { message: limitTag('durationMs') }),
    z.number().int(WHOLE_MS).nonnegative().max(LIMITS.durationMs.value, limitTag('durationMs')),
  ])
  .describe('A duration: 250ms, 90s, 15m, 4h, 2d, compounds like 1h10m, or a whole number of milliseconds (at most 90d, `max_duration`).');

const Rate = z.number().max(LIMITS.ratePerHour.value, limitTag('ratePerHour'));

const TimeOfDay = z.string().regex(/^([01]?\d|2[0-3]):[0-5]\d$/, 'a time of day such as 14:00').describe('Time of day, HH:MM.');

export const VERSIONS = ['2.19.6', '2.17.2'] as const;
export const FAULT_ACTIONS = [
  'kill',
  'stop',
  'restart',
  'start',
  'pause',
  'unpause',
  'fail_at_startup',
  'wipe_state',
  'disk_fill',
  'partition',
  'heal',
  'terminate_instance',
  'drain',
  'snapshot',
  'restore',
] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

const JobDuration = z.union([
  Duration,
  z.strictObject({ median: Duration, p95: Duration }).describe('Lognormal with this median and 95th percentile.'),
  z.strictObject({ dist: z.literal('exponential'), mean: Duration }),
  z.strictObject({ dist: z.literal('uniform'), min: Duration, max: Duration }),
  z.strictObject({ dist: z.literal('lognormal'), median: Duration, p95: Duration }),
  z.strictObject({ dist: z.literal('fixed'), value: Duration }),
]);

const NomadClients = z
  .strictObject({
    count: z.number().int().min(0).max(LIMITS.nomadClients.value, limitTag('nomadClients')).describe('Nomad client machines in the Auto Scaling Group.'),
    cpus: z.number().int().min(3).max(64).optional().describe('vCPUs per client (default 8, or the instance type\'s); 2 are reserved for coordination.'),
    memory_gb: z.number().int().min(5).max(128).optional().describe('Memory per client (GB; default 32, or the instance type\'s); 4 GB are reserved.'),
    instance_type: z
      .enum(INSTANCE_TYPE_NAMES as [string, ...string[]])
      .optional()
      .describe('An EC2 type from fixtures/instance-types.json: sets cpus, memory_gb and the hourly list price.'),
    hour_usd: z.number().positive().max(1000).optional().describe('Hourly price of one client (default: the instance type\'s list price, or one of that size).'),
    boot_time: Duration.optional().describe('Time from launch to ready for a new client (autoscaling).'),
  })
  .superRefine((nc, ctx) => {
    if (nc.instance_type === undefined) return;
    for (const key of ['cpus', 'memory_gb'] as const) {
      if (nc[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `give either instance_type or ${key}: ${nc.instance_type} sets it` });
    }
    const t = instanceType(nc.instance_type);
    if (t.vcpus < 3 || t.memory_gb < 5) {
      ctx.addIssue({ code: 'custom', path: ['instance_type'], message: `${nc.instance_type} (${t.vcpus} vCPU, ${t.memory_gb} GB) is too small for a Nomad client after the 2 vCPU / 4 GB reservation: pick an xlarge or larger` });
    }
  })
  .describe('The Nomad client fleet. Usable per client: cpus - 2 and memory_gb - 4 (the reservation).');

const ResourceClassDef = z.strictObject({
  cpu: z.number().positive().max(64),
  ram_mb: z.number().int().positive().max(131072),
});

const Topology = z.strictObject({
  storage: z.enum(['s3', 'fileserved']).optional().describe('Object storage: S3 (default) or fileserved on the Services machine.'),
  auth: z.enum(['github', 'ldap']).optional().describe('GitHub OAuth (default) or LDAP through federation-service.'),
  scheduler: z
    .enum(['binpack', 'spread'])
    .optional()
    .describe("Nomad's placement algorithm: binpack (default) fills the fullest clients; spread the emptiest."),
  nomad_clients: NomadClients.optional(),
  resource_classes: z
    .record(z.string().regex(/^[a-z][a-z0-9.]*$/), ResourceClassDef)
    .refine((r) => Object.keys(r).length <= LIMITS.resourceClasses.value, { message: limitTag('resourceClasses') })
    .optional()
    .describe('Docker resource classes to add or override, as resource-definitions.edn allows.'),
  services_machine: z
    .strictObject({
      disk_gb: z.number().positive().max(100_000).optional().describe('Root volume size (default 100).'),
      disk_free_gb: z.number().nonnegative().max(100_000).optional().describe('Free space at the start (default 12).'),
      log_mb_per_hour: z.number().nonnegative().max(1_000_000).optional().describe('Log growth while logrotate is down, base rate (default 20).'),
      log_mb_per_build: z.number().nonnegative().max(10_000).optional().describe('Log growth per finished build while logrotate is down (default 3).'),
      rabbitmq_disk_limit_gb: z.number().nonnegative().max(100_000).optional().describe("RabbitMQ's disk_free_limit: publishers block below it (default 5)."),
    })
    .optional()
    .describe('The Services machine disk, for logrotate and disk_fill faults.'),
  vm_service: z
    .strictObject({
      preallocated_machine: z.number().int().min(0).max(1000).optional(),
      preallocated_remote_docker: z.number().int().min(0).max(1000).optional(),
      max_instances: z.number().int().min(1).max(100_000).optional(),
      boot_time: JobDuration.optional().describe('Launch to ready of an on-demand instance: a duration or a distribution (default: the version profile\'s uniform 1-3 minutes).'),
      daily_cycle_at: TimeOfDay.optional().describe('When the daily cron cycles the preallocated instances (UTC; default 00:00): idle ones are replaced.'),
    })
    .optional()
    .describe('VM service on EC2 for machine and remote Docker jobs.'),
});

const PoissonArrivals = z.strictObject({
  kind: z.literal('poisson'),
  rate_per_hour: Rate.positive(),
});
const DiurnalArrivals = z.strictObject({
  kind: z.literal('diurnal'),
  peak_per_hour: Rate.positive(),
  night_per_hour: Rate.nonnegative().optional(),
  peak_at: TimeOfDay.optional(),
  width: Duration.optional().describe('Standard deviation of the working-hours bell curve (default 2h30m).'),
  weekends: z.boolean().optional().describe('true (default): Saturday and Sunday run at the night rate.'),
});
const BurstArrivals = z.strictObject({
  kind: z.literal('burst'),
  base_per_hour: Rate.nonnegative(),
  burst_per_hour: Rate.positive(),
  every: Duration,
  length: Duration,
  first_at: Duration.optional(),
});
const TraceArrivals = z.strictObject({
  kind: z.literal('trace'),
  file: z.string().min(1).describe('CSV (header with `at`, optional `job`) or JSONL, relative to the scenario file.'),
});
const Arrivals = z.discriminatedUnion('kind', [PoissonArrivals, DiurnalArrivals, BurstArrivals, TraceArrivals]);


const Job = z.strictObject({
  name: z.string().optional(),
  weight: z.number().positive().max(LIMITS.weight.value, limitTag('weight')).optional().describe('Relative share of arrivals (default 1).'),
  executor: z.enum(['docker', 'machine', 'remote_docker']).optional(),
  resource_class: z.string().optional(),
  duration: JobDuration,
  parallelism: z.number().int().min(1).max(LIMITS.parallelism.value, limitTag('parallelism')).optional(),
  uses_contexts: z.boolean().optional(),
  workflow_jobs: z.number().int().min(1).max(LIMITS.workflowJobs.value, limitTag('workflowJobs')).optional().describe('Jobs in the workflow, run in sequence (default 1).'),
  failure_rate: z.number().min(0).max(1).optional().describe('Share of builds that fail on their own (red tests).'),
  artifacts: z.number().int().min(0).max(1000).optional(),
  test_results: z.boolean().optional(),
  docker_layer_caching: z
    .boolean()
    .optional()
    .describe('machine or remote_docker jobs only: the job uses Docker Layer Caching, which works only on an on-demand vm-service instance.'),
}).refine((j) => j.docker_layer_caching !== true || j.executor === 'machine' || j.executor === 'remote_docker', {
  message: 'docker_layer_caching needs a vm-service instance: set executor to machine or remote_docker',
  path: ['docker_layer_caching'],
});

const Scheduled = z
  .strictObject({
    job: z.number().int().min(0).describe('Index of the job template (in `jobs`) the schedule runs.'),
    every: Duration.describe('How often it runs.'),
    first_at: Duration.optional().describe('When it first runs (default: after `every`).'),
  })
  .describe('A scheduled workflow, triggered by cron-service.');

const Workload = z.strictObject({
  arrivals: Arrivals,
  jobs: z.array(Job).min(1).max(LIMITS.jobTemplates.value, limitTag('jobTemplates')),
  scheduled: z.array(Scheduled).max(LIMITS.scheduled.value, limitTag('scheduled')).optional(),
});

const Fault = z.strictObject({
  at: Duration,
  action: z.enum(FAULT_ACTIONS),
  target: z.string().min(1).describe('A container name or alias from the table, `nomad_client`, or `services_machine`.'),
  for: Duration.optional().describe('Undo the fault after this long (restart, unpause, heal, undrain).'),
  count: z.number().int().min(1).max(LIMITS.nomadClients.value, limitTag('nomadClients')).optional().describe('For nomad_client targets: how many clients.'),
});

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Bound = z.union([z.number(), z.string().regex(new RegExp(DURATION_PATTERN), 'a number, or a duration for *_ms metrics').refine(isDuration, DURATION_HINT)]);
const Expectation = z
  .strictObject({
    metric: z.string().min(1).describe('A path into report.json, e.g. builds.lost or queue_time_ms.p95.'),
    equals: Scalar.optional(),
    max: Bound.optional(),
    min: Bound.optional(),
  })
  .refine((e) => [e.equals, e.max, e.min].filter((v) => v !== undefined).length === 1, {
    message: 'an expectation takes exactly one of equals, max or min',
  });

/** The backup strategies a rehearsal knows: EBS snapshots and circleci-backup tarballs on a schedule, or a replica. */
export const BACKUP_STRATEGIES = ['ebs_snapshot', 'tarball', 'replica'] as const;
/** The disasters a DR scenario names; `region_outage` extends DESIGN.md's list. */
export const DISASTER_KINDS = ['services_machine_terminated', 'ebs_corruption', 'az_outage', 'settings_change', 'region_outage'] as const;
/** What a `settings_change` disaster breaks. */
export const SETTINGS_BROKEN = ['contexts', 'project_settings'] as const;

const Backups = z.strictObject({
  strategy: z.enum(BACKUP_STRATEGIES).describe('ebs_snapshot and tarball: a backup every `every`; replica: a standby kept in sync `lag` behind (the seeds\' cold fail-over).'),
  every: Duration.optional().describe('The backup interval (ebs_snapshot, tarball).'),
  lag: Duration.optional().describe('The replication lag of the standby (replica only): the RPO of a fail-over to it.'),
  copy: z
    .strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-west-2'), takes: Duration.describe('How long copying one backup there takes.') })
    .optional()
    .describe('Each backup is copied to another region once taken (aws ec2 copy-snapshot, or an S3 copy of the tarball): what a region_outage restores from.'),
});
const Disaster = z.strictObject({
  at: Duration,
  kind: z.enum(DISASTER_KINDS),
  breaks: z.enum(SETTINGS_BROKEN).optional().describe('settings_change: contexts (jobs with uses_contexts fail) or project_settings (builds of the changed projects fail).'),
  share: z.number().gt(0).max(1).optional().describe('settings_change of project_settings: the share of projects changed (default 1).'),
});
const Recovery = z.strictObject({
  runbook: z.string(),
  then: z.array(z.string()).max(5).optional().describe('Runbooks run after `runbook`, in order (e.g. reassociate-builders); their steps follow in the report.'),
  after: Duration.optional(),
  skip: z.array(z.string()).optional(),
  order: z.array(z.string()).optional().describe('The order the operator runs the runbook\'s steps in (unlisted steps follow in the runbook\'s order); a step run before a step it requires is out_of_order.'),
  reassign_private_ip: z.boolean().optional(),
  rpo_tolerance: Duration.optional().describe('The data loss tolerated: the report recommends the longest backup interval whose worst-case RPO stays within it.'),
});
const Cost = z
  .strictObject({
    developer_hour_usd: z.number().nonnegative().max(100_000).optional().describe('Price of one developer-hour of queue time (default 200).'),
    vm_instance_hour_usd: z.number().nonnegative().max(1000).optional().describe("Hourly price of one vm-service instance (default: the fixture's m5.large list price)."),
  })
  .describe('Prices for the report\'s cost: machines, vm-service instances and developers waiting, per day.');

const ScheduledAction = z
  .strictObject({
    kind: z.literal('scheduled'),
    cron: z.string().refine(isCron, 'a cron "minute hour day-of-month month day-of-week", e.g. "0 8 * * MON-FRI" (UTC; virtual time 0 is Monday 2024-01-01 00:00)'),
    desired: z.number().int().min(0).max(10_000).optional(),
    min: z.number().int().min(0).max(10_000).optional(),
    max: z.number().int().min(0).max(10_000).optional(),
  })
  .refine((a) => a.desired !== undefined || a.min !== undefined || a.max !== undefined, { message: 'a scheduled action sets desired, min or max' })
  .describe('An Auto Scaling scheduled action: at each cron match, set the desired capacity (and/or min, max).');
const StepPolicy = z
  .strictObject({
    kind: z.literal('step'),
    metric: z
      .enum(['pending_jobs', 'available_clients', 'queue_time_ms'])
      .describe('pending_jobs: Nomad jobs pending; available_clients: clients with room for one more default-class task; queue_time_ms: mean queue time of the builds that started in the period.'),
    below: z.number().optional(),
    above: z.number().optional(),
    add: z.number().int().min(-10_000).max(10_000).refine((n) => n !== 0, 'add must not be 0').describe('Clients to add (negative: remove) when the alarm fires.'),
    period: Duration.optional().describe('Alarm period, a whole number of minutes (default 1m).'),
    evaluation_periods: z.number().int().min(1).max(1000).optional().describe('The periods the alarm evaluates, N (default 1).'),
    datapoints_to_alarm: z.number().int().min(1).max(1000).optional().describe('M of the N evaluated periods that must breach for the alarm to fire (default N: every one).'),
    treat_missing_data: z
      .enum(['missing', 'notBreaching', 'breaching', 'ignore'])
      .optional()
      .describe("How a period without data counts, as CloudWatch's TreatMissingData (default missing; pending_jobs has none while the Nomad server is down)."),
    cooldown: Duration.optional().describe('No further action from this policy for this long after one (default 5m, AWS\'s).'),
  })
  .refine((p) => (p.below === undefined) !== (p.above === undefined), { message: 'a step policy takes exactly one of below or above' })
  .refine((p) => p.datapoints_to_alarm === undefined || p.datapoints_to_alarm <= (p.evaluation_periods ?? 1), {
    message: 'at most evaluation_periods (M of N)',
    path: ['datapoints_to_alarm'],
  })
  .refine((p) => p.period === undefined || (parseDurationMs(String(p.period)) > 0 && parseDurationMs(String(p.period)) % 60_000 === 0), {
    message: 'period must be a whole number of minutes (the group is evaluated once a minute)',
    path: ['period'],
  })
  .describe('A step scaling policy on a CloudWatch-style alarm.');
const TargetTrackingPolicy = z
  .strictObject({
    kind: z.literal('target_tracking'),
    metric: z
      .enum(['cpu_utilisation', 'backlog_per_client'])
      .describe('cpu_utilisation: percent of the in-service clients\' usable CPU reserved by tasks; backlog_per_client: (pending jobs + running tasks) per in-service client.'),
    target: z.number().positive().max(1_000_000).describe('The value to hold the metric at (cpu_utilisation: a percent, at most 100).'),
    warmup: Duration.optional().describe('Estimated instance warm-up after boot: no scale-in while an instance warms up (default 5m).'),
    scale_in_cooldown: Duration.optional().describe('Time after a scale-in by this policy before the next (default 5m).'),
    disable_scale_in: z.boolean().optional().describe('Only scale out (default false).'),
  })
  .refine((p) => p.metric !== 'cpu_utilisation' || p.target <= 100, { message: 'a percent of at most 100 for cpu_utilisation', path: ['target'] })
  .describe('A target-tracking policy: scale out quickly (3 one-minute datapoints above target), in conservatively (15 below), proportionally to the metric.');
const Autoscaling = z
  .strictObject({
    min: z.number().int().min(0).max(10_000),
    max: z.number().int().min(0).max(10_000),
    desired: z.number().int().min(0).max(10_000).optional().describe('Desired capacity at the start (default nomad_clients.count).'),
    boot_time: JobDuration.optional().describe('Launch to ready: a duration or a distribution, e.g. { median: 3m, p95: 5m } (default nomad_clients.boot_time).'),
    policies: z.array(z.union([ScheduledAction, StepPolicy, TargetTrackingPolicy])).max(100).optional(),
  })
  .describe('An Auto Scaling Group of Nomad clients; scale-in drains a client and terminates it once its allocations are done.');

/** A sweep written in the scenario, run by `twin tune FILE` (the `--sweep`, `--targets`, ... flags override its fields). */
const Tune = z
  .strictObject({
    sweep: z
      .record(z.string().regex(/^[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|\d+))*$/, 'a dotted path into the scenario, e.g. topology.nomad_clients.count'), z.array(z.unknown()).min(1).max(1000))
      .describe('Dotted scenario keys and the values each takes, as --sweep key=v1,v2 (the grid of every combination, keys in file order).'),
    sample: z.enum(['grid', 'random']).optional().describe('Every cell of the grid (default), or `samples` cells drawn at random.'),
    samples: z.number().int().min(1).max(10_000).optional().describe('With sample: random, how many distinct cells to draw.'),
    replications: z.number().int().min(1).max(1000).optional().describe('Runs of each cell with independent seeds (default 1); 2 or more give 95% intervals.'),
    targets: z.array(z.string().min(1)).max(20).optional().describe("What the recommended cell must meet, e.g. ['p95_queue_s<=10']."),
    expect: z.array(Expectation).max(LIMITS.expectations.value, limitTag('expectations')).optional().describe('Checks on tune.json (e.g. recommended.params.topology.nomad_clients.count); twin tune exits 1 when one fails.'),
  })
  .describe('A sweep of this scenario for `twin tune FILE`; `twin run` refuses it (the cells run without it).');

export const ScenarioSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore').describe('Unique name of the scenario.'),
  description: z.string().optional(),
  version: z.enum(VERSIONS).optional().describe('Version profile (default 2.19.6).'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Root seed (default 1); --seed overrides.'),
  duration: Duration.describe('How long the workload runs (arrivals stop then; the run drains afterwards).'),
  mode: z.enum(['sim', 'live']).optional(),
  time_scale: z.number().positive().max(100_000).optional().describe('Live mode: virtual seconds per wall second (default 60).'),
  topology: Topology.optional(),
  workload: Workload,
  faults: z.array(Fault).max(LIMITS.faults.value, limitTag('faults')).optional(),
  expect: z.array(Expectation).max(LIMITS.expectations.value, limitTag('expectations')).optional(),
  backups: Backups.optional(),
  disaster: Disaster.optional(),
  recovery: Recovery.optional(),
  autoscaling: Autoscaling.optional(),
  cost: Cost.optional(),
  tune: Tune.optional(),
});

export type RawScenario = z.input<typeof ScenarioSchema>;
export type RawJob = z.input<typeof Job>;
export type RawExpectation = z.input<typeof Expectation>;
export type RawTune = z.input<typeof Tune>;

/** The JSON Schema of scenario files, generated from the same definition (for editors: yaml-language-server). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $id: 'https://circleci-server-twin.local/scenario.schema.json',
    title: 'circleci-server-twin scenario',
    ...schema,
  };
}
