import type { Percentiles, Report } from './report/types.ts';

/** How far live queue-time percentiles may be from the simulation's and still agree. */
export interface AgreementTolerance {
  /** Relative to the simulated value. */
  relative: number;
  /** Absolute, in the scenario's milliseconds: covers the live pipeline's own latency, multiplied by the time scale. */
  absoluteMs: number;
}

/**
 * 25%, or an absolute margin, whichever is larger. The margin is the classifier's delay tolerance (60 s of
 * scenario time) or one second of wall-clock time multiplied by the time scale, whichever is larger: the live
 * pipeline's own latency, which the simulation (where every hop is instant) does not have. One event loop carries
 * the replay's pipeline, so a build takes tens to a few hundred milliseconds of wall time from queued to started
 * (up to 0.37 s measured in kill-rabbitmq at 240× on a quiet machine, the slowest in early bursts), and more
 * when the machine is busy: half a second was too tight a bound for the queue-time maximum.
 */
export function agreementTolerance(timeScale: number): AgreementTolerance {
  return { relative: 0.25, absoluteMs: Math.max(60_000, Math.round(1_000 * timeScale)) };
}

export const DEFAULT_AGREEMENT_TOLERANCE: AgreementTolerance = agreementTolerance(60);

export interface AgreementCheck {
  what: string;
  sim: number | string;
  live: number | string;
  agrees: boolean;
  rule: string;
}

export interface Agreement {
  agrees: boolean;
  tolerance: AgreementTolerance;
  checks: AgreementCheck[];
  /** Counts side by side, for people: not judged (a live outage lasts as long as the real restart takes). */
  counts: { what: string; sim: number; live: number }[];
}

/** The fates a ledger can give a build or a webhook, judged by presence: the same kinds of harm, or not. */
const FATES = ['failed', 'lost', 'stuck', 'not_triggered', 'retried'] as const;
const PERCENTILES: readonly (keyof Percentiles)[] = ['p50', 'p95', 'max'];

/**
 * Compares a live run with the simulated run of the same scenario and seed: the same observed severity, the
 * same fates present (builds lost, stuck, failed, retried; webhooks not triggered), workflows left inconsistent
 * or not, stored data lost or not, and queue-time percentiles (p50, p95, max) within the tolerance.
 */
export function compareRuns(sim: Report, live: Report, tolerance: AgreementTolerance = DEFAULT_AGREEMENT_TOLERANCE): Agreement {
  const checks: AgreementCheck[] = [];
  checks.push({ what: 'observed severity', sim: sim.observed_severity, live: live.observed_severity, agrees: sim.observed_severity === live.observed_severity, rule: 'equal' });
  for (const f of FATES) {
    const a = sim.builds[f];
    const b = live.builds[f];
    checks.push({ what: `${f.replace('_', ' ')} (builds)`, sim: a, live: b, agrees: a > 0 === b > 0, rule: 'both present or both absent' });
  }
  const inc = [sim.workflows.inconsistent, live.workflows.inconsistent] as const;
  checks.push({ what: 'workflows left inconsistent', sim: inc[0], live: inc[1], agrees: inc[0] > 0 === inc[1] > 0, rule: 'both present or both absent' });
  const stored = (r: Report) => r.data_loss.step_output + r.data_loss.artifacts + r.data_loss.test_results + r.data_loss.build_records + r.data_loss.workflow_records;
  checks.push({ what: 'stored data lost (items)', sim: stored(sim), live: stored(live), agrees: stored(sim) > 0 === stored(live) > 0, rule: 'both present or both absent' });
  for (const p of PERCENTILES) {
    const a = sim.queue_time_ms[p];
    const b = live.queue_time_ms[p];
    const allowed = Math.max(tolerance.relative * a, tolerance.absoluteMs);
    checks.push({ what: `queue time ${p} (ms)`, sim: a, live: b, agrees: Math.abs(b - a) <= allowed, rule: `within ±${Math.round(allowed)} ms` });
  }
  const counts = (['triggered', 'succeeded', ...FATES] as const).map((k) => ({ what: k.replace('_', ' '), sim: sim.builds[k], live: live.builds[k] }));
  return { agrees: checks.every((c) => c.agrees), tolerance, checks, counts };
}
