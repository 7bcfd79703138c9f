import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario/parse.ts';
import { fixtureContext } from '../harness/scenario/load.ts';
import { loadRunbook } from '../fixtures/runbooks/load.ts';
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
});
