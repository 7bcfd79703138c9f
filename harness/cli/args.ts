import { parseArgs } from 'node:util';
import { suggest } from '../../sim/util/suggest.ts';
import { BackendChoiceError, parseBackendChoices, type BackendChoices } from '../live/backend-choice.ts';
import { WORKER_LIMITS } from '../distributed/limits.ts';

/** A bad command line: exit 2, with what was wrong and a hint. */
export class CliError extends Error {
  readonly code = 'BAD_ARGS';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const COMMANDS = ['run', 'validate', 'topology', 'conformance', 'explore', 'agree', 'up', 'status', 'down', 'dr', 'tune', 'worker', 'train', 'schema', 'version', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  value?: string;
  description: string;
  /** What the option means for a command where the general description would mislead. */
  per?: Partial<Record<Command, string>>;
  commands: readonly Command[];
}

/** The options table: one row per flag, with the commands that take it. */
export const OPTIONS: Record<string, OptionSpec> = {
  seed: {
    type: 'string',
    value: 'N',
    description: 'root seed (overrides the scenario file)',
    per: { explore: 'exploration seed: which schedules are drawn (default: a fresh one, printed)', conformance: 'the seed of every row\'s run (default 1)', train: 'the installation\'s seed (default the installation scenario\'s)', tune: 'the sweep seed: every run\'s seed derives from it, the cell and the replication (default the file\'s seed)' },
    commands: ['run', 'explore', 'conformance', 'agree', 'dr', 'tune', 'train'],
  },
  out: {
    type: 'string',
    value: 'DIR',
    description: 'where report files are written (default reports/out)',
    per: { explore: 'where explore.json and a failing schedule go (default reports/out/explore-<name>)', conformance: 'where the matrix files go (default reports/out/conformance-<version>)', train: 'where train-report.json and the transcripts go (default reports/out/train-<drill>); with --report, where the summary goes', tune: 'where tune.json, tune.md and tune.html go (default reports/out/tune-<name>)' },
    commands: ['run', 'conformance', 'explore', 'agree', 'dr', 'tune', 'train'],
  },
  mode: { type: 'string', value: 'sim|live', description: 'runtime: deterministic simulation (default) or the live stack', commands: ['run', 'dr', 'train'] },
  'time-scale': { type: 'string', value: 'X', description: 'live mode: scenario seconds per wall-clock second (default: the scenario\'s time_scale, else 60)', commands: ['run', 'agree'] },
  version: { type: 'string', value: 'V', description: 'version profile: 2.19.6 (default) or 2.17.2', commands: ['topology', 'conformance', 'up'] },
  json: {
    type: 'boolean',
    description: 'print JSON on stdout instead of the table',
    per: {
      run: 'print one JSON document on stdout (every scenario\'s verdict, counts and report path) instead of the summary lines',
      agree: 'print one JSON document on stdout instead of the summary lines',
      validate: 'print one JSON line per file: {file, valid, name | issues}',
      conformance: 'print conformance.json (with `passed` and the report path) instead of the matrix',
      explore: 'print explore.json instead of the summary lines',
      train: 'with --list: the drills as JSON; with --report: the summary as JSON',
      tune: 'print tune.json instead of the summary lines',
    },
    commands: ['run', 'topology', 'status', 'validate', 'conformance', 'explore', 'agree', 'train', 'tune'],
  },
  runs: { type: 'string', value: 'N', description: 'number of random fault schedules', commands: ['explore'] },
  workers: { type: 'string', value: 'REDIS_URL', description: 'run the work on the twin\'s queue in that Redis, taken by `twin worker REDIS_URL` on any machine; the result is the same as run here', per: { explore: 'run the schedules on the twin\'s queue in that Redis, taken by `twin worker REDIS_URL` on any machine; the result is byte-identical to a local run', tune: 'run the cells on the twin\'s queue in that Redis, taken by `twin worker REDIS_URL` on any machine; tune.json is byte-identical to a local run' }, commands: ['explore', 'tune'] },
  'worker-timeout': { type: 'string', value: 'S', description: 'with --workers: seconds to wait while no worker is connected and none takes a task (default 60), then exit 2', commands: ['explore', 'tune'] },
  concurrency: { type: 'string', value: 'N', description: 'tasks run at once, each in its own thread (default 1)', commands: ['worker'] },
  once: { type: 'boolean', description: 'exit once the queue has nothing waiting and this worker\'s tasks are done', commands: ['worker'] },
  'stall-timeout': { type: 'string', value: 'S', description: 'seconds before a task whose worker died (stopped renewing its lock) is given to another worker (default 30)', commands: ['worker'] },
  sweep: { type: 'string', multiple: true, value: 'key=v1,v2', description: 'a dotted scenario key and the values it takes (repeatable: the grid of every combination)', commands: ['tune'] },
  sample: { type: 'string', value: 'grid|random', description: 'every cell of the grid (default), or --samples cells drawn at random from it', commands: ['tune'] },
  samples: { type: 'string', value: 'N', description: 'with --sample random: how many distinct cells to draw', commands: ['tune'] },
  replications: { type: 'string', value: 'N', description: 'runs of each cell with independent seeds (default 1); 2 or more give 95% intervals', commands: ['tune'] },
  targets: { type: 'string', multiple: true, value: 'm<=x,...', description: "what the recommended cell must meet, e.g. 'p95_queue_s<=1,builds_lost<=0' (quoted: < is the shell's)", commands: ['tune'] },
  jobs: { type: 'string', value: 'N', description: 'worker threads running cells (default: the cores); 1 runs them one after the other in this thread', commands: ['tune'] },
  detach: { type: 'boolean', short: 'd', description: 'return once the stack is healthy and leave it running', commands: ['up'] },
  scenario: { type: 'string', value: 'FILE', description: 'scenario whose topology the stack follows', commands: ['up'] },
  backend: { type: 'string', multiple: true, value: 'KIND|C=KIND', description: 'live backends: `embedded` for every component that has one, or per component (postgres=local,rabbitmq=embedded); also TWIN_BACKEND', commands: ['run', 'agree', 'up'] },
  supervise: { type: 'boolean', description: 'internal: run as the detached supervisor of `twin up -d`', commands: ['up'] },
  nomad: { type: 'string', value: 'real|twin', description: 'nomad_server: a real `nomad agent -dev` (a `nomad` binary on PATH, or NOMAD_ADDR) running the builds, or the twin\'s Nomad API (default); for train: the trainee\'s read-only nomad commands run the real binary against the drill\'s cluster (default when one is on PATH) or the built-in emulation (twin); for a live run: the replay\'s builds on a real agent (a drain of nomad_client acts on its one node; other faults on nomad_client, and on services_machine, are refused with the reason); for agree: real is refused (a real agent\'s build starts a process, seconds of wall time, beyond the agreement\'s latency budget)', commands: ['up', 'train', 'run', 'agree'] },
  list: { type: 'boolean', description: 'list the training drills with their difficulty', commands: ['train'] },
  drill: { type: 'string', value: 'NAME', description: 'the drill to run (a name of --list, or a drill file)', commands: ['train'] },
  script: { type: 'string', value: 'FILE', description: 'replay a typed session: one shell command a line, non-interactively', per: { dr: 'replay an admin\'s recovery session (one command a line, as --interactive takes them; implies it), non-interactively' }, commands: ['train', 'dr'] },
  'port-offset': { type: 'string', value: 'N', description: 'live mode: the stack publishes its documented ports at N + port (default 16000), so that two live rehearsals, or one beside `twin up` (10000), do not collide; N + the highest documented port must be at most 65535', commands: ['dr'] },
  interactive: { type: 'boolean', description: 'run the scenario to the disaster, then give a shell where the seeds\' recovery commands (aws ec2 ..., sudo rm -rf /opt/nomad, replicated app ...) do the runbook\'s steps; the report follows your steps', commands: ['dr'] },
  'command-time': { type: 'string', value: 'DURATION', description: 'virtual time each command takes, so queues grow while the trainee looks (default 30s)', commands: ['train'] },
  'time-factor': { type: 'string', value: 'N', description: 'interactive drills: the installation runs N times faster than the wall clock, typing or not (instead of --command-time per command)', commands: ['train'] },
  report: { type: 'boolean', description: 'the instructor summary of the train-report.json files in the DIRs given', commands: ['train'] },
  quiet: { type: 'boolean', short: 'q', description: 'no progress output', commands: ['run', 'conformance', 'explore', 'agree', 'dr', 'tune'] },
  help: { type: 'boolean', short: 'h', description: 'show help', commands: [...COMMANDS] },
};

export interface ParsedArgs {
  command: Command;
  files: string[];
  seed?: number;
  out?: string;
  mode?: 'sim' | 'live';
  timeScale?: number;
  version?: string;
  json: boolean;
  runs?: number;
  sweep: string[];
  /** `twin tune`: sampling, replications, targets and worker threads, as given (checked by the command). */
  sample?: 'grid' | 'random';
  samples?: number;
  replications?: number;
  targets: string[];
  jobs?: number;
  detach: boolean;
  scenario?: string;
  /** Backend choices per component, parsed (`--backend`); TWIN_BACKEND is read where they are used. */
  backends: BackendChoices;
  quiet: boolean;
  help: boolean;
  /** `twin help <command>`: the command whose help is asked for. */
  topic?: Command;
  supervise: boolean;
  /** `twin up --nomad`: a real Nomad agent or the twin's Nomad API. */
  nomad?: 'real' | 'twin';
  /** `--workers REDIS_URL`: run the work on the twin's queue (validated where it is used). */
  workers?: string;
  /** `--worker-timeout S`, in milliseconds. */
  workerTimeoutMs?: number;
  /** `twin worker`: tasks at once, exit when the queue is empty, the lock of a task in seconds. */
  concurrency?: number;
  once: boolean;
  stallTimeoutS?: number;
  /** `twin train`: list the drills, run one (`drill`, replaying `script`), or summarise reports (`report`, dirs in `files`). */
  list?: boolean;
  drill?: string;
  script?: string;
  commandTime?: string;
  /** `--time-factor N`: installation ms per wall ms in an interactive drill. */
  timeFactor?: number;
  report?: boolean;
  /** `twin dr --interactive`: the admin's shell does the runbook's steps (with `script`: replayed). */
  interactive?: boolean;
  /** `twin dr --mode live --port-offset N`: the live stack's documented ports at N + port. */
  portOffset?: number;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const range = `a whole number from ${min} to ${max}`;
  if (!/^\d+$/.test(text)) throw new CliError(`--${flag} must be ${range}, got \`${text}\``, `for example --${flag} 42`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`--${flag} must be ${range}, got ${n}`, `for example --${flag} 42`);
  return n;
}

function backendsOf(specs: readonly string[] | undefined): BackendChoices {
  try {
    return parseBackendChoices(specs ?? [], '--backend');
  } catch (e) {
    if (e instanceof BackendChoiceError) throw new CliError(e.message, e.hint);
    throw e;
  }
}

/** The help page of one command: its usage line, a one-line summary for the command list, a paragraph, examples. */
interface CommandHelp {
  usage: string;
  summary: string;
  description: string;
  examples: readonly string[];
}

/** Per-command help, printed by `twin <command> --help` and `twin help <command>`; the global list uses `summary`. */
export const COMMAND_HELP: Record<Command, CommandHelp> = {
  run: {
    usage: 'twin run <scenario.yaml>... [options]',
    summary: 'run scenarios; writes report.json, report.md, junit.xml',
    description:
      'Loads and checks every scenario file first (one bad file stops the call before anything runs), runs each in the deterministic simulation (or live with --mode live or the file\'s `mode: live`), and writes the report files only once every scenario has run: into --out for one scenario, into --out/<name>/ plus a combined junit.xml for several. Same scenario and seed give a byte-identical report.',
    examples: ['twin run scenarios/baseline.yaml', 'twin run scenarios/*.yaml --out reports/ci --seed 42', 'twin run scenarios/baseline.yaml --json -q'],
  },
  validate: {
    usage: 'twin validate <scenario.yaml>... [--json]',
    summary: 'check scenario files against the contract',
    description: 'Parses and checks each file exactly as `twin run` would, and prints `ok` or every problem with file:line:column, the field and a hint. Nothing is run or written.',
    examples: ['twin validate scenarios/*.yaml', 'twin validate my.yaml --json'],
  },
  topology: {
    usage: 'twin topology [--version V] [--json]',
    summary: 'the container table as the twin knows it',
    description: 'Prints the containers of one version profile: ports, what depends on each, and the documented severity when it fails, with the document each row comes from.',
    examples: ['twin topology', 'twin topology --version 2.17.2 --json'],
  },
  schema: {
    usage: 'twin schema',
    summary: 'print the JSON Schema of scenario files',
    description: 'Prints the JSON Schema of the scenario file format, for editors and other tools.',
    examples: ['twin schema > scenario.schema.json'],
  },
  conformance: {
    usage: 'twin conformance [--version V] [--out DIR] [--seed N] [--json]',
    summary: 'the severity matrix: documented vs observed, per container',
    description:
      'Kills each container of the version profile in turn under a standard workload and compares the severity the simulation observes with the one the documentation states. Writes conformance.json, conformance.md, junit.xml and the row scenarios; exits 1 when a row does not match.',
    examples: ['twin conformance', 'twin conformance --version 2.17.2 --out reports/conformance --json'],
  },
  explore: {
    usage: 'twin explore <scenario.yaml> [--runs N] [--seed S] [--out DIR] [--json]',
    summary: 'random fault schedules, invariants, shrinking',
    description:
      'Draws random fault schedules against the scenario\'s workload and checks the invariants after each; a failing schedule is shrunk to a minimal one, printed with its replay command and written as a scenario file. Without --seed a fresh exploration seed is drawn and printed.',
    examples: ['twin explore scenarios/baseline.yaml --runs 1000', 'twin explore scenarios/baseline.yaml --runs 200 --seed 7 --json'],
  },
  agree: {
    usage: 'twin agree <scenario.yaml>... [options]',
    summary: 'run each scenario live and in simulation, compare fates, severity, queue times',
    description: 'Runs each scenario on the live stack and in the simulation with the same seed and compares build fates, severity and queue times within the stated tolerance; exits 1 when they disagree.',
    examples: ['twin agree scenarios/baseline.yaml', 'twin agree scenarios/failures/kill-rabbitmq.yaml --time-scale 240 --backend embedded'],
  },
  up: {
    usage: 'twin up [-d] [--scenario FILE] [--version V] [--backend KIND]',
    summary: 'boot the live stack (every container a killable service)',
    description: 'Boots the live stack in dependency order and prints its table; stays up until Ctrl-C, or with -d returns once every service is healthy and leaves it running (see `twin status`, `twin down`).',
    examples: ['twin up -d', 'twin up --scenario scenarios/baseline.yaml --backend embedded'],
  },
  status: {
    usage: 'twin status [--json]',
    summary: 'the running stack: ports, health, endpoints',
    description: 'Prints the table of the stack started by `twin up -d`: each service, its ports and health; --json gives `services` rows and `endpoints`. Exit 0 if a stack runs, 1 if none (with or without --json); a stack whose supervisor died is reported with what its watchdog reclaimed.',
    examples: ['twin status', 'twin status --json'],
  },
  down: {
    usage: 'twin down',
    summary: 'stop the stack started by `twin up -d`',
    description: 'Stops the stack started by `twin up -d` and removes what it left; it also finds and ends the remains of a stack whose supervisor died (processes by pid and start time, its private dirs).',
    examples: ['twin down'],
  },
  dr: {
    usage: 'twin dr <scenario.yaml> [--seed N] [--out DIR] [--mode sim|live [--port-offset N]] [--interactive | --script FILE]',
    summary: 'disaster-recovery rehearsal: backups, the disaster, the runbook; RTO and RPO',
    description: 'Runs the scenario\'s backups, disaster and recovery runbook (fixtures/runbooks/) in the simulation, beside its baseline without the disaster, and writes dr-report.json (the report\'s fields plus rto_ms, rpo_ms, webhooks_dropped, runbook), report.md and junit.xml. --mode live boots the live stack as the Services machine of the twin\'s EC2 endpoint, snapshots it, does the disaster for real (services_machine_terminated: TerminateInstances; ebs_corruption: the volume\'s PostgreSQL WAL garbled, so its crash recovery fails; settings_change with breaks: contexts: the context changed in its PostgreSQL, so the jobs using it fail, or with breaks: project_settings: the OAuth token in the settings of `share` of the workload\'s projects changed, so those projects\' builds fail; az_outage with a replica: a standby launched in another zone holds the stores as of `lag` before the disaster, the primary is terminated, and the cold-failover runbook re-associates its private IP to the replica and starts the app there) and restores it through the runbook with real EC2 calls (EBS snapshots; for services_machine_terminated also circleci-backup tarballs taken on the schedule and restored with circleci-restore onto a clean install launched from a clean AMI, the data it took moved to /data/circleci-restore-*; for settings_change also tarballs restored in place with restore-tarball-in-place, the running installation\'s data moved to /data/circleci-restore-*; after an EBS restore, the builders re-associated with recovery.then: [reassociate-builders]: the secret token read from the restored volume, a launch configuration whose UserData names the new private IP and CIRCLE_SECRET_PASSPHRASE made the Nomad clients\' Auto Scaling group\'s, every builder terminated and replaced by the group, the new ones registering as Nomad clients only with the token); region_outage with EBS snapshots copied to another region (backups.copy): each snapshot copied with CopySnapshot to a second region\'s EC2 endpoint the rehearsal owns, the copy complete after copy.takes at the time scale, the whole first region lost (the Services machine, its builders, its snapshots), and the newest copy complete at the outage restored in the second region at a new address of its VPC, the builders launched there with reassociate-builders; its ports are the documented ones + 16000, or + N with --port-offset N; RTO in wall time, RPO in the scenario\'s time. --interactive stops at the disaster and gives a shell where the seeds\' own commands (aws ec2 describe-snapshots/register-image/run-instances/assign-private-ip-addresses, sudo rm -rf /opt/nomad, sudo sed -i on /etc/default/replicated*, replicated app <id> stop|start, replicatedctl app-config, circleci dev-console with (admin/delete-build ...)) each do a runbook step and show its consequence; `done` ends it and the report follows the steps as typed (skipped ones skipped); session.txt replays it with --script. With --mode live (services_machine_terminated with EBS snapshots, and az_outage with a replica: describe-instance-status of the old instance confirms it terminated, assign-private-ip-addresses --allow-reassignment moves its IP to the replica, replicated app <id> start starts the app there) each step is done for real: aws ec2 by the real AWS CLI against the rehearsal\'s EC2 endpoint, the Services machine\'s commands on the restored machine or the replica; the simulation\'s names (i-0c1rc1e5e7v1ce5a0, 10.0.1.10, snap-..., the replica\'s i-0c1rc1e5e7v1ce5c2, eni-0c1rc1e5e7v1ce5c2, 10.0.2.20) stand for the live ids, so a session replays in both; tarballs and the other disasters are refused typed live with a hint. --port-offset N (else TWIN_DR_PORT_OFFSET) moves the live rehearsal\'s ports (default 16000).',
    examples: ['twin dr scenarios/dr/ebs-snapshot-restore.yaml', 'twin dr scenarios/dr/ebs-snapshot-restore.yaml --interactive --out reports/dr-alice', 'twin dr scenarios/dr/ebs-snapshot-restore.yaml --script harness/dr/sessions/skips-nomad-wipe.txt', 'twin dr scenarios/dr/restore-skips-nomad-wipe.yaml --out reports/dr --seed 7', 'twin dr scenarios/dr/ebs-snapshot-restore.yaml --mode live --out reports/dr-live', 'twin dr scenarios/dr/settings-change-rollback.yaml --mode live --out reports/dr-settings', 'twin dr scenarios/dr/cold-failover-az-outage.yaml --mode live', 'twin dr scenarios/dr/ebs-restore-new-ip-rotate-builders.yaml --mode live', 'twin dr scenarios/dr/tarball-backup-restore.yaml --mode live --port-offset 25000', 'twin dr scenarios/dr/ebs-snapshot-restore.yaml --mode live --script harness/dr/sessions/full-restore.txt', 'twin dr scenarios/dr/cold-failover-az-outage.yaml --mode live --script harness/dr/sessions/cold-failover.txt', 'twin dr scenarios/dr/region-outage-copied-snapshots.yaml --mode live'],
  },
  train: {
    usage: 'twin train --list [--json] | twin train --drill NAME [--seed N] [--mode sim|live] [--script FILE] [--command-time 30s | --time-factor N] [--out DIR] | twin train --report DIR...',
    summary: 'training drills: a broken installation, a shell with the seeds\' commands, graded',
    description:
      'Starts the drill\'s installation in the simulation, breaks it with the drill\'s hidden fault and gives a shell on its Services machine where the troubleshooting chapter\'s commands work (sudo docker ps/logs/start/stop/restart, nomad status/node-status/node-drain/logs, curl to the health endpoints, circleci dev-console, replicated app). Each command takes --command-time of the installation\'s time. `answer <container> <cause>` names the root cause, `hint` helps (at a cost), `exit` ends it: the twin checks the fix and grades the session 0-100. Writes train-report.json, transcript.json, transcript.md and session.txt (the typed lines, replayable with --script). Exit 0 when the root cause was named and the fix verified, 1 otherwise. --report DIR... summarises trainees\' reports for an instructor. --mode live runs the drill on the live stack (every drill whose hidden fault or change it carries out: queued-at-dispatcher, queued-at-picard-dispatcher, queued-at-picard-scheduler, output-processor-unreachable, nomad-clients-draining, contexts-failing-vault, vm-spinup-failing, ldap-logins-failing, exim-quietly-down, slanger-quietly-down, no-nomad-clients, whose Auto Scaling Group change is made on the stack\'s EC2 endpoint, nomad-state-stale-after-restore, whose Nomad server starts on a restored /opt/nomad, and disk-full-logrotate-down, whose tutum/logrotate (hardcore_cray) rotates the live services\' logs: the simulation\'s disk rule, ticked on the live installation\'s hours and finished builds, says when the volume passes RabbitMQ\'s limit and the private RabbitMQ node\'s own disk alarm is raised (rabbitmqctl set_disk_free_limit); a drill whose fault the live stack cannot carry out is refused with the reason): the stack boots (documented ports at 22000 + port, or TWIN_TRAIN_PORT_OFFSET + port), the fault is carried out on it, the installation\'s pushes are replayed to GitHub Enterprise at its time scale, docker ps/logs/start/stop/restart/exec, curl, nomad, the dev-console\'s queue forms, replicated app (the whole stack stopped and started, the /etc/circleconfig files applied), sudo rm -rf /opt/nomad (the Nomad server\'s data dir), the /etc/circleconfig files, df (the Services machine\'s volume as the disk rule holds it, then the real filesystems) and aws autoscaling (AWS SDK calls to the stack\'s EC2 endpoint) read and act on the live stack (other commands say they are not carried out there), and the fix is verified on it (queued builds in PostgreSQL, RabbitMQ, the Nomad API, real health answers); the time part counts the trainee\'s time, not the stack\'s.',
    examples: ['twin train --list', 'twin train --drill queued-at-picard-dispatcher', 'twin train --drill exim-quietly-down --script session.txt --out reports/alice', 'twin train --drill queued-at-picard-dispatcher --mode live --script harness/train/sessions/shortest-path.txt', 'twin train --report reports/alice reports/bob'],
  },
  worker: {
    usage: 'twin worker <redis-url> [--concurrency N] [--once] [--stall-timeout S]',
    summary: 'run the tasks that `--workers <redis-url>` queues, on any machine',
    description:
      'Takes tasks from the twin\'s queue in that Redis (queued by `twin explore --workers <redis-url>` or `twin tune --workers <redis-url>` on any machine) and runs them, each in a thread of its own, until SIGINT or SIGTERM: the first signal lets the running tasks finish, a second puts them back in the queue for another worker. A worker killed outright leaves its tasks to be retried by another after --stall-timeout; a task is counted once however often it runs. One line per task on stderr. Exit 0 when stopped; 2 on a bad or unreachable URL.',
    examples: ['twin worker redis://127.0.0.1:6379', 'twin worker redis://:secret@queue.internal:6379/2 --concurrency 2', 'twin worker redis://queue.internal:6379 --once'],
  },
  tune: {
    usage: 'twin tune <scenario.yaml> [--sweep key=v1,v2,... ...] [options]',
    summary: 'sweep fleet size, instance type, scaling policy, scheduler: cost against queue time',
    description:
      'Runs the scenario in the simulation once per cell of the sweep (every combination of the --sweep values, or --samples of them drawn at random) and replication, each with its own seed derived from --seed (default the file\'s), the cell and the replication, on worker threads; the result is the same whatever --jobs. A key is a dotted path into the scenario file (topology.nomad_clients.count, topology.nomad_clients.instance_type, topology.scheduler, autoscaling.min, autoscaling.policies.0.desired, cost.developer_hour_usd, ...); each cell is checked as `twin run` would check its file. Writes tune.json (every cell: cost per day and its parts, queue-time percentiles, utilisation, throughput, 95% intervals; the Pareto front of cost against p95 queue time; the recommended cell: the cheapest by total cost meeting --targets), tune.md and tune.html into --out (default reports/out/tune-<name>). A scenario may carry the sweep itself in a `tune:` section (sweep, replications, sample, samples, targets, and `expect` lines on tune.json such as recommended.params.topology.nomad_clients.count): `twin tune FILE` runs it, each flag given replaces its part. Exit 1 when targets are given and no cell meets them, or a `tune.expect` line fails.',
    examples: [
      'twin tune scenarios/tuning/fixed-fleet-sizing/study.yaml',
      'twin tune scenarios/tuning/fixed-fleet.yaml --sweep topology.nomad_clients.count=4,6,8,10,12,16',
      'twin tune scenarios/tuning/scheduled-scaling.yaml --sweep autoscaling.policies.0.desired=6,9,12 --sweep topology.nomad_clients.instance_type=m5.2xlarge,c5.2xlarge --replications 5 --targets \'p95_queue_s<=10\'',
      'twin tune scenarios/tuning/reactive-scaling.yaml --sweep autoscaling.max=8,12,16 --sweep autoscaling.policies.0.above=0,2,4 --sample random --samples 5 --jobs 2 --json -q',
    ],
  },
  version: {
    usage: 'twin --version | twin -V | twin version',
    summary: 'the twin\'s version, Node\'s, and the version profiles',
    description: 'Prints the package version, the Node.js version running it and the CircleCI Server version profiles the twin knows.',
    examples: ['twin --version'],
  },
  help: {
    usage: 'twin help [command]',
    summary: 'this list, or one command\'s help',
    description: 'Prints the list of commands, or the usage, options and examples of one command (the same as `twin <command> --help`).',
    examples: ['twin help run', 'twin run --help'],
  },
};

/** The value options: `--seed -3` hands `-3` to --seed (Node's parser would call it ambiguous); the value check refuses it. */
function joinDashedValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.startsWith('--') ? a.slice(2) : Object.keys(OPTIONS).find((n) => OPTIONS[n]!.short !== undefined && a === `-${OPTIONS[n]!.short}`);
    const next = args[i + 1];
    if (name !== undefined && OPTIONS[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Node's parser messages, in the CLI's words. */
function parserError(message: string, command: Command): CliError {
  const hint = `see \`twin ${command} --help\``;
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(message);
  if (unknown) {
    const s = suggest(unknown[2]!, Object.keys(OPTIONS).filter((n) => OPTIONS[n]!.commands.includes(command)));
    return new CliError(`unknown option \`${unknown[1]}${unknown[2]}\`${s ? `; did you mean \`--${s}\`?` : ''}`, hint);
  }
  const missing = /Option '(?:-\w, )?--([\w-]+)[^']*' argument missing/.exec(message);
  if (missing) return new CliError(`--${missing[1]} needs a value`, `write it as --${missing[1]} ${OPTIONS[missing[1]!]?.value ?? 'VALUE'}; ${hint}`);
  const noValue = /Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(message);
  if (noValue) return new CliError(`--${noValue[1]} takes no value`, `write --${noValue[1]} alone; ${hint}`);
  return new CliError(message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''), hint);
}

const NO_ARGS: Omit<ParsedArgs, 'command'> = { files: [], json: false, sweep: [], targets: [], detach: false, backends: {}, quiet: false, help: false, supervise: false, once: false };

/** Parses `twin <command> [files] [options]` into a typed value; throws CliError. Pure: no I/O. */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { ...NO_ARGS, command: 'help', help: true };
  if (first === '--version' || first === '-V') return { ...NO_ARGS, command: 'version' };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    const s = suggest(first, COMMANDS);
    throw new CliError(`unknown command \`${first}\`${s ? `; did you mean \`${s}\`?` : ''}`, `commands: ${COMMANDS.join(', ')}; see \`twin --help\``);
  }
  const command = first as Command;
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  ) as Parameters<typeof parseArgs>[0] extends infer P ? (P extends { options?: infer O } ? O : never) : never;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinDashedValues(rest), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw parserError((e as Error).message, command);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  for (const [name, value] of Object.entries(v)) {
    if (value === undefined) continue;
    if (!OPTIONS[name]!.commands.includes(command)) throw new CliError(`option --${name} does not apply to \`twin ${command}\``, `it applies to: ${OPTIONS[name]!.commands.join(', ')}`);
  }
  const out: ParsedArgs = {
    command,
    files: parsed.positionals,
    json: v.json === true,
    sweep: (v.sweep as string[] | undefined) ?? [],
    targets: (v.targets as string[] | undefined) ?? [],
    detach: v.detach === true,
    backends: backendsOf(v.backend as string[] | undefined),
    quiet: v.quiet === true,
    help: v.help === true,
    supervise: v.supervise === true,
    once: v.once === true,
  };
  if (typeof v.workers === 'string') out.workers = v.workers;
  if (typeof v['worker-timeout'] === 'string') out.workerTimeoutMs = integer('worker-timeout', v['worker-timeout'], 1, WORKER_LIMITS.maxWorkerTimeoutS) * 1000;
  if (typeof v.concurrency === 'string') out.concurrency = integer('concurrency', v.concurrency, 1, WORKER_LIMITS.maxConcurrency);
  if (typeof v['stall-timeout'] === 'string') out.stallTimeoutS = integer('stall-timeout', v['stall-timeout'], WORKER_LIMITS.minStallTimeoutS, WORKER_LIMITS.maxStallTimeoutS);
  if (typeof v.seed === 'string') out.seed = integer('seed', v.seed, 0, 2 ** 32 - 1);
  if (typeof v.nomad === 'string') {
    if (v.nomad !== 'real' && v.nomad !== 'twin') throw new CliError(`--nomad must be real or twin, got \`${v.nomad}\``, 'for example --nomad real (needs a `nomad` binary on PATH)');
    out.nomad = v.nomad;
  }
  if (typeof v.out === 'string') {
    if (v.out.trim() === '') throw new CliError('--out needs a directory');
    out.out = v.out;
  }
  if (typeof v.mode === 'string') {
    if (v.mode !== 'sim' && v.mode !== 'live') throw new CliError(`--mode must be sim or live, got \`${v.mode}\``);
    out.mode = v.mode;
  }
  const ts = v['time-scale'];
  if (typeof ts === 'string') {
    const x = Number(ts);
    if (!/^\d+(\.\d+)?$/.test(ts) || !(x > 0) || x > 100_000) throw new CliError(`--time-scale must be a number of scenario seconds per wall second, above 0 and at most 100000, got \`${ts}\``, 'for example --time-scale 60 (an hour in a minute)');
    out.timeScale = x;
  }
  if (typeof v.version === 'string') out.version = v.version;
  if (typeof v.runs === 'string') out.runs = integer('runs', v.runs, 1, 1_000_000);
  if (typeof v.sample === 'string') {
    if (v.sample !== 'grid' && v.sample !== 'random') throw new CliError(`--sample must be grid or random, got \`${v.sample}\``, 'for example --sample random --samples 20');
    out.sample = v.sample;
  }
  if (typeof v.samples === 'string') out.samples = integer('samples', v.samples, 1, 10_000);
  if (typeof v.replications === 'string') out.replications = integer('replications', v.replications, 1, 1000);
  if (typeof v.jobs === 'string') out.jobs = integer('jobs', v.jobs, 1, 64);
  if (typeof v.scenario === 'string') out.scenario = v.scenario;
  if (v.list === true) out.list = true;
  if (v.report === true) out.report = true;
  if (typeof v.drill === 'string') out.drill = v.drill;
  if (typeof v.script === 'string') out.script = v.script;
  if (v.interactive === true) out.interactive = true;
  if (typeof v['port-offset'] === 'string') out.portOffset = integer('port-offset', v['port-offset'], 0, 65_535);
  if (typeof v['command-time'] === 'string') out.commandTime = v['command-time'];
  if (typeof v['time-factor'] === 'string') out.timeFactor = integer('time-factor', v['time-factor'], 1, 3_600);

