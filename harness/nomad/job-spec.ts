/**
 * Reading a job registration (`PUT /v1/jobs`, `PUT /v1/job/:id`) into the scheduler's `JobSpec`.
 *
 * Nomad's HTTP layer decodes `{ Job: {...} }`, applies `Canonicalize` defaults and validates; this module does
 * the same for the subset the twin models and says clearly, with a 400, when a job uses something it does not
 * (a service job, several task groups). Resources are Nomad's: CPU in MHz, memory in MB; the scheduler counts
 * millicores, so CPU is converted with `CPU_MHZ_PER_CORE` (rounded up: a task never gets less than it asked).
 */
import type { JobSpec } from '../../sim/models/nomad/index.ts';
import { HttpError, statusCode } from '../http/index.ts';
import { mhzToMilli, type ApiConstraint, type ApiJob, type ApiTask, type ApiTaskGroup } from './shapes.ts';

/**
 * Nomad's error: the layer's `HttpError` (code from the status) whose message `nomadErrors` sends as it is, the
 * plain text Nomad's clients print in `Unexpected response code: 404 (job not found)`.
 */
export class NomadHttpError extends HttpError {
  constructor(status: number, message: string) {
    super(status, statusCode(status), message);
    this.name = 'NomadHttpError';
  }
}

/** Nomad's default task resources when a task names none (`api.DefaultResources`). */
export const DEFAULT_TASK_CPU_MHZ = 100;
export const DEFAULT_TASK_MEMORY_MB = 300;
/** Nomad's smallest accepted memory ask. */
export const MIN_TASK_MEMORY_MB = 10;
/** Nomad's default job priority and its bounds. */
export const DEFAULT_PRIORITY = 50;
export const MIN_PRIORITY = 1;
export const MAX_PRIORITY = 100;
/** What 0.9.3 answers (500) to a job without `Datacenters`. */
export const ERR_MISSING_DATACENTERS = '1 error(s) occurred:\n\n* Missing job datacenters';
/** The constraint target the scheduler understands. */
export const NODE_CLASS_TARGET = '${node.class}';

/** A registration read and checked: the job as Nomad would store it, and what the scheduler needs. */
export interface JobRegistration {
  job: ApiJob;
  spec: JobSpec;
  /** Job, group and task `Meta` merged (inner wins), for the task runner (`duration_ms`, `outcome`). */
  meta: Record<string, string>;
}

const invalid = (message: string): NomadHttpError => new NomadHttpError(400, message);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function optionalString(o: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${where}: ${key} must be a string`);
  return v;
}

function optionalNumber(o: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${where}: ${key} must be a number`);
  return v;
}

function stringMap(v: unknown, where: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw invalid(`${where} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw invalid(`${where}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

function readConstraints(v: unknown, where: string): ApiConstraint[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw invalid(`${where}.Constraints must be a list`);
  return v.map((c, i) => {
    if (!isObject(c)) throw invalid(`${where}.Constraints[${i}] must be an object`);
    return {
      LTarget: optionalString(c, 'LTarget', `${where}.Constraints[${i}]`) ?? '',
      RTarget: optionalString(c, 'RTarget', `${where}.Constraints[${i}]`) ?? '',
      Operand: optionalString(c, 'Operand', `${where}.Constraints[${i}]`) ?? '=',
    };
  });
}

function readTask(v: unknown, where: string): ApiTask {
  if (!isObject(v)) throw invalid(`${where} must be an object`);
  const name = optionalString(v, 'Name', where);
  if (name === undefined || name === '') throw invalid(`${where}: Missing task name`);
  const driver = optionalString(v, 'Driver', where);
  if (driver === undefined || driver === '') throw invalid(`Task ${name}: Missing task driver`);
  const r = v.Resources;
  if (r !== undefined && r !== null && !isObject(r)) throw invalid(`Task ${name}: Resources must be an object`);
  const res = isObject(r) ? r : {};
  const cpu = optionalNumber(res, 'CPU', `Task ${name}.Resources`) ?? DEFAULT_TASK_CPU_MHZ;
  const memory = optionalNumber(res, 'MemoryMB', `Task ${name}.Resources`) ?? DEFAULT_TASK_MEMORY_MB;
  if (!Number.isInteger(cpu) || cpu < 1) throw invalid(`Task ${name}: minimum CPU value is 1; got ${cpu}`);
  if (!Number.isInteger(memory) || memory < MIN_TASK_MEMORY_MB) {
    throw invalid(`Task ${name}: minimum MemoryMB value is ${MIN_TASK_MEMORY_MB}; got ${memory}`);
  }
  const config = v.Config;
  if (config !== undefined && config !== null && !isObject(config)) throw invalid(`Task ${name}: Config must be an object`);
  return {
    Name: name,
    Driver: driver,
    Config: isObject(config) ? config : null,
    Env: stringMap(v.Env, `Task ${name}.Env`),
    Resources: { CPU: cpu, MemoryMB: memory },
    Meta: stringMap(v.Meta, `Task ${name}.Meta`),
  };
}

function readGroup(v: unknown, index: number): ApiTaskGroup {
  const where = `Task group ${index + 1}`;
  if (!isObject(v)) throw invalid(`${where} must be an object`);
  const name = optionalString(v, 'Name', where);
  if (name === undefined || name === '') throw invalid(`Job task group ${index + 1} missing name`);
  const count = optionalNumber(v, 'Count', `Task group ${name}`) ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw invalid(`Task group ${name}: Count must be a positive integer in the twin (a count of 0 places nothing); got ${count}`);
  }
  const tasks = v.Tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) throw invalid(`Task group ${name}: Missing tasks for task group`);
  const readTasks = tasks.map((t, i) => readTask(t, `Task group ${name}.Tasks[${i}]`));
  const names = new Set<string>();
  for (const t of readTasks) {
    if (names.has(t.Name)) throw invalid(`Task group ${name}: Task ${t.Name} redefined`);
    names.add(t.Name);
  }
  return {
    Name: name,
    Count: count,
    Tasks: readTasks,
    Constraints: readConstraints(v.Constraints, `Task group ${name}`),
    Meta: stringMap(v.Meta, `Task group ${name}.Meta`),
  };
}

