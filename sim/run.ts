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
    readonly baseline: boolean,
  ) {
    const limit = maxEvents === LIMITS.runEvents.value ? LIMITS.runEvents : { ...LIMITS.runEvents, value: maxEvents };
    super([
      {
        file: scenario.file,
        line: 1,
        column: 1,
        field: '',
        message: `${overLimitMessage(limit, `the ${baseline ? 'fault-free baseline run' : 'run'} (${eventsFired} events by ${formatDurationMs(virtualMs)} of virtual time)`)}: it was stopped and has no report`,
        hint: LIMITS.runEvents.hint,
      },
    ]);
    this.name = 'RunLimitError';
  }
}

/** Throws RunLimitError when a twin stopped at its event limit rather than at the end of the scenario. */
function checkCompleted(twin: Twin, scenario: SettledScenario, opts: TwinOptions): void {
  if (twin.endReason === 'max-events') throw new RunLimitError(scenario, twin.sim.eventsFired, twin.sim.nowMs, opts.maxEvents ?? LIMITS.runEvents.value, opts.withoutFaults === true);
}
import type { Timeline } from './metrics/timeline.ts';

/**
 * Runs a settled scenario in simulation and returns its report. With faults, the same scenario and seed is
 * also run without them (the baseline) and the difference is classified into the observed severity.
 */
/** Throws RunLimitError when the run (or its baseline) hits the event limit. */
export function runScenario(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): Report {
  return runScenarioDetailed(scenario, profile, opts).report;
}

/** A run's report, the text files that go beside it (`nomad-status.txt`) and its time series (for `report.html`). */
export interface RunOutput {
  report: Report;
  files: Record<string, string>;
  timeline: Timeline;
}

/** Progress of a run and, with faults, of its fault-free baseline (run after it, for the severity). */
export type RunProgressOptions = Pick<TwinOptions, 'onProgress' | 'maxEvents'> & { onBaselineProgress?: TwinOptions['onProgress'] };

export function runScenarioDetailed(scenario: SettledScenario, profile: Profile, opts: RunProgressOptions = {}): RunOutput {
  const { report, files, timeline } = runWithBaseline(scenario, profile, opts);
  return { report, files, timeline };
}

/**
 * The run's report and files and, with faults, the fault-free baseline's report it was classified against
 * (a live run is classified against the same simulated baseline).
 */
export function runWithBaseline(scenario: SettledScenario, profile: Profile, opts: RunProgressOptions = {}): RunOutput & { baseline: Report | undefined } {
  const { report, files, timeline } = runOnce(scenario, profile, { ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.maxEvents ? { maxEvents: opts.maxEvents } : {}), timeline: true });
  if (scenario.faults.length === 0) return { report, files, timeline: timeline!, baseline: undefined };
  const baseline = runOnce(scenario, profile, { ...(opts.maxEvents ? { maxEvents: opts.maxEvents } : {}), ...(opts.onBaselineProgress ? { onProgress: opts.onBaselineProgress } : {}), withoutFaults: true }).report;
  const { severity, because } = classify(report, baseline);
  return { report: withSeverity(report, severity, because, scenario.expect), files, timeline: timeline!, baseline };
}

/**
 * One run, reduced to its report and files before returning, so that its Twin (every build of the run) is
 * garbage before the baseline starts: a run with faults then peaks at one run's memory, not two.
 */
function runOnce(scenario: SettledScenario, profile: Profile, opts: TwinOptions): Omit<RunOutput, 'timeline'> & { timeline: Timeline | undefined } {
  const twin = new Twin(scenario, profile, opts);
  twin.run();
  checkCompleted(twin, scenario, opts);
  return { report: buildReport(twin), files: { 'nomad-status.txt': twin.nomadStatusText }, timeline: opts.timeline ? twin.timeline() : undefined };
}