  if (command === 'help') {
    const [topic, ...more] = out.files;
    if (more.length > 0) throw new CliError(`\`twin help\` takes one command name, got ${out.files.join(' ')}`, 'for example: twin help run');
    if (topic !== undefined && !(COMMANDS as readonly string[]).includes(topic)) {
      const s = suggest(topic, COMMANDS);
      throw new CliError(`no help for \`${topic}\`: it is not a command${s ? `; did you mean \`${s}\`?` : ''}`, `commands: ${COMMANDS.join(', ')}`);
    }
    return { ...NO_ARGS, command: 'help', help: true, ...(topic !== undefined ? { topic: topic as Command } : {}) };
  }
  if (!out.help) {
    const needsFiles: Command[] = ['run', 'validate', 'explore', 'agree', 'dr', 'tune'];
    if (needsFiles.includes(command) && out.files.length === 0) throw new CliError(`\`twin ${command}\` needs at least one scenario file`, `for example: twin ${command} scenarios/baseline.yaml`);
    if (command === 'train' && out.report === true && out.files.length === 0) throw new CliError('`twin train --report` needs the directories of the trainees\' reports', 'for example: twin train --report reports/alice reports/bob');
    if (command === 'worker' && out.files.length !== 1) throw new CliError(`\`twin worker\` takes one Redis URL${out.files.length > 1 ? `, got ${out.files.join(' ')}` : ''}`, 'for example: twin worker redis://127.0.0.1:6379 (the Redis that `--workers` names)');
    if (!needsFiles.includes(command) && command !== 'worker' && out.files.length > 0 && !(command === 'train' && out.report === true)) throw new CliError(`\`twin ${command}\` takes no file arguments, got ${out.files.join(' ')}`);
    if ((command === 'explore' || command === 'dr' || command === 'tune') && out.files.length > 1) throw new CliError(`\`twin ${command}\` takes one scenario file`);
  }
  return out;
}