/** The `${node.class}` equality constraint of a job, if any; other constraints are kept but not enforced. */
function nodeClassOf(constraints: readonly ApiConstraint[]): string | undefined {
  let nodeClass: string | undefined;
  for (const c of constraints) {
    if (c.LTarget !== NODE_CLASS_TARGET) continue;
    if (c.Operand !== '=' && c.Operand !== '==' && c.Operand !== 'is') {
      throw invalid(`Constraint ${c.LTarget} ${c.Operand} ${c.RTarget}: the twin's scheduler only models "${NODE_CLASS_TARGET} = <class>"`);
    }
    if (nodeClass !== undefined && nodeClass !== c.RTarget) {
      throw invalid(`Constraints require node class ${nodeClass} and ${c.RTarget}: no node can satisfy both`);
    }
    nodeClass = c.RTarget;
  }
  return nodeClass;
}

/**
 * Reads a registration body. `pathJobId` is the id in `/v1/job/:id` (undefined for `/v1/jobs`). Throws
 * `NomadHttpError` (400) with Nomad's message where Nomad has one, or a message naming the field.
 */
export function parseJobRegistration(body: unknown, pathJobId?: string): JobRegistration {
  if (!isObject(body)) throw invalid('Request body must be a JSON object with a "Job" field');
  const j = body.Job;
  if (j === undefined || j === null) throw invalid('Job must be specified');
  if (!isObject(j)) throw invalid('Job must be an object');
  const id = j.ID;
  if (id === undefined || id === null) throw invalid("Job ID hasn't been provided");
  if (typeof id !== 'string' || id === '') throw invalid('Job ID must be a non-empty string');
  if (pathJobId !== undefined && pathJobId !== id) throw invalid('Job ID does not match name');
  if (/\s/.test(id)) throw invalid(`Job ID contains a space`);

  const type = optionalString(j, 'Type', 'Job') ?? 'service';
  if (type !== 'batch') {
    throw invalid(`Job type "${type}" is not modelled: the twin's Nomad runs batch jobs only (CircleCI Server 2.x schedules every build as a batch job)`);
  }
  const priority = optionalNumber(j, 'Priority', 'Job') ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw invalid(`Job priority must be between [${MIN_PRIORITY}, ${MAX_PRIORITY}]`);
  }
  const dcs = j.Datacenters ?? [];
  if (!Array.isArray(dcs) || dcs.some((d) => typeof d !== 'string')) throw invalid('Job: Datacenters must be a list of strings');
  // Nomad 0.9.3's `Job.Validate` (an RPC-layer error, hence 500, in go-multierror's words).
  if (dcs.length === 0) throw new NomadHttpError(500, ERR_MISSING_DATACENTERS);
  const datacenters = dcs as string[];
  const named = [...new Set(datacenters.filter((d) => d !== '*'))];
  if (named.length > 1 && !datacenters.includes('*')) {
    throw invalid(`Job: the twin's scheduler restricts a job to one datacenter; got ${named.join(', ')}`);
  }
  const groupsRaw = j.TaskGroups;
  if (!Array.isArray(groupsRaw) || groupsRaw.length === 0) throw invalid('Missing job task groups');
  if (groupsRaw.length > 1) {
    throw invalid(`Job has ${groupsRaw.length} task groups: the twin's scheduler places one task group per job (CircleCI's build jobs have one)`);
  }
  const group = readGroup(groupsRaw[0], 0);
  const constraints = readConstraints(j.Constraints, 'Job');
  const nodeClass = nodeClassOf([...(constraints ?? []), ...(group.Constraints ?? [])]);
  const jobMeta = stringMap(j.Meta, 'Job.Meta');

  const job: ApiJob = {
    ID: id,
    Name: optionalString(j, 'Name', 'Job') || id,
    Namespace: optionalString(j, 'Namespace', 'Job') || 'default',
    Region: optionalString(j, 'Region', 'Job') || 'global',
    Type: type,
    Priority: priority,
    AllAtOnce: j.AllAtOnce === true,
    Datacenters: datacenters,
    Constraints: constraints,
    TaskGroups: [group],
    Meta: jobMeta,
  };
  let cpuMhz = 0;
  let memoryMb = 0;
  for (const t of group.Tasks) {
    cpuMhz += t.Resources.CPU;
    memoryMb += t.Resources.MemoryMB;
  }
  const spec: JobSpec = { id, count: group.Count, cpuMilli: mhzToMilli(cpuMhz), memoryMb, priority };
  if (named.length === 1 && !datacenters.includes('*')) spec.datacenter = named[0]!;
  if (nodeClass !== undefined) spec.nodeClass = nodeClass;
  const meta: Record<string, string> = { ...(jobMeta ?? {}), ...(group.Meta ?? {}) };
  for (const t of group.Tasks) Object.assign(meta, t.Meta ?? {});
  return { job, spec, meta };
}
