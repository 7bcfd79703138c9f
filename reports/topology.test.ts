import { describe, expect, it } from 'vitest';
import { loadProfile } from '../fixtures/load.ts';
import { renderTopology, topologyJson } from './topology.ts';

const VERSIONS = ['2.17.2', '2.19.6'] as const;

describe('renderTopology', () => {
  it.each(VERSIONS)('lists every container of %s with its severity on its first line', (version) => {
    const profile = loadProfile(version);
    const lines = renderTopology(profile).split('\n');
    for (const container of profile.containers) {
      const row = lines.find((line) => line.startsWith(`${container.name} `));
      expect(row, container.name).toBeDefined();
      const severity = container.severity === null ? 'n/a' : container.severity;
      const condition = container.severity_condition !== undefined ? ` [${container.severity_condition}]` : '';
      expect(row, container.name).toContain(`  ${severity}${condition}  `);
    }
  });

  it.each(VERSIONS)('fits 160 columns and leaves no trailing spaces (%s)', (version) => {
    for (const line of renderTopology(loadProfile(version)).split('\n')) {
      expect(line.length, line).toBeLessThanOrEqual(160);
      expect(line).toBe(line.trimEnd());
    }
  });

  it('shows stable ports, health endpoints and flags', () => {
    const text = renderTopology(loadProfile('2.19.6'));
    const row = (name: string) => text.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
    expect(row('output-processor')).toContain('8585->8585/tcp');
    expect(row('api-service')).toContain('8082/status');
    expect(row('rabbitmq')).toMatch(/ext$/);
    expect(row('dispatcher')).toMatch(/extra$/);
    expect(text).not.toContain('^ =');
    expect(renderTopology(loadProfile('2.17.2'))).toContain('^ = ports and health not in this version\'s seed');
  });
});

describe('topologyJson', () => {
  it('is a plain, JSON-safe copy of the table', () => {
    const profile = loadProfile('2.19.6');
    const json = topologyJson(profile);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.version).toBe('2.19.6');
    expect(json.containers.map((c) => c.name)).toEqual(profile.containers.map((c) => c.name));
    const federation = json.containers.find((c) => c.name === 'federation-service');
    expect(federation).toMatchObject({ severity: 'severe', severity_condition: 'ldap', health: { port: 8090, path: '/status' } });
    expect(json.containers.find((c) => c.name === 'fileserved')?.image).toBeNull();
    // The copy is mutable although the profile is frozen.
    json.containers[0]?.aliases.push('x');
  });
});
