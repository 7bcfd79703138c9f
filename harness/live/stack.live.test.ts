import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack, renderStackTable } from './stack.ts';
import { loadProfile } from '../../fixtures/load.ts';

// The whole container table as live services: every one reachable on its documented port (offset), its health
// endpoint answering 200, or 500 once a dependency is gone.
describe('the live stack', () => {
  const profile = loadProfile('2.19.6');
  const stack = new LiveStack({ profile, portOffset: 11_000, backends: {} });

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed).toEqual([]);
  });
  afterAll(async () => {
    await stack.down();
  });

  it('starts every container of the profile, migrators exited, the others healthy', async () => {
    await stack.refreshHealth();
    const rows = [...stack.rows.values()];
    expect(rows.map((r) => r.name).sort()).toEqual(profile.containers.map((c) => c.name).sort());
    for (const r of rows) expect(r.state, `${r.name}: ${r.reason ?? ''}`).toBe(r.kind === 'migrator' ? 'exited' : 'healthy');
    expect(renderStackTable(rows)).toContain(' 11080->80/tcp ');
  });

  it('answers the documented health endpoints on the documented ports (offset)', async () => {
    for (const [port, path] of [
      [80, '/health-check'],
      [8082, '/status'],
      [9999, '/healthcheck'],
      [3011, '/status'],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${11_000 + port}${path}`);
      expect(res.status, `${port}${path}`).toBe(200);
    }
  });

  it('reports 500 naming the dependency once a dependency is killed, and stops answering when killed itself', async () => {
    await stack.kill('vault-cci');
    const contexts = stack.rows.get('contexts-service')!.healthUrl!;
    const res = await fetch(contexts);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { failing: string[] }).failing).toContain('vault-cci');
    await stack.kill('contexts-service');
    await expect(fetch(contexts, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
