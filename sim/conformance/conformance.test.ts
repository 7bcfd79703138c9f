import { describe, expect, it } from 'vitest';
import { CONFORMANCE_PROTOCOL, conformanceScenarios, runConformance, type ConformanceRunner } from './conformance.ts';
import { parseScenario } from '../scenario/parse.ts';
import { sampleReport } from '../report/sample.ts';
import type { Report, Symptom } from '../report/types.ts';
import { classify, type Observation } from '../severity.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

const context = fixtureContext();
const VERSIONS = ['2.19.6', '2.17.2'] as const;

/** A fault-free-looking report: every build succeeded, nothing lost. */
function cleanReport(): Report {
  const r = sampleReport({ faults: [], observed_severity: 'none', expectations: [], passed: true, affected_builds: [] });
  r.builds = { ...r.builds, triggered: 1000, succeeded: 1000, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 };
  for (const k of Object.keys(r.data_loss) as (keyof Report['data_loss'])[]) r.data_loss[k] = 0;
  r.queue_time_ms = { mean: 1000, p50: 900, p95: 2000, p99: 3000, max: 5000 };
  r.webhooks = { received: 1000, accepted: 1000, dropped: 0 };
  return r;
}

/** A symptom of `container` in `view`, seen once. */
function symptom(container: string, view: Symptom['view'], what = 'seen'): Symptom {
  return { container, view, what, where: 'here', count: 1, first_at_ms: 0, last_at_ms: 0 };
}

/**
 * A stub simulation: frontend drops webhooks (moderate), mongo loses step output (severe), everything else
 * leaves no trace on builds (mild). Every killed container is listed as exited; telegraf also leaves a metric gap,
 * frontend and mongo show on the builds page. It records each call.
 */
function stubRunner(calls: { target: string | undefined; withoutFaults: boolean; report: Report }[]): ConformanceRunner {
  return (scenario, _profile, opts) => {
    const report = cleanReport();
    const target = opts.withoutFaults ? undefined : scenario.faults[0]?.target;
    report.symptoms = target === undefined ? [] : [symptom(target, 'docker-ps')];
    if (target === 'frontend') {
      report.builds.not_triggered = 100;
      report.webhooks.dropped = 100;
      report.symptoms.push(symptom('frontend', 'builds'));
    }
    if (target === 'mongo') {
      report.data_loss.step_output = 5;
      report.symptoms.push(symptom('mongo', 'builds'));
    }
    if (target === 'telegraf') report.symptoms.push(symptom('telegraf', 'metrics'));
    calls.push({ target, withoutFaults: opts.withoutFaults, report });
    return report;
  };
}

describe('conformanceScenarios', () => {
  for (const version of VERSIONS) {
    it(`covers every table row of ${version}, conditional rows in both conditions`, () => {
      const profile = loadProfile(version);
      const scenarios = conformanceScenarios(profile, { context });
      const table = profile.containers.filter((c) => c.in_table);
      expect(new Set(scenarios.map((s) => s.container))).toEqual(new Set(table.map((c) => c.name)));
      expect(scenarios.some((s) => !table.some((c) => c.name === s.container))).toBe(false);
      for (const c of table) {
        const conditions = scenarios.filter((s) => s.container === c.name).map((s) => s.condition);
        if (c.severity_condition === 'ldap') expect(conditions).toEqual(['ldap', 'no-ldap']);
        else if (c.severity_condition === 'fileserved') expect(conditions).toEqual(['s3', 'fileserved']);
        else expect(conditions).toEqual(['default']);
      }
      // The conditional rows exist in both profiles, and off-condition they are documented as idle (mild).
      const fed = scenarios.filter((s) => s.container === 'federation-service');
      expect(fed.map((s) => [s.condition, s.scenario.topology.auth, s.documented])).toEqual([
        ['ldap', 'ldap', 'severe'],
        ['no-ldap', 'github', 'mild'],
      ]);
      const fs = scenarios.filter((s) => s.container === 'fileserved');
      expect(fs.map((s) => [s.condition, s.scenario.topology.storage, s.documented])).toEqual([
        ['s3', 's3', 'mild'],
        ['fileserved', 'fileserved', 'severe'],
      ]);
    });
  }

  it('kills each container at the protocol time and restarts it after the outage, under one workload', () => {
    const scenarios = conformanceScenarios(loadProfile('2.19.6'), { context, seed: 9 });
    const p = CONFORMANCE_PROTOCOL;
    const workloads = new Set(scenarios.map((s) => JSON.stringify(s.scenario.workload)));
    expect(workloads.size).toBe(1);
    for (const s of scenarios) {
      expect(s.scenario.seed).toBe(9);
      expect(s.scenario.durationMs).toBe(p.durationMs);
      expect(s.scenario.faults.map((f) => [f.action, f.target, f.atMs])).toEqual([
        ['kill', s.container, p.killAtMs],
        ['restart', s.container, p.killAtMs + p.outageMs],
      ]);
      // The YAML is a valid scenario file that settles to the same scenario (so `twin run` replays the row).
      expect(parseScenario(s.yaml, s.scenario.file, context)).toEqual(s.scenario);
    }
  });
});

