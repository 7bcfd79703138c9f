import { describe, expect, it } from 'vitest';
import { scenarioAsCarriedOut } from './as-carried-out.ts';
import { loadScenarioFile } from '../harness/scenario/load.ts';

const scenario = loadScenarioFile(new URL('../scenarios/failures/kill-rabbitmq.yaml', import.meta.url).pathname);

describe('scenarioAsCarriedOut', () => {
  it('times each fault as carried out: applied then, lasting until its target was back', () => {
    // picard-dispatcher stopped a second late, back on time; RabbitMQ back 6 min late (its start took 6 s at 60×).
    const s = scenarioAsCarriedOut(scenario, [
      { index: 0, appliedAtMs: 2_401_000, backAtMs: 4_201_000 },
      { index: 1, appliedAtMs: 3_600_000, backAtMs: 4_562_000 },
    ]);
    expect(s.faults.map((f) => [f.atMs, f.forMs])).toEqual([
      [2_401_000, 1_800_000],
      [3_600_000, 962_000],
    ]);
    expect(s.faults[1]).toMatchObject({ action: 'kill', target: 'rabbitmq' });
    // The planned scenario is untouched.
    expect(scenario.faults[1]!.forMs).toBe(600_000);
  });

  it('keeps a fault not carried out as planned, and lets one whose target never came back last to the end', () => {
    const s = scenarioAsCarriedOut(scenario, [{ index: 1, appliedAtMs: 3_600_000 }]);
    expect(s.faults[0]).toEqual(scenario.faults[0]);
    expect(s.faults[1]!.atMs + s.faults[1]!.forMs!).toBe(scenario.durationMs);
  });

  it('throws on a fault index the scenario does not have, or a target back before its fault', () => {
    expect(() => scenarioAsCarriedOut(scenario, [{ index: 2, appliedAtMs: 0 }])).toThrow(/fault index 2 is not one of the scenario's 2 faults/);
    expect(() => scenarioAsCarriedOut(scenario, [{ index: 0, appliedAtMs: 10, backAtMs: 5 }])).toThrow(/back at 5 ms before it was applied/);
    expect(() => scenarioAsCarriedOut(scenario, [{ index: 0, appliedAtMs: 1 }, { index: 0, appliedAtMs: 2 }])).toThrow(/carried out twice/);
  });
});
