/**
 * The score of a drill, 0–100, from five parts a trainer can explain: the diagnosis (40), the fix (30), the
 * time taken (10), the commands used against the shortest diagnostic path (10) and the hints taken (10).
 */

/** The parts' maxima. */
export const SCORE_PARTS = { diagnosis: 40, fix: 30, time: 10, commands: 10, hints: 10 } as const;
/** A wrong answer before the right one costs this much of the diagnosis. */
export const WRONG_ANSWER_COST = 10;
/** What each hint level costs of the hints part; the third (the answer) forfeits the diagnosis instead. */
export const HINT_COSTS = [4, 6] as const;
/** Time is full marks up to this multiple of the shortest path's time and none from `TIME_ZERO_AT` on. */
export const TIME_FULL_UP_TO = 1.5;
export const TIME_ZERO_AT = 4;

/** What the session observed, as grading needs it. */
export interface GradeInput {
  /** Answers in order, each right or wrong. */
  answers: readonly boolean[];
  /** The twin verified the fix. */
  fixed: boolean;
  /** Hint levels taken (0–3). */
  hintsUsed: number;
  /** Virtual time of the session, and of the shortest path at the same pace. */
  durationMs: number;
  shortestMs: number;
  /** Commands that did something (not `help`, `hint`, `answer`, blank), and the shortest path's. */
  commandsUsed: number;
  shortestCommands: number;
}

export interface Grade {
  score: number;
  rootCauseCorrect: boolean;
  parts: Record<keyof typeof SCORE_PARTS, number>;
  /** Why each part is what it is, one sentence each (the transcript's grading section). */
  notes: string[];
}

/** Grades a session. Pure; each part is clamped to its range and the total is their sum, rounded. */
export function grade(g: GradeInput): Grade {
  const notes: string[] = [];
  const firstRight = g.answers.indexOf(true);
  const lastRight = g.answers.length > 0 && g.answers[g.answers.length - 1] === true;
  const rootCauseCorrect = lastRight;
  let diagnosis = 0;
  if (!lastRight) {
    notes.push(g.answers.length === 0 ? 'Diagnosis: no root cause was named: not credited.' : 'Diagnosis: the root cause named last is wrong: not credited.');
  } else if (g.hintsUsed >= 3) {
    notes.push('Diagnosis: right, but only after the answer hint gave it away: not credited.');
  } else {
    const wrong = firstRight;
    diagnosis = Math.max(0, SCORE_PARTS.diagnosis - WRONG_ANSWER_COST * wrong);
    notes.push(wrong === 0 ? 'Diagnosis: right at the first answer.' : `Diagnosis: right after ${wrong} wrong answer${wrong === 1 ? '' : 's'} (−${WRONG_ANSWER_COST} each).`);
  }
  const fix = g.fixed ? SCORE_PARTS.fix : 0;
  notes.push(g.fixed ? 'Fix: verified by the twin.' : 'Fix: the twin did not see the installation recover: not credited.');
  const ratio = g.shortestMs === 0 ? 1 : g.durationMs / g.shortestMs;
  const time = SCORE_PARTS.time * clamp01((TIME_ZERO_AT - ratio) / (TIME_ZERO_AT - TIME_FULL_UP_TO));
  notes.push(`Time: ${ratio.toFixed(2)}× the shortest path's (full marks up to ${TIME_FULL_UP_TO}×, none from ${TIME_ZERO_AT}×).`);
  const commands = g.commandsUsed === 0 ? 0 : SCORE_PARTS.commands * Math.min(1, g.shortestCommands / g.commandsUsed);
  notes.push(`Commands: ${g.commandsUsed} against the shortest path's ${g.shortestCommands}.`);
  let hints = SCORE_PARTS.hints;
  for (let i = 0; i < Math.min(g.hintsUsed, HINT_COSTS.length); i++) hints -= HINT_COSTS[i]!;
  notes.push(g.hintsUsed === 0 ? 'Hints: none taken.' : `Hints: ${g.hintsUsed} taken (${['nudge', 'pointer', 'answer'].slice(0, g.hintsUsed).join(', ')}).`);
  // Without a diagnosis and a fix there is nothing to be quick or economical about.
  const effort = rootCauseCorrect || g.fixed ? 1 : 0;
  const parts = { diagnosis, fix, time: round1(time * effort), commands: round1(commands * effort), hints: hints * effort };
  const score = Math.round(parts.diagnosis + parts.fix + parts.time + parts.commands + parts.hints);
  return { score: Math.max(0, Math.min(100, score)), rootCauseCorrect, parts, notes };
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, x));
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
