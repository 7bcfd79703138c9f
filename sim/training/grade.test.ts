import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { grade, SCORE_PARTS, type GradeInput } from './grade.ts';

const PERFECT: GradeInput = { answers: [true], fixed: true, hintsUsed: 0, durationMs: 120_000, shortestMs: 120_000, commandsUsed: 3, shortestCommands: 3 };

describe('grade', () => {
  it('gives 100 for the shortest path: right first time, fixed, no hints', () => {
    expect(grade(PERFECT)).toMatchObject({ score: 100, rootCauseCorrect: true, parts: SCORE_PARTS });
  });

  it('does not credit a wrong diagnosis, and says so', () => {
    const g = grade({ ...PERFECT, answers: [false] });
    expect(g.rootCauseCorrect).toBe(false);
    expect(g.parts.diagnosis).toBe(0);
    expect(g.notes[0]).toBe('Diagnosis: the root cause named last is wrong: not credited.');
    expect(g.score).toBe(60);
  });

  it('costs each wrong answer before the right one', () => {
    expect(grade({ ...PERFECT, answers: [false, false, true] }).parts.diagnosis).toBe(20);
  });

  it('withholds the diagnosis once the answer hint gave it away, and charges the nudge and pointer', () => {
    const g = grade({ ...PERFECT, hintsUsed: 3 });
    expect(g.parts).toMatchObject({ diagnosis: 0, hints: 0 });
    expect(grade({ ...PERFECT, hintsUsed: 1 }).parts.hints).toBe(6);
  });

  it('scales time and commands against the shortest path', () => {
    expect(grade({ ...PERFECT, durationMs: 4 * 120_000 }).parts.time).toBe(0);
    expect(grade({ ...PERFECT, durationMs: 1.5 * 120_000 }).parts.time).toBe(10);
    expect(grade({ ...PERFECT, commandsUsed: 6 }).parts.commands).toBe(5);
  });

  it('gives nothing for speed when nothing was diagnosed or fixed', () => {
    expect(grade({ ...PERFECT, answers: [], fixed: false }).score).toBe(0);
  });

  it('stays within 0..100 and never rewards more hints or more wrong answers', () => {
    const input = fc.record({
      answers: fc.array(fc.boolean(), { maxLength: 6 }),
      fixed: fc.boolean(),
      hintsUsed: fc.integer({ min: 0, max: 3 }),
      durationMs: fc.integer({ min: 0, max: 10_000_000 }),
      shortestMs: fc.integer({ min: 1, max: 1_000_000 }),
      commandsUsed: fc.integer({ min: 0, max: 500 }),
      shortestCommands: fc.integer({ min: 1, max: 20 }),
    });
    fc.assert(
      fc.property(input, (g) => {
        const s = grade(g).score;
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(100);
        if (g.hintsUsed < 3) expect(grade({ ...g, hintsUsed: g.hintsUsed + 1 }).score).toBeLessThanOrEqual(s);
        expect(grade({ ...g, answers: [false, ...g.answers] }).score).toBeLessThanOrEqual(s);
      }),
    );
  });
});
