import type { DurationSpec, ArrivalSpec, JobTemplate, ScheduledWorkflow } from '../models/workload/types.ts';
import type { FaultAction } from './schema.ts';

/** A resource class as the twin schedules it: what the Nomad task reserves on a client. */
export interface SettledResourceClass {
  name: string;
  executor: 'docker' | 'machine';
  cpuMilli: number;
  memoryMb: number;
}

export interface SettledFault {
  atMs: number;
  action: FaultAction;
  /** Canonical container name, `nomad_client` or `services_machine`. */
  target: string;
  /** The name as written in the scenario (an alias, perhaps), for reports. */
  writtenTarget: string;
  forMs?: number;
  count: number;
}

export interface SettledExpectation {
  metric: string;
  op: 'equals' | 'max' | 'min';
  expected: number | string | boolean | null;
}

/** A scenario with every default applied, durations in ms and names resolved; downstream code applies no defaults. */
export interface SettledScenario {
  name: string;
  description: string;
  file: string;
  version: '2.19.6' | '2.17.2';
  seed: number;
  durationMs: number;
  mode: 'sim' | 'live';
  timeScale: number;
  topology: {
    storage: 's3' | 'fileserved';
    auth: 'github' | 'ldap';
    /** Nomad's placement algorithm (rank.ts). */
    scheduler: 'binpack' | 'spread';
    nomadClients: {
      count: number;
      cpus: number;
      memoryGb: number;
      bootTimeMs: number;
      /** The EC2 type, when the scenario names one. */
      instanceType?: string;
      /** Hourly price of one client, and where it comes from (the scenario, an instance type, a size match). */
      hourUsd: number;
      priceSource: string;
    };
    resourceClasses: Record<string, SettledResourceClass>;
    defaultResourceClass: string;
    vmService: {
      preallocatedMachine: number;
      preallocatedRemoteDocker: number;
      maxInstances: number;
      /** On-demand boot time; undefined: the version profile's uniform range. */
      bootTime?: DurationSpec;
      /** Time of day the preallocated instances are cycled, and whether the scenario wrote it. */
      dailyCycleAtMs: number;
      dailyCycleWritten: boolean;
    };
    disk: { capacityMb: number; freeMb: number; logMbPerHour: number; logMbPerBuild: number; rabbitmqLimitMb: number };
  };
  workload: { arrivals: ArrivalSpec; jobs: JobTemplate[]; jobNames: string[]; scheduled: ScheduledWorkflow[] };
  faults: SettledFault[];
  expect: SettledExpectation[];
  backups?: { strategy: 'ebs_snapshot' | 'tarball' | 'replica'; everyMs: number; lagMs: number; copy?: { region: string; takesMs: number } };
  disaster?: { atMs: number; kind: string; breaks?: 'contexts' | 'project_settings'; share: number };
  recovery?: { runbook: string; then: string[]; afterMs: number; skip: string[]; order: string[]; reassignPrivateIp: boolean; rpoToleranceMs?: number };
  /** `written`: the scenario has a `cost` section (the live replay, which reports no cost, refuses it). */
  cost: { written: boolean; developerHourUsd: number; vmInstanceHourUsd: number };
  autoscaling?: SettledAutoscaling;

}

export interface SettledStepPolicy {
  metric: 'pending_jobs' | 'available_clients' | 'queue_time_ms';
  op: 'below' | 'above';
  threshold: number;
  add: number;
  periodMs: number;
  evaluationPeriods: number;
  /** M of N (`evaluationPeriods`). */
  datapointsToAlarm: number;
  treatMissingData: 'missing' | 'notBreaching' | 'breaching' | 'ignore';
  cooldownMs: number;
}

export interface SettledTargetTrackingPolicy {
  metric: 'cpu_utilisation' | 'backlog_per_client';
  target: number;
  warmupMs: number;
  scaleInCooldownMs: number;
  disableScaleIn: boolean;
}

export interface SettledAutoscaling {
  min: number;
  max: number;
  desired: number;
  bootTime: DurationSpec;
  scheduled: { cron: string; desired?: number; min?: number; max?: number }[];
  steps: SettledStepPolicy[];
  targetTracking: SettledTargetTrackingPolicy[];
}
