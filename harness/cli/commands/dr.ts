import { CliError, type ParsedArgs } from '../args.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { InputFileError, loadScenarioFile, readBoundedFile } from '../../scenario/load.ts';
import { LIMITS } from '../../../sim/scenario/limits.ts';
import { ScenarioError } from '../../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import { loadAnyRunbook } from '../../../fixtures/runbooks/load.ts';
import { BUILDER_MECHANICS, chainRunbooks, isLiveRunbook, reassociatesBuilders, SIM_ONLY_MECHANICS, type AnyRunbook, type Runbook } from '../../../sim/models/dr/runbook.ts';
import { runDrRehearsal } from '../../../sim/models/dr/dr-report.ts';
import { interactiveRefusals } from '../../../sim/models/dr/admin-shell.ts';
import { renderDrFiles } from '../../../reports/dr.ts';
import { formatMs } from '../../../reports/index.ts';
import { formatDurationMs } from '../../../sim/util/duration.ts';
import type { CommandIo } from './conformance.ts';
import { tuningKeysWritten } from '../../../sim/scenario/tuning-keys.ts';
import { beforeLiveImport } from '../runtime.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { highestDocumentedPort } from '../../live/documented-port.ts';


/**
 * `twin dr <scenario.yaml>`: a disaster-recovery rehearsal in the simulation. Everything is checked before it
 * runs (the scenario, its DR sections, the runbook and the steps it skips); the files are written in one step.
 */
