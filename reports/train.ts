import type { TrainingResult } from '../sim/training/session.ts';
import { SCORE_PARTS } from '../sim/training/grade.ts';
import { formatDurationMs } from '../sim/util/duration.ts';
import { dockerName } from '../sim/symptoms/docker-ps.ts';

/**
 * The writers of `twin train`: train-report.json (DESIGN.md's contract plus the details a trainer reads),
 * the transcript as JSON and Markdown, and the instructor's summary across trainees. Pure: result in, text out.
 */

/** `train-report.json`: DESIGN.md's fields first, then the breakdown. */
export interface TrainReport {
  drill: string;
  seed: number;
  mode: 'sim' | 'live';
  root_cause_correct: boolean;
  fixed: boolean;
  score: number;
  hints_used: number;
  duration_ms: number;
  commands: { at_ms: number; command: string; exit: number }[];
  title: string;
  difficulty: string;
  command_ms: number;
  root_cause: { container: string; cause: string };
  answers: { at_ms: number; answer: string; correct: boolean }[];
  checks: { check: string; passed: boolean; observed: string }[];
  score_parts: Record<keyof typeof SCORE_PARTS, number>;
  notes: string[];
  ended_by: string;
  replay: string;
}

/** How to run the same session again (the seed and the script of the typed lines). */
export function replayLine(r: TrainingResult, scriptFile: string): string {
  return `twin train --drill ${r.drill.name} --seed ${r.seed} --command-time ${formatDurationMs(r.commandMs)} --script ${scriptFile}`;
}

export function trainReport(r: TrainingResult, mode: 'sim' | 'live'): TrainReport {
  return {
    drill: r.drill.name,
    seed: r.seed,
    mode,
    root_cause_correct: r.grade.rootCauseCorrect,
    fixed: r.fixed,
    score: r.grade.score,
    hints_used: r.hintsUsed,
    duration_ms: r.durationMs,
    commands: r.entries.map((e) => ({ at_ms: e.at_ms, command: e.command, exit: e.exit })),
    title: r.drill.title,
    difficulty: r.drill.difficulty,
    command_ms: r.commandMs,
    root_cause: r.drill.rootCause,
    answers: r.answers.map((a) => ({ at_ms: a.at_ms, answer: a.text, correct: a.correct })),
    checks: r.checks,
    score_parts: r.grade.parts,
    notes: r.grade.notes,
    ended_by: r.endedBy,
    replay: replayLine(r, 'session.txt'),
  };
}

export function trainReportJson(r: TrainingResult, mode: 'sim' | 'live'): string {
  return `${JSON.stringify(trainReport(r, mode), null, 2)}\n`;
}

/** The typed lines of a session, one a line: the script that replays it (`--script`). */
export function sessionScript(r: TrainingResult): string {
  return r.entries.map((e) => `${e.command}\n`).join('');
}

/** The transcript as JSON: every command with what the shell printed. */
export function transcriptJson(r: TrainingResult): string {
  return `${JSON.stringify({ drill: r.drill.name, seed: r.seed, ticket: r.drill.ticket, entries: r.entries }, null, 2)}\n`;
}

const PROMPT = 'ubuntu@ip-172-31-72-162:~$';