describe('runConformance', () => {
  const profile = loadProfile('2.19.6');

  it('runs each distinct baseline once and one faulty run per row', () => {
    const calls: { target: string | undefined; withoutFaults: boolean; report: Report }[] = [];
    const progress: number[] = [];
    const rows = runConformance(profile, { context, runner: stubRunner(calls), onProgress: (done, total) => progress.push(done / total) });
    const baselines = calls.filter((c) => c.withoutFaults);
    // github/s3 (default, no-ldap, s3), ldap/s3 and github/fileserved.
    expect(baselines).toHaveLength(3);
    expect(calls.filter((c) => !c.withoutFaults)).toHaveLength(rows.length);
    expect(progress.at(-1)).toBe(1);
  });

  it('computes match from documented versus observed and the documented effect seen, nothing else', () => {
    const calls: { target: string | undefined; withoutFaults: boolean; report: Report }[] = [];
    const rows = runConformance(profile, { context, runner: stubRunner(calls) });
    for (const r of rows) expect(r.match).toBe(r.documented === r.observed && r.effect.seen);
    const by = (name: string, condition = 'default') => rows.find((r) => r.container === name && r.condition === condition)!;
    expect(by('frontend')).toMatchObject({ documented: 'moderate', observed: 'moderate', match: true, effect: { views: ['builds', 'ui'], seen: true } });
    expect(by('mongo')).toMatchObject({ documented: 'severe', observed: 'severe', match: true });
    expect(by('telegraf')).toMatchObject({ documented: 'mild', observed: 'mild', match: true, effect: { views: ['metrics'], seen: true } });
    expect(by('rabbitmq')).toMatchObject({ documented: 'severe', observed: 'mild', match: false });
    // exim is only listed as exited: mild, as documented, but its documented effect (no email sent) was not seen.
    expect(by('exim')).toMatchObject({ documented: 'mild', observed: 'mild', match: false, effect: { views: ['email'], seen: false } });
    expect(by('exim').symptoms).toEqual(['exim (docker-ps): seen ×1 — here']);
    // An idle container (fileserved with S3) has no effect beyond its own status, and that is what is asked.
    expect(by('fileserved', 's3')).toMatchObject({ documented: 'mild', observed: 'mild', match: true, effect: { views: ['docker-ps'], seen: true } });
    // A mismatch carries the observations that led to it: the classifier's reason and the key counts.
    expect(by('rabbitmq').observations[0]).toBe('no build affected, nothing lost');
    expect(by('frontend').observations.join('\n')).toContain('not triggered 100 (baseline 0)');

    // Whatever the verdict, the row matches exactly when it equals the documented severity and the effect was seen.
    const allSevere = runConformance(profile, { context, runner: stubRunner([]), classify: () => ({ severity: 'severe', because: ['stub'] }) });
    for (const r of allSevere) expect(r.match).toBe(r.documented === 'severe' && r.effect.seen);
    expect(allSevere.find((r) => r.container === 'mongo')!.match).toBe(true);
  });

  it('gives the classifier the two runs and nothing else', () => {
    const calls: { target: string | undefined; withoutFaults: boolean; report: Report }[] = [];
    const seen: Observation[][] = [];
    runConformance(profile, {
      context,
      runner: stubRunner(calls),
      classify: (run, baseline) => {
        seen.push([run, baseline]);
        return classify(run, baseline);
      },
    });
    const produced = new Set(calls.map((c) => c.report));
    for (const args of seen) {
      expect(args).toHaveLength(2);
      for (const a of args) expect(produced.has(a as Report)).toBe(true);
      // The reports hold observations only: no documented severity, no failure-effect text of the table.
      const text = JSON.stringify(args);
      expect(text).not.toContain('documented');
      expect(text).not.toContain('Potential total data loss');
    }
  });

  it('is deterministic on the real model', () => {
    const only = ['frontend', 'federation-service', 'telegraf'];
    const a = runConformance(profile, { context, only, seed: 3 });
    const b = runConformance(profile, { context, only, seed: 3 });
    expect(a.map((r) => `${r.container}/${r.condition}`)).toEqual(['federation-service/ldap', 'federation-service/no-ldap', 'frontend/default', 'telegraf/default']);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    for (const r of a) expect(r.observations.length).toBeGreaterThan(1);
  });
});
