import { readFileSync } from 'node:fs';
import { parseCliArgs, helpText, CliError, COMMANDS, type Command, type ParsedArgs } from './args.ts';
import { BUNDLED, BUNDLED_PROFILES, beforeLiveImport, importLive } from './runtime.ts';
import { BackendChoiceError, backendChoices, type BackendChoices } from '../live/backend-choice.ts';

/** Where the CLI writes; injectable so tests capture output. */
export interface CliIo {
  stdout: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

/** What the CLI reads from its environment besides argv; injectable for tests. */
export interface CliEnv {
  /** `TWIN_DEBUG=1` adds the stack to an internal error. */
  TWIN_DEBUG?: string | undefined;
}

export const EXIT = { pass: 0, expectationFailed: 1, badInput: 2 } as const;

/**
 * Runs the CLI and returns its exit code; never calls process.exit, never throws. Each command's modules are
 * imported when it runs, so `--help` or a simulation never loads the live stack (AWS SDK, drivers, providers).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }, env: CliEnv = process.env): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const known = (COMMANDS as readonly string[]).includes(argv[0] ?? '') ? (argv[0] as Command) : undefined;
  const fail = (command: Command | undefined, message: string, hint?: string) => {
    io.stderr.write(`twin${command && command !== 'help' ? ` ${command}` : ''}: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
    return EXIT.badInput;
  };
  let args: ParsedArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof CliError) return fail(known, e.message, e.hint);
    return internalError(e, known, io, env);
  }
  try {
    return await dispatch(args, out, io);
  } catch (e) {
    // Ctrl-C of a live run: its stack is already torn down; the signal's conventional exit code (130/143).
    if (e instanceof Error && e.name === 'LiveInterruptedError' && 'exitCode' in e && typeof e.exitCode === 'number') {
      io.stderr.write(`twin ${args.command}: ${e.message}\n`);
      return e.exitCode;
    }
    const typed = await describeError(e);
    if (typed) {
      if (typed.lines) for (const line of typed.lines) io.stderr.write(`${line}\n`);
      return fail(args.command, typed.message, typed.hint);
    }
    return internalError(e, args.command, io, env);
  }
}

async function dispatch(args: ParsedArgs, out: (s: string) => void, io: CliIo): Promise<number> {
  if (args.help || args.command === 'help') {
    out(helpText(args.topic ?? args.command));
    return EXIT.pass;
  }
  if (BUNDLED_PROFILES !== undefined && args.command !== 'schema') (await import('../../fixtures/load.ts')).primeProfiles(BUNDLED_PROFILES);
  switch (args.command) {
    case 'version':
      out(await versionText());
      return EXIT.pass;
    case 'run':
    case 'agree': {
      const { runCommand } = await import('./commands/run.ts');
      return await runCommand(args.command === 'agree' ? { ...args, mode: 'live' } : args, io, () => withEnvBackends(args), args.command === 'agree');
    }
    case 'validate':
      return await validateCommand(args, out, io);
    case 'topology': {
      const [{ loadProfile }, { renderTopology, topologyJson }] = await Promise.all([import('../../fixtures/load.ts'), import('../../reports/topology.ts')]);
      const profile = loadProfile(await knownVersion(args.version));
      out(args.json ? JSON.stringify(topologyJson(profile), null, 2) : renderTopology(profile));
      return EXIT.pass;
    }
    case 'conformance': {
      const { conformanceCommand } = await import('./commands/conformance.ts');
      return await conformanceCommand({ ...args, version: await knownVersion(args.version) }, io);
    }
    case 'explore': {
      const { exploreCommand } = await import('./commands/explore.ts');
      return await exploreCommand(args, io);
    }
    case 'up': {
      const { upCommand } = await importLive('live-stack', () => import('./commands/live-stack.ts'));
      const version = args.version === undefined ? {} : { version: await knownVersion(args.version) };
      return await upCommand({ detach: args.detach, supervise: args.supervise, backends: withEnvBackends(args), ...(args.scenario ? { scenario: args.scenario } : {}), ...version, ...(args.nomad ? { nomad: args.nomad } : {}) }, io);
    }
    case 'status': {
      const { statusCommand } = await importLive('live-stack', () => import('./commands/live-stack.ts'));
      return await statusCommand({ json: args.json }, io);
    }
    case 'down': {
      const { downCommand } = await importLive('live-stack', () => import('./commands/live-stack.ts'));
      return await downCommand(io);
    }
    case 'schema': {
      const { scenarioJsonSchema } = await import('../../sim/scenario/schema.ts');
      out(JSON.stringify(scenarioJsonSchema(), null, 2));
      return EXIT.pass;
    }
    case 'dr': {
      const { drCommand } = await import('./commands/dr.ts');
      return await drCommand(args, io);
    }
    case 'train': {
      const { trainCommand } = await import('./commands/train.ts');
      return await trainCommand(args, io);
    }
    case 'worker':
      await beforeLiveImport();
      return await (await import('./commands/worker.ts')).workerCommand(args, io);
    case 'tune':
      return await (await import('./commands/tune.ts')).tuneCommand(args, io);
  }
}

/**
 * A typed (operating or input) error in the CLI's words; undefined for anything else, which is a bug. Errors are
 * told apart by name and shape, not `instanceof`: from the bundle, the live stack's modules (and the copies of the
 * sim and provider modules they import) are loaded from the sources, so their classes are not the bundle's.
 */
async function describeError(e: unknown): Promise<{ message: string; hint?: string | undefined; lines?: string[] } | undefined> {
  if (e instanceof CliError) return { message: e.message, hint: e.hint };
  if (!(e instanceof Error)) return undefined;
  const hint = 'hint' in e && typeof e.hint === 'string' ? e.hint : undefined;
  if (e.name === 'CliError' || e.name === 'LiveUnsupportedError' || e.name === 'DistributedError' || e.name === 'TuneInputError') return { message: e.message, hint };
  if (e.name === 'ProviderError') return { message: `the live stack did not start: ${e.message}`, hint };
  if (e.name === 'ScenarioError' && 'issues' in e && Array.isArray(e.issues)) {
    const { formatIssue } = await import('../../sim/scenario/parse.ts');
    const n = e.issues.length;
    return { lines: (e.issues as Parameters<typeof formatIssue>[0][]).map(formatIssue), message: `${n} problem${n === 1 ? '' : 's'} in the scenario files; nothing was run or written.`, hint: 'fix the lines above; `twin validate FILE...` checks files without running them' };
  }
  if (e.name === 'FixtureError') return { message: e.message.replace(/^[A-Z_]+: /, '').replace(/\n {2}hint: .*$/s, ''), hint };
  const sys = e as NodeJS.ErrnoException;
  if (typeof sys.code === 'string' && typeof sys.syscall === 'string' && typeof sys.path === 'string') {
    return { message: `cannot ${sys.syscall} ${sys.path}: ${sys.code} (${sys.message.split(':')[1]?.split(',')[0]?.trim() ?? sys.code})`, hint: 'check the path and its permissions (for reports: --out names a directory you can write); nothing was left half-written' };
  }
  return undefined;
}

/** A bug: one line and where to report it; the stack only with TWIN_DEBUG=1. Exit 2. */
function internalError(e: unknown, command: Command | undefined, io: CliIo, env: CliEnv): number {
  const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
  const debug = env.TWIN_DEBUG === '1';
  io.stderr.write(
    `twin${command ? ` ${command}` : ''}: internal error: ${what}\n` +
      `  please report this, with the command line and the scenario files, to the twin's maintainers${debug ? '' : ' (TWIN_DEBUG=1 prints the stack)'}\n` +
      (debug && e instanceof Error && e.stack ? `${e.stack}\n` : ''),
  );
  return EXIT.badInput;
}

/** A version profile given on the command line, checked against the ones there are (named in the error). */
async function knownVersion(version: string | undefined): Promise<string> {
  const { listProfiles, DEFAULT_VERSION } = await import('../../fixtures/load.ts');
  if (version === undefined) return DEFAULT_VERSION;
  const known = listProfiles();
  if (known.includes(version)) return version;
  const { suggest } = await import('../../sim/util/suggest.ts');
  const close = suggest(version, known);
  throw new CliError(`unknown version profile \`${version}\`; the versions there are: ${known.map((v) => (v === DEFAULT_VERSION ? `${v} (the default)` : v)).join(', ')}`, close ? `did you mean --version ${close}?` : `for example --version ${DEFAULT_VERSION}`);
}

/** `twin --version`: the package's version, Node's, and the version profiles. */
async function versionText(): Promise<string> {
  const { listProfiles, DEFAULT_VERSION } = await import('../../fixtures/load.ts');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return [
    `twin ${pkg.version} (${pkg.name})`,
    `node ${process.version}`,
    `version profiles: ${listProfiles().map((v) => (v === DEFAULT_VERSION ? `${v} (default)` : v)).join(', ')}`,
    `runtime: ${BUNDLED ? 'prebuilt bundle (dist/twin.mjs, current with the sources)' : 'TypeScript sources through tsx'}`,
  ].join('\n');
}

/** `TWIN_BACKEND`'s choices with the command line's on top (a bad TWIN_BACKEND is bad input, exit 2). */
function withEnvBackends(args: ParsedArgs): BackendChoices {
  try {
    return { ...backendChoices([]), ...args.backends };
  } catch (e) {
    if (e instanceof BackendChoiceError) throw new CliError(e.message, e.hint);
    throw e;
  }
}

async function validateCommand(args: ParsedArgs, out: (s: string) => void, io: CliIo): Promise<number> {
  const [{ loadScenarioFile }, { ScenarioError, formatIssue }] = await Promise.all([import('../scenario/load.ts'), import('../../sim/scenario/parse.ts')]);
  let bad = 0;
  for (const file of args.files) {
    try {
      const s = loadScenarioFile(file);
      // A disaster-recovery scenario is checked as `twin dr` checks it (its sections, the runbook, the skipped steps).
      if (s.backups !== undefined || s.disaster !== undefined || s.recovery !== undefined) (await import('./commands/dr.ts')).checkDrSections(s);
      out(args.json ? JSON.stringify({ file, valid: true, name: s.name }) : `ok ${file} (${s.name})`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      bad++;
      if (args.json) out(JSON.stringify({ file, valid: false, issues: e.issues }));
      else io.stderr.write(`${e.issues.map(formatIssue).join('\n')}\n`);
    }
  }
  if (bad > 0 && !args.json) io.stderr.write(`twin validate: ${bad} of ${args.files.length} file${args.files.length === 1 ? '' : 's'} invalid\n  hint: fix the lines above; \`twin validate --help\` shows the options\n`);
  return bad > 0 ? EXIT.badInput : EXIT.pass;
}