export async function drCommand(args: ParsedArgs, io: CommandIo & { stdin?: NodeJS.ReadableStream }): Promise<number> {
  if (args.files.length !== 1) throw new CliError(`twin dr takes one scenario file, got ${args.files.length}`, 'e.g. twin dr scenarios/dr/ebs-snapshot-restore.yaml');
  const scenario = loadScenarioFile(args.files[0]!, { seed: args.seed, mode: args.mode, command: 'dr' });
  const runbook = checkDrSections(scenario);
  const live = scenario.mode === 'live';
  if (live) checkLiveDr(scenario, runbook);
  if (args.portOffset !== undefined) checkPortOffset(args.portOffset, live, scenario);
  // Resolved once, before anything boots: the flag, else TWIN_DR_PORT_OFFSET (checked by the same rule), else the runners' default.
  const portOffset = args.portOffset ?? (live ? envPortOffset(scenario) : undefined);
  const interactive = args.interactive === true || args.script !== undefined;
  if (interactive) checkInteractiveDr(scenario);
  if (interactive && live) checkLiveInteractiveDr(scenario);
  const script = args.script === undefined ? undefined : readScript(args.script);
  io.stderr.write(`twin: dr ${scenario.name}: seed ${scenario.seed}, ${live ? `live at ${scenario.timeScale}× (the workload; the recovery runs in real time)` : `${formatDurationMs(scenario.durationMs)} of virtual time`}, runbook ${runbook.name} (${runbook.steps.length} steps)\n`);
  const outDir = args.out ?? 'reports/out';
  const session = interactive ? await (live ? runLiveSession(scenario, runbook as Runbook, script, outDir, io, portOffset) : runSession(scenario, runbook, script, outDir, io)) : undefined;
  const report = session ? session.report : live && isLiveRunbook(runbook) ? await runLive(scenario, runbook, io, portOffset) : runDrRehearsal(scenario, runbook);
  writeFilesAtomically(outDir, { ...renderDrFiles(report), ...session?.files });
  const b = report.builds;
  const lines = [
    `${report.passed ? 'PASS' : 'FAIL'} ${report.scenario}: RTO ${report.rto_ms === null ? 'never (not recovered)' : formatMs(report.rto_ms)} (target ${formatMs(report.dr.target_rto_ms)}), RPO ${report.rpo_ms === null ? 'none' : formatMs(report.rpo_ms)}; ` +
      `${b.triggered} builds (${b.succeeded} succeeded, ${b.failed} failed, ${b.lost} lost, ${b.stuck} stuck), ${report.webhooks_dropped} webhooks dropped; ` +
      `runbook ${report.runbook.filter((s) => s.status === 'done').length} done, ${report.dr.skipped_steps} skipped → ${outDir}/dr-report.json`,
  ];
  for (const s of report.runbook.filter((x) => x.status !== 'done')) lines.push(`  ${s.status} ${s.step}: ${s.consequence}`);
  for (const e of report.expectations.filter((x) => !x.passed)) lines.push(`  ✗ ${e.metric} ${e.op} ${String(e.expected)}: got ${String(e.actual)}${e.error ? ` (${e.error})` : ''}`);
  if (!report.passed) lines.push(`  Rerun: ${report.replay}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return report.passed ? 0 : 1;
}

/** The script of `--script FILE`, bounded as a scenario file is; a clear error when it cannot be read. */
function readScript(file: string): string {
  try {
    return readBoundedFile(file, LIMITS.scenarioFileBytes);
  } catch (e) {
    if (e instanceof InputFileError) throw new CliError(`cannot read the script ${file}: ${e.message}`, e.hint);
    throw e;
  }
}

/** `--interactive` / `--script`: the admin's shell (harness/dr/interactive.ts), then the report of their steps. */
async function runSession(scenario: SettledScenario, runbook: AnyRunbook, script: string | undefined, outDir: string, io: CommandIo & { stdin?: NodeJS.ReadableStream }) {
  const { runInteractiveDr, replacedByOperator } = await import('../../dr/interactive.ts');
  const note = replacedByOperator(scenario);
  if (note) io.stderr.write(`twin: --interactive: ${note}\n`);
  io.stdout.write('\n');
  const r = await runInteractiveDr(scenario, runbook, { ...(script !== undefined ? { script } : {}), input: io.stdin ?? process.stdin, output: io.stdout as NodeJS.WritableStream, outDir });
  io.stdout.write('\n');
  return r;
}

/** `--mode live` with `--interactive` / `--script`: the live rehearsal to the disaster, then the admin's steps done for real (harness/dr/live-interactive.ts). */
async function runLiveSession(scenario: SettledScenario, runbook: Runbook, script: string | undefined, outDir: string, io: CommandIo & { stdin?: NodeJS.ReadableStream }, portOffset: number | undefined) {
  await beforeLiveImport();
  const { replacedByOperator } = await import('../../dr/interactive.ts');
  const { runLiveInteractiveDr } = await import('../../dr/live-interactive.ts');
  const { LiveDrError } = await import('../../dr/live-rehearsal.ts');
  const note = replacedByOperator(scenario);
  if (note) io.stderr.write(`twin: --interactive: ${note}\n`);
  try {
    return await runLiveInteractiveDr(scenario, runbook, { ...(script !== undefined ? { script } : {}), input: io.stdin ?? process.stdin, output: io.stdout as NodeJS.WritableStream, outDir }, { log: (l) => io.stderr.write(`  ${l}\n`), ...(portOffset === undefined ? {} : { portOffset }) });
  } catch (e) {
    if (e instanceof LiveDrError) throw new CliError(e.message, e.hint);
    throw e;
  }
}

/** `TWIN_DR_PORT_OFFSET` (when no --port-offset): a whole number, checked as --port-offset is; undefined when unset. */
function envPortOffset(s: SettledScenario): number | undefined {
  const v = process.env.TWIN_DR_PORT_OFFSET;
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,5}$/.test(v)) throw new CliError(`TWIN_DR_PORT_OFFSET=${v} is not a port offset`, 'a whole number, e.g. TWIN_DR_PORT_OFFSET=26000 (default 16000)');
  checkPortOffset(Number(v), true, s, 'TWIN_DR_PORT_OFFSET=');
  return Number(v);
}

/** The live rehearsal, its operating errors (the stack did not boot, a wait ran out) as exit 2 with their hint. */
async function runLive(scenario: SettledScenario, runbook: Runbook, io: CommandIo, portOffset: number | undefined) {
  await beforeLiveImport();
  const { runLiveDr, LiveDrError } = await import('../../dr/live-rehearsal.ts');
  const run = scenario.backups!.strategy === 'tarball' ? (await import('../../dr/tarball-rehearsal.ts')).runTarballDr : runLiveDr;
  try {
    return await run(scenario, runbook, { log: (l) => io.stderr.write(`  ${l}\n`), ...(portOffset === undefined ? {} : { portOffset }) });
  } catch (e) {
    if (e instanceof LiveDrError) throw new CliError(e.message, e.hint);
    throw e;
  }
}

/**
 * `--port-offset N`: the live stack only (the simulation listens on nothing), and every documented port of the
 * scenario's profile at N + port still a port (at most 65535).
 */
export function checkPortOffset(offset: number, live: boolean, s: SettledScenario, named = '--port-offset '): void {
  if (!live) throw new CliError('--port-offset applies to the live rehearsal only (the simulation opens no ports)', 'add --mode live, or drop --port-offset');
  const highest = highestDocumentedPort(loadProfile(s.version));
  if (offset + highest > 65_535) throw new CliError(`${named}${offset} would publish the stack's documented port ${highest} at ${offset + highest}, beyond 65535`, `use at most ${65_535 - highest}, e.g. ${named}25000 (\`twin up\` uses 10000, \`twin dr --mode live\` 16000 by default)`);
}

/** Disasters and backups the live rehearsal carries out for real; the others run in the simulation only. */
const LIVE_DISASTERS = ['services_machine_terminated', 'ebs_corruption', 'settings_change', 'az_outage', 'region_outage'];
const LIVE_BACKUPS = ['ebs_snapshot', 'tarball', 'replica'];

/** What `twin dr --mode live` refuses beyond the simulation's checks, with the field and a hint. */
export function checkLiveDr(s: SettledScenario, runbook?: AnyRunbook): void {
  const issue = (field: string, message: string, hint: string) => ({ file: s.file, line: 1, column: 1, field, message, hint });
  const issues = [];
  if (!LIVE_BACKUPS.includes(s.backups!.strategy)) issues.push(issue('backups.strategy', `\`${s.backups!.strategy}\` backups are not rehearsed live yet (live today: ${LIVE_BACKUPS.join(', ')})`, 'run it in the simulation: drop --mode live'));
  if (!LIVE_DISASTERS.includes(s.disaster!.kind)) issues.push(issue('disaster.kind', `\`${s.disaster!.kind}\` is not rehearsed live yet`, `live today: ${LIVE_DISASTERS.join(', ')}; rehearse it in the simulation: drop --mode live`));
  // The live tarball rehearsal restores a terminated Services machine onto a clean install, or a changed one's settings
  // in place (circleci-restore on the running installation); a corrupted volume is restored from EBS snapshots.
  if (s.backups!.strategy === 'tarball' && s.disaster!.kind === 'ebs_corruption') issues.push(issue('disaster.kind', '`ebs_corruption` is rehearsed live with EBS snapshots, not tarballs (live tarballs restore a terminated Services machine, or a settings change in place)', 'use backups.strategy: ebs_snapshot, or rehearse it in the simulation: drop --mode live'));
  // Live, a settings change changes the context the pushes' jobs name (harness/dr/live-kinds/settings-change.ts) or the
  // settings of `share` of the workload's projects (harness/dr/live-kinds/project-settings.ts).
  // The live cold fail-over (harness/dr/live-kinds/az-outage.ts): a replica fails over when its primary's zone is lost.
  if ((s.disaster!.kind === 'az_outage') !== (s.backups!.strategy === 'replica') && LIVE_BACKUPS.includes(s.backups!.strategy) && LIVE_DISASTERS.includes(s.disaster!.kind)) {
    issues.push(issue('backups.strategy', `live, \`az_outage\` is rehearsed with a replica and a replica with \`az_outage\` (here: ${s.backups!.strategy} backups, ${s.disaster!.kind})`, 'backups: { strategy: replica, lag: 30s } with disaster.kind: az_outage, or rehearse it in the simulation: drop --mode live'));
  }
  // A region outage live (harness/dr/live-kinds/region-outage.ts) restores EBS snapshots copied to the other region.
  if (s.disaster!.kind === 'region_outage' && (s.backups!.strategy !== 'ebs_snapshot' || s.backups!.copy === undefined) && LIVE_BACKUPS.includes(s.backups!.strategy)) {
    issues.push(issue(s.backups!.strategy === 'ebs_snapshot' ? 'backups.copy' : 'backups.strategy', `live, \`region_outage\` is rehearsed with EBS snapshots copied to another region (here: ${s.backups!.strategy} backups${s.backups!.strategy === 'ebs_snapshot' ? ' without `copy`' : ''})`, 'backups: { strategy: ebs_snapshot, every: 1h, copy: { region: us-west-2, takes: 20m } }, or rehearse it in the simulation: drop --mode live'));
  }
  // The builders are rotated live on the EBS path (harness/dr/builders-rotation.ts); not after a tarball or a fail-over yet.
  if (runbook !== undefined && reassociatesBuilders(runbook) && s.backups!.strategy !== 'ebs_snapshot' && LIVE_BACKUPS.includes(s.backups!.strategy)) {
    issues.push(issue('recovery.then', `the builders' re-association (${runbook.steps.filter((x) => (BUILDER_MECHANICS as readonly string[]).includes(x.does)).map((x) => x.name).join(', ')}) is rehearsed live after an EBS snapshot restore only (here: ${s.backups!.strategy} backups)`, 'use backups.strategy: ebs_snapshot, or rehearse it in the simulation: drop --mode live'));
  }
  const simOnly = runbook?.steps.filter((x) => (SIM_ONLY_MECHANICS as readonly string[]).includes(x.does)).map((x) => x.name) ?? [];
  if (simOnly.length > 0) issues.push(issue('recovery.runbook', `runbook ${runbook!.name} has steps the live rehearsal does not carry out: ${simOnly.join(', ')}`, 'rehearse it in the simulation: drop --mode live'));
  if (issues.length > 0) throw new ScenarioError(issues);
}

/**
 * What the live rehearsal takes typed (harness/dr/live-interactive.ts), disaster and backups: the EBS restore of a
 * terminated Services machine, and the cold fail-over to a replica after its zone's outage.
 */
export const LIVE_INTERACTIVE: readonly { disaster: string; backups: string; what: string }[] = [
  { disaster: 'services_machine_terminated', backups: 'ebs_snapshot', what: 'the EBS restore of a terminated Services machine' },
  { disaster: 'az_outage', backups: 'replica', what: 'the cold fail-over to a replica' },
];

/** What `--interactive` / `--script` refuse with --mode live beyond the simulation's shell, with the field and a hint. */
export function checkLiveInteractiveDr(s: SettledScenario): void {
  const { kind } = s.disaster!;
  const { strategy } = s.backups!;
  if (LIVE_INTERACTIVE.some((x) => x.disaster === kind && x.backups === strategy)) return;
  const takes = LIVE_INTERACTIVE.map((x) => `${x.what} (${x.disaster} with ${x.backups} backups)`).join(' and ');
  const sameKind = LIVE_INTERACTIVE.find((x) => x.disaster === kind);
  const [field, message] = sameKind
    ? ['backups.strategy', `live, \`${kind}\` is typed with ${sameKind.backups} backups, not \`${strategy}\` yet (the live typed rehearsal takes ${takes})`]
    : ['disaster.kind', `the live typed rehearsal takes ${takes}, not \`${kind}\` with ${strategy} backups yet`];
  throw new ScenarioError([{ file: s.file, line: 1, column: 1, field, message, hint: 'type it in the simulation (drop --mode live), or let the runbook run it live (drop --interactive / --script)' }]);
}

/** What `--interactive` / `--script` refuse (the shell's model: `sim/models/dr/admin-shell.ts`), with the field and a hint. */
export function checkInteractiveDr(s: SettledScenario): void {
  const refused = interactiveRefusals(s);
  if (refused.length > 0) throw new ScenarioError(refused.map((r) => ({ file: s.file, line: 1, column: 1, ...r })));
}

/** The DR sections a rehearsal needs, and the runbook they name with the steps they skip; located errors otherwise. */
export function checkDrSections(s: SettledScenario, load: (name: string) => AnyRunbook = loadAnyRunbook): AnyRunbook {
  const issue = (field: string, message: string, hint: string) => ({ file: s.file, line: 1, column: 1, field, message, hint });
  const missing = (['backups', 'disaster', 'recovery'] as const).filter((k) => s[k] === undefined);
  if (missing.length > 0) {
    throw new ScenarioError(missing.map((k) => issue(k, `a DR rehearsal needs \`${k}\``, 'e.g. backups: { strategy: ebs_snapshot, every: 1h }, disaster: { at: 3h, kind: services_machine_terminated }, recovery: { runbook: restore-from-ebs, after: 5m }')));
  }
  const { backups, disaster, recovery } = s as Required<Pick<SettledScenario, 'backups' | 'disaster' | 'recovery'>>;
  const issues = [];
  if (backups.strategy === 'replica') {
    if (backups.lagMs >= disaster.atMs) issues.push(issue('backups.lag', `the replica's lag of ${formatDurationMs(backups.lagMs)} reaches back before the run began (the disaster is at ${formatDurationMs(disaster.atMs)})`, 'shorten backups.lag or move disaster.at later'));
  } else if (backups.everyMs <= 0) issues.push(issue('backups.every', 'the backup interval must be positive', 'e.g. every: 1h'));
  else if (backups.everyMs >= disaster.atMs) issues.push(issue('backups.every', `no backup is taken before the disaster at ${formatDurationMs(disaster.atMs)} (the first is due at ${formatDurationMs(backups.everyMs)})`, 'shorten backups.every or move disaster.at later'));
  // The rehearsal models webhooks, builds, Nomad and the Services machine's volume; what it would silently ignore is refused.
  if (s.faults.length > 0) issues.push(issue('faults', 'a DR rehearsal does not apply `faults` (the disaster is its fault)', 'run the faults with `twin run` in a scenario of their own'));
  if (s.workload.scheduled.length > 0) issues.push(issue('workload.scheduled', 'a DR rehearsal does not run scheduled workflows yet', 'use push arrivals only'));
  const tuning = new Set(tuningKeysWritten(s));
  if (tuning.has('autoscaling')) issues.push(issue('autoscaling', 'a DR rehearsal keeps the fleet fixed: autoscaling is not modelled there yet', 'remove `autoscaling`'));
  if (tuning.has('cost')) issues.push(issue('cost', 'a DR rehearsal reports no cost yet', 'remove `cost`; run the workload with `twin run` for its cost'));
  if (tuning.has('topology.scheduler')) issues.push(issue('topology.scheduler', 'a DR rehearsal models the fleet as one pool of CPU: the scheduler algorithm does not apply there', 'remove `topology.scheduler`'));
  if (tuning.has('topology.nomad_clients.instance_type') || tuning.has('topology.nomad_clients.hour_usd')) issues.push(issue('topology.nomad_clients', 'a DR rehearsal reports no cost: instance types and prices do not apply there yet', 'give cpus and memory_gb instead'));
  for (const key of ['topology.vm_service.boot_time', 'topology.vm_service.daily_cycle_at', 'workload.jobs[].docker_layer_caching'] as const) {
    if (tuning.has(key)) issues.push(issue(key, `a DR rehearsal does not model vm-service capacity: \`${key}\` acts in \`twin run\` only`, `remove it, or run the workload with \`twin run\``));
  }
  if (disaster.atMs >= s.durationMs) issues.push(issue('disaster.at', `the disaster at ${formatDurationMs(disaster.atMs)} is not before the end of the workload (${formatDurationMs(s.durationMs)})`, 'move it earlier or lengthen duration'));
  if (issues.length > 0) throw new ScenarioError(issues);
  const loadNamed = (name: string, field: string): AnyRunbook => {
    try {
      return load(name);
    } catch (e) {
      if (e instanceof ScenarioError) throw new ScenarioError(e.issues.map((i) => ({ ...i, message: `${i.message} (named by ${s.file} ${field})` })));
      throw e;
    }
  };
  const chained = chainRunbooks(loadNamed(recovery.runbook, 'recovery.runbook'), recovery.then.map((n, i) => loadNamed(n, `recovery.then[${i}]`)));
  if (!chained.runbook) throw new ScenarioError([issue('recovery.then', `the chained runbooks repeat the step names ${chained.repeated.join(', ')}`, 'step names must be unique across recovery.runbook and recovery.then')]);
  const runbook = chained.runbook;
  const names = runbook.steps.map((x) => x.name);
  const unknown = [
    ...recovery.skip.map((n, i) => ({ n, field: `recovery.skip[${i}]` })),
    ...recovery.order.map((n, i) => ({ n, field: `recovery.order[${i}]` })),
  ].filter(({ n }) => !names.includes(n));
  if (unknown.length > 0) throw new ScenarioError(unknown.map(({ n, field }) => issue(field, `runbook ${runbook.name} has no step \`${n}\``, `its steps: ${names.join(', ')}`)));
  const both = recovery.order.findIndex((n) => recovery.skip.includes(n));
  if (both !== -1) throw new ScenarioError([issue(`recovery.order[${both}]`, `\`${recovery.order[both]}\` is both skipped and ordered`, 'remove it from recovery.skip or from recovery.order')]);
  const repeated = recovery.order.findIndex((n, i) => recovery.order.indexOf(n) !== i);
  if (repeated !== -1) throw new ScenarioError([issue(`recovery.order[${repeated}]`, `\`${recovery.order[repeated]}\` is ordered twice`, 'each step runs once')]);
  return runbook;
}
