import { CPU_MHZ_PER_CORE } from '../models/nomad/cluster-state.ts';
import type { SettledResourceClass } from '../scenario/settled.ts';

/** The instance a task needs from vm-service: a `machine` executor's VM or a remote Docker engine. */
export type VmNeed = 'machine' | 'remote_docker';

/** What picard-dispatcher needs of a job to split it: the parts of `BuildConfig` (or a job template) it reads. */
export interface JobShape {
  /** `remote_docker` is a Docker job with a `setup_remote_docker` step. */
  executor: 'docker' | 'machine' | 'remote_docker';
  resourceClass: string;
  parallelism: number;
}

/** What a resource class reserves on a Nomad client for one task. */
export interface ResourceSize {
  cpuMilli: number;
  memoryMb: number;
}

/** A job split into tasks: `tasks` identical Nomad tasks, each reserving the resource class on a client. */
export interface TaskSplit<R extends ResourceSize = SettledResourceClass> {
  tasks: number;
  resourceClass: R;
  /** The class's CPU as Nomad's API speaks it, rounded up: a task never gets less than it asked for. */
  cpuMhz: number;
  memoryMb: number;
  vm: VmNeed | undefined;
}

/** The resource classes a run knows, by `executor:name` (the profile's, then the scenario's overrides). */
export type ResourceClassTable<R extends ResourceSize = SettledResourceClass> = Readonly<Record<string, R>>;

/** The key a class is known by: `docker:medium`, `machine:large` (a remote Docker job runs in a docker class). */
export function resourceClassKey(executor: JobShape['executor'], name: string): string {
  return `${executor === 'machine' ? 'machine' : 'docker'}:${name}`;
}

/** Why a job cannot be split, in picard-dispatcher's words: the build fails with it. */
export function unknownResourceClassReason(key: string): string {
  return `unknown resource class ${key}`;
}

/**
 * picard-dispatcher's split of a job: one task per unit of parallelism, each with the job's resource class
 * resolved against `classes`, and the VM its executor needs; a string (the reason) when the class is unknown.
 */
export function splitJob<R extends ResourceSize>(job: JobShape, classes: ResourceClassTable<R>): TaskSplit<R> | string {
  const key = resourceClassKey(job.executor, job.resourceClass);
  const rc = classes[key];
  if (rc === undefined) return unknownResourceClassReason(key);
  return {
    tasks: Math.max(1, Math.floor(job.parallelism)),
    resourceClass: rc,
    cpuMhz: Math.ceil((rc.cpuMilli * CPU_MHZ_PER_CORE) / 1000),
    memoryMb: rc.memoryMb,
    vm: job.executor === 'docker' ? undefined : job.executor,
  };
}

/** The classes as a table by `executor:name`; a later class of the same key replaces an earlier one (an override). */
export function resourceClassTable(classes: readonly SettledResourceClass[]): Record<string, SettledResourceClass> {
  const table: Record<string, SettledResourceClass> = {};
  for (const rc of classes) table[`${rc.executor}:${rc.name}`] = rc;
  return table;
}
