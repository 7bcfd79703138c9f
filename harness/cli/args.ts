import { parseArgs } from 'node:util';
import { suggest } from '../../sim/util/suggest.ts';
import { BackendChoiceError, parseBackendChoices, type BackendChoices } from '../live/backend-choice.ts';

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

export const COMMANDS = ['run', 'validate', 'topology', 'conformance', 'explore', 'agree', 'up', 'status', 'down', 'dr', 'tune', 'schema', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  value?: string;
  description: string;
  commands: readonly Command[];
}

/** The options table: one row per flag, with the commands that take it. */
export const OPTIONS: Record<string, OptionSpec> = {
  seed: { type: 'string', value: 'N', description: 'root seed (overrides the scenario file)', commands: ['run', 'explore', 'conformance', 'agree', 'dr', 'tune'] },
  out: { type: 'string', value: 'DIR', description: 'where report files are written (default reports/out)', commands: ['run', 'conformance', 'explore', 'agree', 'dr', 'tune'] },
  mode: { type: 'string', value: 'sim|live', description: 'runtime: deterministic simulation (default) or the live stack', commands: ['run', 'dr'] },
  'time-scale': { type: 'string', value: 'X', description: 'live mode: scenario seconds per wall-clock second (default: the scenario\'s time_scale, else 60)', commands: ['run', 'agree'] },
  version: { type: 'string', value: 'V', description: 'version profile: 2.19.6 (default) or 2.17.2', commands: ['topology', 'conformance', 'up'] },
  json: { type: 'boolean', description: 'print JSON instead of a table', commands: ['topology', 'status', 'validate'] },
  runs: { type: 'string', value: 'N', description: 'number of random fault schedules', commands: ['explore'] },
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
  supervise: boolean;
  /** `twin up --nomad`: a real Nomad agent or the twin's Nomad API. */
  nomad?: 'real' | 'twin';
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new CliError(`--${flag} must be a whole number, got \`${text}\``, `for example --${flag} 42`);
  const n = Number(text);
  if (n < min || n > max) throw new CliError(`--${flag} must be between ${min} and ${max}, got ${n}`);
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

/** Parses `twin <command> [files] [options]` into a typed value; throws CliError. Pure: no I/O. */
export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', files: [], json: false, sweep: [], detach: false, backends: {}, quiet: false, help: true, supervise: false };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    const s = suggest(first, COMMANDS);
    throw new CliError(`unknown command \`${first}\`${s ? `; did you mean \`${s}\`?` : ''}`, `commands: ${COMMANDS.join(', ')}`);
  }
  const command = first as Command;
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  ) as Parameters<typeof parseArgs>[0] extends infer P ? (P extends { options?: infer O } ? O : never) : never;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(msg);
    if (unknown) {
      const s = suggest(unknown[2]!, Object.keys(OPTIONS));
      throw new CliError(`unknown option \`${unknown[1]}${unknown[2]}\` for \`twin ${command}\`${s ? `; did you mean \`--${s}\`?` : ''}`, `see \`twin ${command} --help\``);
    }
    throw new CliError(msg.replace(/\. To specify a positional.*$/, ''), `see \`twin ${command} --help\``);
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
  };
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

  if (!out.help) {
    const needsFiles: Command[] = ['run', 'validate', 'explore', 'agree', 'dr', 'tune'];
    if (needsFiles.includes(command) && out.files.length === 0) throw new CliError(`\`twin ${command}\` needs at least one scenario file`, `for example: twin ${command} scenarios/baseline.yaml`);
    if (!needsFiles.includes(command) && out.files.length > 0) throw new CliError(`\`twin ${command}\` takes no file arguments, got ${out.files.join(' ')}`);
    if ((command === 'explore' || command === 'dr') && out.files.length > 1) throw new CliError(`\`twin ${command}\` takes one scenario file`);
  }
  return out;
}

/** Help text generated from the options table. */
export function helpText(command?: Command): string {
  const lines = [
    'twin — a digital twin of CircleCI Server 2.x',
    '',
    'Usage: twin <command> [files] [options]',
    '',
    'Commands:',
    '  run <scenario.yaml>...        run scenarios; writes report.json, report.md, junit.xml',
    '  validate <scenario.yaml>...   check scenario files against the contract',
    '  topology [--version V]        the container table as the twin knows it',
    '  schema                        print the JSON Schema of scenario files',
    '  conformance [--version V]     the severity matrix: documented vs observed, per container',
    '  explore <scenario.yaml> --runs N [--seed S]   random fault schedules, invariants, shrinking',
    '  agree <scenario.yaml>...      run each scenario live and in simulation, compare fates, severity, queue times',
    '  up [-d] [--scenario F]        boot the live stack (every container a killable service); status [--json]; down',
    '  dr | tune                     not available yet (see README)',
    '',
    'Options:',
  ];
  for (const [name, o] of Object.entries(OPTIONS)) {
    if (command && command !== 'help' && !o.commands.includes(command)) continue;
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    lines.push(`  ${flag.padEnd(28)} ${o.description}`);
  }
  lines.push('', 'Exit codes: 0 pass, 1 an expectation failed, 2 bad input or harness error.');
  return lines.join('\n');
}
