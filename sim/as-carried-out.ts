import type { SettledFault, SettledScenario } from './scenario/settled.ts';

/**
 * One fault of a live run as it was carried out, in scenario milliseconds: when its action began, and when its
 * target was back (the undo action, e.g. `start rabbitmq`, had finished). `backAtMs` is absent for a fault with
 * no `for`, or when the target never came back (its undo failed or never ran).
 */
export interface CarriedOutFault {
  /** Index into the scenario's `faults`. */
  index: number;
  appliedAtMs: number;
  backAtMs?: number;
}

/**
 * The scenario with each fault's timing as the live run carried it out, so that the simulation sees the same
 * outage lengths: a RabbitMQ that took 9 s of wall time to come back at 240× was down 36 minutes of scenario
 * time longer than planned, and the builds that arrived meanwhile fared as they would in such an outage. A fault
 * the live run did not carry out (no entry) keeps its planned timing; one whose target never came back lasts to
 * the end of the scenario. Pure: the scenario is not changed.
 */
export function scenarioAsCarriedOut(scenario: SettledScenario, carried: readonly CarriedOutFault[]): SettledScenario {
  const byIndex = new Map<number, CarriedOutFault>();
  for (const c of carried) {
    if (!Number.isInteger(c.index) || c.index < 0 || c.index >= scenario.faults.length) throw new RangeError(`scenarioAsCarriedOut: fault index ${c.index} is not one of the scenario's ${scenario.faults.length} faults`);
    if (byIndex.has(c.index)) throw new RangeError(`scenarioAsCarriedOut: fault ${c.index} carried out twice`);
    if (c.backAtMs !== undefined && c.backAtMs < c.appliedAtMs) throw new RangeError(`scenarioAsCarriedOut: fault ${c.index} back at ${c.backAtMs} ms before it was applied at ${c.appliedAtMs} ms`);
    byIndex.set(c.index, c);
  }
  const faults = scenario.faults.map((f, i): SettledFault => {
    const c = byIndex.get(i);
    if (c === undefined) return f;
    const atMs = Math.max(0, Math.round(c.appliedAtMs));
    if (f.forMs === undefined) return { ...f, atMs };
    const backAtMs = c.backAtMs ?? scenario.durationMs;
    return { ...f, atMs, forMs: Math.max(1, Math.round(backAtMs) - atMs) };
  });
  return { ...scenario, faults };
}