/** The transcript as Markdown: the ticket, the session as a console, the verdict and the grading. */
export function transcriptMarkdown(r: TrainingResult): string {
  const g = r.grade;
  const rc = r.drill.rootCause;
  const lines: string[] = [
    `# Drill ${r.drill.name}: ${r.drill.title}`,
    '',
    `Difficulty ${r.drill.difficulty}; seed ${r.seed}; each command took ${formatDurationMs(r.commandMs)} of the installation's time; the session lasted ${formatDurationMs(r.durationMs)} (${r.entries.length} commands, ended by ${r.endedBy}).`,
    '',
    '## Ticket',
    '',
    ...r.drill.ticket.split('\n').map((l) => `> ${l}`),
    '',
    '## Session',
    '',
    '```console',
  ];
  for (const e of r.entries) {
    lines.push(`${PROMPT} ${e.command}`);
    if (e.output !== '') lines.push(e.output.replaceAll('```', '` ` `'));
  }
  lines.push('```', '', '## Verdict', '');
  lines.push(`**Score ${g.score}/100.** Root cause: ${g.rootCauseCorrect ? 'named correctly' : '**not credited**'}; fix: ${r.fixed ? 'verified by the twin' : '**not verified**'}.`, '');
  if (!g.rootCauseCorrect) {
    const last = r.answers[r.answers.length - 1];
    lines.push(last === undefined ? `No root cause was named. It was \`${dockerName(rc.container)}\` (${rc.cause}).` : `Wrong diagnosis: the last answer was \`${last.text}\`; the root cause was \`${dockerName(rc.container)}\` (${rc.cause}).`, '');
  }
  if (r.answers.length > 0) {
    lines.push('| at | answer | verdict |', '| --- | --- | --- |');
    for (const a of r.answers) lines.push(`| ${formatDurationMs(a.at_ms)} | \`${a.text}\` | ${a.correct ? 'right' : 'wrong (not credited)'} |`);
    lines.push('');
  }
  lines.push('| check | passed | observed |', '| --- | --- | --- |');
  for (const c of r.checks) lines.push(`| ${c.check} | ${c.passed ? 'yes' : 'no'} | ${c.observed} |`);
  lines.push('', '| part | points | of |', '| --- | --- | --- |');
  for (const [k, max] of Object.entries(SCORE_PARTS)) lines.push(`| ${k} | ${g.parts[k as keyof typeof SCORE_PARTS]} | ${max} |`);
  lines.push('', ...g.notes.map((n) => `- ${n}`), '', `Replay: \`${replayLine(r, 'session.txt')}\``, '');
  return lines.join('\n');
}

/** One trainee's report as the summary reads it, with where it came from. */
export interface SummaryRow {
  source: string;
  report: TrainReport;
}

/** The instructor's summary: one row per trainee's report, then per drill the mean score and how many solved it. */
export function instructorSummaryMarkdown(rows: readonly SummaryRow[]): string {
  const out = ['# Training summary', '', `${rows.length} session${rows.length === 1 ? '' : 's'}.`, '', '| trainee (report) | drill | score | root cause | fixed | hints | commands | time |', '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const { source, report: r } of rows) {
    out.push(`| ${source} | ${r.drill} | ${r.score} | ${r.root_cause_correct ? 'right' : 'wrong or none'} | ${r.fixed ? 'yes' : 'no'} | ${r.hints_used} | ${r.commands.length} | ${formatDurationMs(r.duration_ms)} |`);
  }
  out.push('', '| drill | sessions | mean score | solved (right and fixed) | wrong diagnoses |', '| --- | --- | --- | --- | --- |');
  for (const d of perDrill(rows)) out.push(`| ${d.drill} | ${d.sessions} | ${d.mean_score} | ${d.solved} | ${d.wrong_diagnoses} |`);
  return `${out.join('\n')}\n`;
}

export function instructorSummaryJson(rows: readonly SummaryRow[]): string {
  return `${JSON.stringify({ sessions: rows.map((r) => ({ source: r.source, drill: r.report.drill, score: r.report.score, root_cause_correct: r.report.root_cause_correct, fixed: r.report.fixed, hints_used: r.report.hints_used, commands: r.report.commands.length, duration_ms: r.report.duration_ms })), drills: perDrill(rows) }, null, 2)}\n`;
}

function perDrill(rows: readonly SummaryRow[]): { drill: string; sessions: number; mean_score: number; solved: number; wrong_diagnoses: number }[] {
  const by = new Map<string, TrainReport[]>();
  for (const { report } of rows) by.set(report.drill, [...(by.get(report.drill) ?? []), report]);
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([drill, rs]) => ({
      drill,
      sessions: rs.length,
      mean_score: Math.round((rs.reduce((s, r) => s + r.score, 0) / rs.length) * 10) / 10,
      solved: rs.filter((r) => r.root_cause_correct && r.fixed).length,
      wrong_diagnoses: rs.reduce((s, r) => s + (r.answers ?? []).filter((a) => !a.correct).length, 0),
    }));
}
