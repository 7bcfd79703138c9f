import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, schemaText } from './write-schema.ts';
import { loadScenarioFile } from './load.ts';

const SCENARIOS = join(SCHEMA_FILE, '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );
}

describe('scenario JSON Schema', () => {
  it('the committed scenarios/scenario.schema.json is the one generated from the definition (run `npm run schema`)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText());
  });

  it('describes the contract keys with types editors can use', () => {
    const schema = JSON.parse(schemaText());
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'duration', 'workload']));
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['topology', 'workload', 'faults', 'expect', 'backups', 'disaster', 'recovery']));
    expect(JSON.stringify(schema.properties.faults)).toContain('wipe_state');
  });
});

describe('shipped scenarios', () => {
  const files = yamlFiles(SCENARIOS);
  it('exist', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  it.each(files.map((f) => [f.slice(SCENARIOS.length + 1), f]))('%s is valid and points editors at the schema', (_name, file) => {
    expect(() => loadScenarioFile(file)).not.toThrow();
    expect(readFileSync(file, 'utf8')).toMatch(/^# yaml-language-server: \$schema=(\.\/|(\.\.\/)+)scenario\.schema\.json/);
  });
});

describe('README', () => {
  it('its annotated scenario example is valid and runs', async () => {
    const readme = readFileSync(join(SCENARIOS, '..', 'README.md'), 'utf8');
    const block = /```yaml\n(# yaml-language-server[\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const { parseScenario } = await import('../../sim/scenario/parse.ts');
    const { fixtureContext } = await import('./load.ts');
    const s = parseScenario(block!, 'README.md', fixtureContext());
    expect(s.name).toBe('picard-outage-midday');
    expect(s.faults.map((f) => f.action)).toEqual(['stop', 'drain']);
  });
});
