import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario/parse.ts';
import { fixtureContext } from '../harness/scenario/load.ts';
import { loadAnyRunbook, loadRunbook } from '../fixtures/runbooks/load.ts';
import { runDrRehearsal } from '../sim/models/dr/dr-report.ts';
import { drJunit, drMarkdown } from './dr.ts';

const text = readFileSync(new URL('../scenarios/dr/restore-skips-nomad-wipe.yaml', import.meta.url), 'utf8');

describe('DR report writers', () => {
  it('junit: a skipped step is a skipped case with its consequence; a failed expectation is a failure with the replay', () => {
    const s = parseScenario(text.replace('{ metric: rpo_ms, equals: 600000 }', '{ metric: rpo_ms, equals: 1 }'), 'x.yaml', fixtureContext(undefined, 'dr'));
    const r = runDrRehearsal(s, loadRunbook('restore-from-ebs'));
    const xml = drJunit(r);
    expect(xml).toMatch(/<testsuites name="twin" tests="\d+" failures="1" errors="0" skipped="1"/);
    expect(xml).toContain('name="runbook wipe_nomad_state" time="0">\n      <skipped message="the restored /opt/nomad kept');
    expect(xml).toContain('Rerun: twin dr x.yaml --seed 13</failure>');
    const md = drMarkdown(r);
    expect(md).toContain('| `wipe_nomad_state` | skipped |');
    expect(md).toContain("| the seeds' fail-over target | 15 min (missed) |");
    expect(md).toContain('- ✗ `rpo_ms` = 1: 600000');
  });

  it('markdown: each backup with its size, duration and age, the recommended interval, the settings change and the builders', () => {
    const settings = readFileSync(new URL('../scenarios/dr/settings-change-tarball-in-place.yaml', import.meta.url), 'utf8');
    const r = runDrRehearsal(parseScenario(settings, 'x.yaml', fixtureContext(undefined, 'dr')), loadAnyRunbook('restore-tarball-in-place'));
    const md = drMarkdown(r);
    expect(md).toContain('| taken | size | took | age at the disaster | restorable |');
    expect(md).toMatch(/\| 2h \| \d+ MB \| 1 min \d+ s \| 20 min \| yes: the newest restorable: the one a restore uses \|/);
    expect(md).toContain('| taken after it | no: taken after the settings change: it holds the change |');
    expect(md).toContain('Tolerance for data loss (recovery.rpo_tolerance): 30 min. Recommended: every 20m');
    expect(md).toMatch(/\| settings change \| contexts broken; \d+ builds failed of it; restored \|/);
    expect(md).toContain('(6 reconnected, 0 rotated)');
  });
});