/** The options of one command (every option for the global list), one line each, from the table. */
function optionLines(command: Command | undefined): string[] {
  const lines: string[] = [];
  for (const [name, o] of Object.entries(OPTIONS)) {
    if (command !== undefined && !o.commands.includes(command)) continue;
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    lines.push(`  ${flag.padEnd(28)} ${(command !== undefined && o.per?.[command]) || o.description}`);
  }
  return lines;
}

const EXIT_CODES = 'Exit codes: 0 pass, 1 an expectation failed, 2 bad input or harness error.';

/** The global help (no command, or `help`) or one command's: usage, a paragraph, only its options, examples. */
export function helpText(command?: Command): string {
  if (command !== undefined && command !== 'help') {
    const h = COMMAND_HELP[command];
    const options = optionLines(command).filter((l) => !l.includes('--supervise'));
    return [`Usage: ${h.usage}`, '', wrap(h.description, 100), '', 'Options:', ...options, '', 'Examples:', ...h.examples.map((e) => `  ${e}`), '', EXIT_CODES].join('\n');
  }
  const width = Math.max(...COMMANDS.map((c) => c.length)) + 2;
  return [
    'twin — a digital twin of CircleCI Server 2.x',
    '',
    'Usage: twin <command> [files] [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.padEnd(width)}${COMMAND_HELP[c].summary}`),
    '',
    'Global options:',
    '  -h, --help                   show help (`twin <command> --help` for one command\'s options and examples)',
    '  -V, --version                the twin\'s version, Node\'s, and the version profiles',
    '',
    EXIT_CODES,
  ].join('\n');
}

/** Wraps a paragraph at `width` columns on spaces. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
