import { dockerName } from '../symptoms/docker-ps.ts';
import { clockTime } from '../symptoms/clock-text.ts';
import { CAUSES, type SettledDrill } from './drill.ts';
import { grade, type Grade } from './grade.ts';
import { parseShellLine } from './shell.ts';
import type { AnswerRecord, TranscriptEntry } from './session.ts';

/**
 * What the drill's tutor says and counts, whatever runs the installation (the simulation's session, or the drill
 * console on the live stack): the trainee's `answer` judged against the root cause, the escalating `hint`s, and the
 * grade of a finished session. Pure.
 */

/** Virtual time the fixes take on top of their command (a container restart; Replicated stopping and starting the app). */
export const ACTION_MS = { container: 10_000, appStop: 60_000, appStart: 120_000, drain: 5_000 } as const;

/** Commands that neither look at nor change the installation: they do not count against the shortest path. */
const META: ReadonlySet<string> = new Set(['answer', 'hint', 'help', 'exit', 'noop']);

/** Whether a typed line counts against the shortest path (it looks at or changes the installation). */
export function countsAsWork(line: string): boolean {
  const p = parseShellLine(line);
  return p.kind === 'refusal' || !META.has(p.kind);
}

/**
 * `answer <container> <cause>`: judged against the drill's root cause. `resolve` is the canonical container a typed
 * name means (undefined: no such container). The record is undefined for a bare `answer` (its usage, nothing judged).
 */
export function judgeAnswer(drill: SettledDrill, words: readonly string[], resolve: (name: string) => string | undefined, atMs: number): { output: string; exit: number; record?: AnswerRecord } {
  if (words.length === 0) {
    return { output: ['usage: answer <container> <cause>', 'causes:', ...Object.entries(CAUSES).map(([k, v]) => `  ${k.padEnd(12)} ${v}`), 'containers: as `sudo docker ps` names them, or nomad_client'].join('\n'), exit: 2 };
  }
  const [name, cause] = words;
  const container = name === 'nomad_client' || name === 'nomad-client' ? 'nomad_client' : resolve(name!);
  const rc = drill.rootCause;
  const knownCause = cause !== undefined && cause in CAUSES;
  const correct = container === rc.container && cause === rc.cause;
  const record: AnswerRecord = { at_ms: atMs, text: words.join(' '), container, cause, correct };
  if (container === undefined) return { record, output: `answer: no container \`${name}\`: recorded as wrong (not credited). Names as \`sudo docker ps\` lists them, or nomad_client.`, exit: 1 };
  if (!knownCause) return { record, output: `answer: \`${cause ?? ''}\` is not a cause: recorded as wrong (not credited). Causes: ${Object.keys(CAUSES).join(', ')}.`, exit: 1 };
  return correct
    ? { record, output: `answer: ${dockerName(container)} ${cause}: that is the root cause. Now fix it; \`exit\` when you are done and the twin checks.`, exit: 0 }
    : { record, output: `answer: ${dockerName(container)} ${cause}: that is not the root cause of this ticket (not credited). Keep looking, or \`hint\`.`, exit: 1 };
}

/** The hint after `taken` hints: a nudge, a pointer, then the answer; past those, the answer again. */
export function hintText(drill: SettledDrill, taken: number): { output: string; counted: boolean } {
  const h = drill.hints;
  const levels = [`Hint 1 of 3 (nudge): ${h.nudge}`, `Hint 2 of 3 (pointer): ${h.pointer}`, `Hint 3 of 3 (the answer; the diagnosis is no longer credited): ${h.answer}`];
  if (taken >= levels.length) return { output: `No more hints. ${levels[levels.length - 1]}`, counted: false };
  return { output: levels[taken]!, counted: true };
}

/** What the fixes of a path take on top of its commands' time. */
export function actionMsOf(lines: readonly ReturnType<typeof parseShellLine>[]): number {
  let ms = 0;
  for (const p of lines) {
    if (p.kind === 'docker-lifecycle') ms += ACTION_MS.container * p.containers.length;
    else if (p.kind === 'replicated-app') ms += p.verb === 'stop' ? ACTION_MS.appStop : p.verb === 'start' ? ACTION_MS.appStart : 0;
    else if (p.kind === 'nomad-node-drain') ms += ACTION_MS.drain;
  }
  return ms;
}

/** The grade of a finished session: its answers, the verified fix, hints, and its time and commands against the drill's shortest path at `commandMs` a command. */
export function gradeSession(s: { drill: SettledDrill; answers: readonly AnswerRecord[]; fixed: boolean; hintsUsed: number; durationMs: number; commandMs: number; entries: readonly TranscriptEntry[] }): Grade {
  const shortest = s.drill.shortestPath.map((l) => parseShellLine(l));
  return grade({
    answers: s.answers.map((a) => a.correct),
    fixed: s.fixed,
    hintsUsed: s.hintsUsed,
    durationMs: s.durationMs,
    shortestMs: shortest.length * s.commandMs + actionMsOf(shortest),
    commandsUsed: s.entries.filter((e) => countsAsWork(e.command)).length,
    shortestCommands: s.drill.shortestPath.filter(countsAsWork).length,
  });
}

/** The ticket as the trainee first sees it, at `nowMs` on the Services machine's clock. */
export function drillBanner(d: SettledDrill, nowMs: number): string {
  return [
    `Drill: ${d.title} (${d.name}, ${d.difficulty})`,
    `Ticket, ${clockTime(nowMs)} on the Services machine's clock:`,
    ...d.ticket.split('\n').map((l) => `  > ${l}`),
    '',
    'You are on the Services machine. `help` lists the commands; `answer <container> <cause>` names the root cause;',
    '`hint` helps (it costs points); `exit` ends the drill and the twin checks your fix.',
  ].join('\n');
}
