import { runInteractive, runScript, type ConsoleOut } from '../train/console.ts';
import { DrAdminShell } from '../../sim/models/dr/admin-shell.ts';
import { runDrRehearsal, type DrReport } from '../../sim/models/dr/dr-report.ts';
import type { AnyRunbook } from '../../sim/models/dr/runbook.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { formatDurationMs } from '../../sim/util/duration.ts';

/**
 * `twin dr <scenario> --interactive` (or `--script FILE`): the admin's shell of `admin-shell.ts` on a terminal or
 * replayed from a file, then the rehearsal of the whole day from the operator's steps (their order, the others
 * skipped, their choice of private IP), reported as `twin dr` reports. I/O only: the steps and their consequences
 * are the simulation's.
 */
export interface InteractiveDrResult {
  report: DrReport;
  /** Files written beside the report: the typed lines (replayable with --script) and the transcript. */
  files: Record<string, string>;
  shell: DrAdminShell;
}

/** What the scenario file says about the recovery that the person's steps replace (said, never silently dropped). */
export function replacedByOperator(scenario: SettledScenario): string | undefined {
  const r = scenario.recovery;
  if (!r) return undefined;
  const parts = [
    ...(r.skip.length > 0 ? [`recovery.skip [${r.skip.join(', ')}]`] : []),
    ...(r.order.length > 0 ? [`recovery.order [${r.order.join(', ')}]`] : []),
    ...(r.reassignPrivateIp ? ['recovery.reassign_private_ip: true'] : []),
  ];
  return parts.length === 0 ? undefined : `the steps you type replace ${parts.join(', ')} of ${scenario.file} (skipped: what you do not do; the IP: run-instances with or without --private-ip-address)`;
}

export async function runInteractiveDr(
  scenario: SettledScenario,
  runbook: AnyRunbook,
  io: { script?: string; input: NodeJS.ReadableStream; output: ConsoleOut & NodeJS.WritableStream & { isTTY?: boolean }; outDir: string },
): Promise<InteractiveDrResult> {
  const shell = new DrAdminShell(scenario, runbook);
  if (io.script !== undefined) await runScript(shell, io.script, io.output);
  else await runInteractive(shell, io.input, io.output);
  const report = runDrRehearsal(shell.finalScenario(), runbook);
  report.replay = `twin dr ${scenario.file} --seed ${scenario.seed} --script ${io.outDir}/session.txt`;
  return { report, shell, files: { 'session.txt': sessionText(shell), 'transcript.md': transcript(scenario, runbook, shell, report) } };
}

/** The typed lines, replayable with --script (in the simulation or live: the rehearsal's names). */
export function sessionText(shell: DrAdminShell): string {
  return `${shell.entries.map((e) => e.command).join('\n')}\n${shell.endedBy === 'exit' ? '' : '# (ended by the end of input)\n'}`;
}

/** transcript.md: each command with its time (`at`: the scenario's, or live the wall time since the disaster), exit and step; the runbook's compliance. */
export function transcript(scenario: SettledScenario, runbook: AnyRunbook, shell: DrAdminShell, report: DrReport, at: (i: number) => string = (i) => formatDurationMs(shell.entries[i]!.at_ms)): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const lines = [
    `# ${scenario.name}: interactive recovery (runbook ${runbook.name}, seed ${scenario.seed})`,
    '',
    `Disaster at ${formatDurationMs(scenario.disaster!.atMs)}; ${shell.entries.length} commands, ${shell.stepsDone.length} of ${runbook.steps.length} steps done; ended by ${shell.endedBy ?? 'exit'}.`,
    '',
    '| at | command | exit | step |',
    '| --- | --- | --- | --- |',
    ...shell.entries.map((e, i) => `| ${at(i)} | \`${cell(e.command)}\` | ${e.exit} | ${e.step ?? ''} |`),
    '',
    '## Runbook compliance',
    '',
    '| step | status | consequence |',
    '| --- | --- | --- |',
    ...report.runbook.map((s) => `| ${s.step} | ${s.status} | ${cell(s.consequence)} |`),
    '',
  ];
  return lines.join('\n');
}
