/**
 * Settled workload options (defaults already applied at the scenario boundary; nothing here re-applies them).
 * Virtual time starts on a Monday at 00:00; a day is 86_400_000 ms.
 */
export type ArrivalSpec =
  | { kind: 'poisson'; ratePerHour: number }
  | {
      kind: 'diurnal';
      /** Arrival rate at the peak of a weekday's working-hours bell curve. */
      peakPerHour: number;
      /** Rate outside working hours, and all day on weekends when `weekends` is true. */
      nightPerHour: number;
      /** Time of day of the peak, ms after midnight (14:00 → 50_400_000). */
      peakAtMs: number;
      /** Standard deviation of the bell curve (ms). */
      widthMs: number;
      /** True: Saturday and Sunday are quiet (night rate all day). False: every day is a weekday. */
      weekends: boolean;
    }
  | {
      kind: 'burst';
      baseRatePerHour: number;
      burstRatePerHour: number;
      firstAtMs: number;
      everyMs: number;
      lengthMs: number;
    }
  | { kind: 'trace'; arrivals: readonly TraceArrival[] };

/** One arrival of a trace file; `job` names a job template by index into the mix (else drawn by weight). */
export interface TraceArrival {
  atMs: number;
  job?: number;
}

/** A scheduled workflow (cron-service): job template `job`, first at `firstAtMs`, then every `everyMs`. */
export interface ScheduledWorkflow {
  job: number;
  everyMs: number;
  firstAtMs: number;
}

export type DurationSpec =
  | { kind: 'fixed'; ms: number }
  | { kind: 'lognormal'; medianMs: number; p95Ms: number }
  | { kind: 'exponential'; meanMs: number }
  | { kind: 'uniform'; minMs: number; maxMs: number };

export type Executor = 'docker' | 'machine' | 'remote_docker';

export interface JobTemplate {
  weight: number;
  executor: Executor;
  resourceClass: string;
  duration: DurationSpec;
  /** Tasks per job (CircleCI parallelism): one Nomad allocation each. */
  parallelism: number;
  usesContexts: boolean;
  /** Jobs in the workflow this template triggers (1 = a single-job workflow); run in sequence by workflows-conductor. */
  workflowJobs: number;
  /** Share of runs whose build fails on its own (a red test), independent of the platform. */
  failureRate: number;
  /** Artifacts and test results each job stores (counts, for the data-loss ledger). */
  artifacts: number;
  testResults: boolean;
  /** A machine or remote Docker job using Docker Layer Caching: it needs an on-demand vm-service instance. */
  dockerLayerCaching?: boolean;
}
