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

export const COMMANDS = ['run', 'validate', 'topology', 'conformance', 'explore', 'agree', 'up', 'status', 'down', 'dr', 'tune', 'worker', 'schema', 'version', 'help'] as const;
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
    per: { explore: 'exploration seed: which schedules are drawn (default: a fresh one, printed)', conformance: 'the seed of every row\'s run (default 1)' },
    commands: ['run', 'explore', 'conformance', 'agree', 'dr', 'tune'],
  },
  out: {
    type: 'string',
    value: 'DIR',
    description: 'where report files are written (default reports/out)',
    per: { explore: 'where explore.json and a failing schedule go (default reports/out/explore-<name>)', conformance: 'where the matrix files go (default reports/out/conformance-<version>)' },
    commands: ['run', 'conformance', 'explore', 'agree', 'dr', 'tune'],
  },
  mode: { type: 'string', value: 'sim|live', description: 'runtime: deterministic simulation (default) or the live stack', commands: ['run', 'dr'] },
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
    },
    commands: ['run', 'topology', 'status', 'validate', 'conformance', 'explore', 'agree'],
  },
  runs: { type: 'string', value: 'N', description: 'number of random fault schedules', commands: ['explore'] },
  workers: { type: 'string', value: 'REDIS_URL', description: 'run the work on the twin\'s queue in that Redis, taken by `twin worker REDIS_URL` on any machine; the result is the same as run here', per: { explore: 'run the schedules on the twin\'s queue in that Redis, taken by `twin worker REDIS_URL` on any machine; the result is byte-identical to a local run' }, commands: ['explore'] },
  'worker-timeout': { type: 'string', value: 'S', description: 'with --workers: seconds to wait while no worker is connected and none takes a task (default 60), then exit 2', commands: ['explore'] },
  concurrency: { type: 'string', value: 'N', description: 'tasks run at once, each in its own thread (default 1)', commands: ['worker'] },
  once: { type: 'boolean', description: 'exit once the queue has nothing waiting and this worker\'s tasks are done', commands: ['worker'] },
  'stall-timeout': { type: 'string', value: 'S', description: 'seconds before a task whose worker died (stopped renewing its lock) is given to another worker (default 30)', commands: ['worker'] },
  sweep: { type: 'string', multiple: true, value: 'key=v1,v2', description: 'a parameter to sweep (repeatable)', commands: ['tune'] },
  detach: { type: 'boolean', short: 'd', description: 'return once the stack is healthy and leave it running', commands: ['up'] },
  scenario: { type: 'string', value: 'FILE', description: 'scenario whose topology the stack follows', commands: ['up'] },
  backend: { type: 'string', multiple: true, value: 'KIND|C=KIND', description: 'live backends: `embedded` for every component that has one, or per component (postgres=local,rabbitmq=embedded); also TWIN_BACKEND', commands: ['run', 'agree', 'up'] },
  supervise: { type: 'boolean', description: 'internal: run as the detached supervisor of `twin up -d`', commands: ['up'] },
  nomad: { type: 'string', value: 'real|twin', description: 'nomad_server: a real `nomad agent -dev` (a `nomad` binary on PATH, or NOMAD_ADDR) running the builds, or the twin\'s Nomad API (default)', commands: ['up'] },
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
    usage: 'twin dr <scenario.yaml> [--seed N] [--out DIR] [--mode sim]',
    summary: 'disaster-recovery rehearsal: backups, the disaster, the runbook; RTO and RPO',
    description: 'Runs the scenario\'s backups, disaster and recovery runbook (fixtures/runbooks/) in the simulation, beside its baseline without the disaster, and writes dr-report.json (the report\'s fields plus rto_ms, rpo_ms, webhooks_dropped, runbook), report.md and junit.xml. --mode live is not available yet (exit 2).',
    examples: ['twin dr scenarios/dr/ebs-snapshot-restore.yaml', 'twin dr scenarios/dr/restore-skips-nomad-wipe.yaml --out reports/dr --seed 7'],
  },
  worker: {
    usage: 'twin worker <redis-url> [--concurrency N] [--once] [--stall-timeout S]',
    summary: 'run the tasks that `--workers <redis-url>` queues, on any machine',
    description:
      'Takes tasks from the twin\'s queue in that Redis (queued by `twin explore --workers <redis-url>` on any machine) and runs them, each in a thread of its own, until SIGINT or SIGTERM: the first signal lets the running tasks finish, a second puts them back in the queue for another worker. A worker killed outright leaves its tasks to be retried by another after --stall-timeout; a task is counted once however often it runs. One line per task on stderr. Exit 0 when stopped; 2 on a bad or unreachable URL.',
    examples: ['twin worker redis://127.0.0.1:6379', 'twin worker redis://:secret@queue.internal:6379/2 --concurrency 2', 'twin worker redis://queue.internal:6379 --once'],
  },
  tune: {
    usage: 'twin tune <scenario.yaml> --sweep key=v1,v2 [options]',
    summary: 'parameter sweeps (not available yet)',
    description: 'Not available yet in this version of the twin: see README.md, "Status".',
    examples: ['twin tune scenarios/baseline.yaml --sweep nomad_clients.count=5,10,20'],
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

const NO_ARGS: Omit<ParsedArgs, 'command'> = { files: [], json: false, sweep: [], detach: false, backends: {}, quiet: false, help: false, supervise: false, once: false };

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
  if (typeof v.scenario === 'string') out.scenario = v.scenario;

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
    if (command === 'worker' && out.files.length !== 1) throw new CliError(`\`twin worker\` takes one Redis URL${out.files.length > 1 ? `, got ${out.files.join(' ')}` : ''}`, 'for example: twin worker redis://127.0.0.1:6379 (the Redis that `--workers` names)');
    if (!needsFiles.includes(command) && command !== 'worker' && out.files.length > 0) throw new CliError(`\`twin ${command}\` takes no file arguments, got ${out.files.join(' ')}`);
    if ((command === 'explore' || command === 'dr') && out.files.length > 1) throw new CliError(`\`twin ${command}\` takes one scenario file`);
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
