import { Twin, type TwinOptions } from './twin.ts';
import { buildReport, withSeverity } from './report/build-report.ts';
import { classify } from './severity.ts';
import type { Report } from './report/types.ts';
import type { SettledScenario } from './scenario/settled.ts';
import type { Profile } from '../fixtures/schema.ts';
import { ScenarioError } from './scenario/parse.ts';
import { LIMITS, overLimitMessage } from './scenario/limits.ts';
import { formatDurationMs } from './util/duration.ts';

/**
 * A run that hit its event limit (`max_run_events`): its report would be cut short, so there is none. A kind
 * of ScenarioError, so the CLI reports it like bad input (exit 2, no stack trace).
 */
export class RunLimitError extends ScenarioError {
  constructor(
    scenario: SettledScenario,
    readonly eventsFired: number,
    readonly virtualMs: number,
    readonly maxEvents: number,
  ) {
    const limit = maxEvents === LIMITS.runEvents.value ? LIMITS.runEvents : { ...LIMITS.runEvents, value: maxEvents };
    super([
      {
        file: scenario.file,
        line: 1,
        column: 1,
        field: '',
        message: `${overLimitMessage(limit, `the run (${eventsFired} events by ${formatDurationMs(virtualMs)} of virtual time)`)}: it was stopped and has no report`,
        hint: LIMITS.runEvents.hint,
      },
    ]);
    this.name = 'RunLimitError';
  }
}

/** Throws RunLimitError when a twin stopped at its event limit rather than at the end of the scenario. */
function checkCompleted(twin: Twin, scenario: SettledScenario, maxEvents: number | undefined): void {
  if (twin.endReason === 'max-events') throw new RunLimitError(scenario, twin.sim.eventsFired, twin.sim.nowMs, maxEvents ?? LIMITS.runEvents.value);
}

/**
 * Runs a settled scenario in simulation and returns its report. With faults, the same scenario and seed is
 * also run without them (the baseline) and the difference is classified into the observed severity.
 */
/** Throws RunLimitError when the run (or its baseline) hits the event limit. */
export function runScenario(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): Report {
  return runScenarioDetailed(scenario, profile, opts).report;
}

/** A run's report and the text files that go beside it (`nomad-status.txt`). */
export interface RunOutput {
  report: Report;
  files: Record<string, string>;
}

export function runScenarioDetailed(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): RunOutput {
  const { report, files } = runWithBaseline(scenario, profile, opts);
  return { report, files };
}

/**
 * The run's report and files and, with faults, the fault-free baseline's report it was classified against
 * (a live run is classified against the same simulated baseline).
 */
export function runWithBaseline(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): RunOutput & { baseline: Report | undefined } {
  const twin = new Twin(scenario, profile, opts);
  twin.run();
  checkCompleted(twin, scenario, opts.maxEvents);
  const files = { 'nomad-status.txt': twin.nomadStatusText };
  if (scenario.faults.length === 0) return { report: buildReport(twin), files, baseline: undefined };

  const baselineTwin = new Twin(scenario, profile, { ...(opts.maxEvents ? { maxEvents: opts.maxEvents } : {}), withoutFaults: true });
  baselineTwin.run();
  checkCompleted(baselineTwin, scenario, opts.maxEvents);
  const report = buildReport(twin);
  const baseline = buildReport(baselineTwin);
  const { severity, because } = classify(report, baseline);
  return { report: withSeverity(report, severity, because, scenario.expect), files, baseline };
}
