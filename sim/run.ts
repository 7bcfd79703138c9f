import { Twin, type TwinOptions } from './twin.ts';
import { buildReport, withSeverity } from './report/build-report.ts';
import { classify } from './severity.ts';
import type { Report } from './report/types.ts';
import type { SettledScenario } from './scenario/settled.ts';
import type { Profile } from '../fixtures/schema.ts';
import type { Timeline } from './metrics/timeline.ts';

/**
 * Runs a settled scenario in simulation and returns its report. With faults, the same scenario and seed is
 * also run without them (the baseline) and the difference is classified into the observed severity.
 */
export function runScenario(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): Report {
  return runScenarioDetailed(scenario, profile, opts).report;
}

/** A run's report, the text files that go beside it (`nomad-status.txt`) and its time series (for `report.html`). */
export interface RunOutput {
  report: Report;
  files: Record<string, string>;
  timeline: Timeline;
}

export function runScenarioDetailed(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): RunOutput {
  const { report, files, timeline } = runWithBaseline(scenario, profile, opts);
  return { report, files, timeline };
}

/**
 * The run's report and files and, with faults, the fault-free baseline's report it was classified against
 * (a live run is classified against the same simulated baseline).
 */
export function runWithBaseline(scenario: SettledScenario, profile: Profile, opts: Pick<TwinOptions, 'onProgress' | 'maxEvents'> = {}): RunOutput & { baseline: Report | undefined } {
  const twin = new Twin(scenario, profile, { ...opts, timeline: true });
  twin.run();
  const files = { 'nomad-status.txt': twin.nomadStatusText };
  const timeline = twin.timeline();
  if (scenario.faults.length === 0) return { report: buildReport(twin), files, timeline, baseline: undefined };

  const baselineTwin = new Twin(scenario, profile, { ...(opts.maxEvents ? { maxEvents: opts.maxEvents } : {}), withoutFaults: true });
  baselineTwin.run();
  const report = buildReport(twin);
  const baseline = buildReport(baselineTwin);
  const { severity, because } = classify(report, baseline);
  return { report: withSeverity(report, severity, because, scenario.expect), files, timeline, baseline };
}
