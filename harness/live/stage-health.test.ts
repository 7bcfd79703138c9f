import { afterEach, describe, expect, it } from 'vitest';
import { StageHealth, CHECK_TIMEOUT_MS, type HealthCheck } from './stage-health.ts';

describe('StageHealth', () => {
  let health: StageHealth | undefined;
  afterEach(async () => {
    await health?.stop();
    health = undefined;
  });

  async function serve(checks: HealthCheck[]): Promise<StageHealth> {
    health = new StageHealth({ service: 'schedulerer', path: '/health', port: 0, checks });
    await health.start();
    return health;
  }

  it('answers 200 while every check passes', async () => {
    const h = await serve([{ name: 'rabbitmq', ok: async () => true }]);
    const res = await fetch(h.url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service: 'schedulerer', status: 'ok' });
  });

  it('answers 500 naming each dependency whose check fails, throws or hangs', async () => {
    const h = await serve([
      { name: 'rabbitmq', ok: async () => false },
      { name: 'postgres', ok: () => Promise.reject(new Error('ECONNREFUSED')) },
      { name: 'nomad_server', ok: () => new Promise<boolean>(() => undefined) },
      { name: 'redis', ok: async () => true },
    ]);
    const t0 = Date.now();
    const res = await fetch(h.url);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { failing: string[] }).failing).toEqual(['rabbitmq', 'postgres', 'nomad_server']);
    expect(Date.now() - t0).toBeLessThan(CHECK_TIMEOUT_MS + 500);
  });

  it('answers 404 elsewhere, and nothing at all once killed', async () => {
    const h = await serve([]);
    expect((await fetch(`http://127.0.0.1:${h.port}/other`)).status).toBe(404);
    h.kill();
    await expect(fetch(h.url, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it('refuses a port that is taken, with the listen error', async () => {
    const h = await serve([]);
    const other = new StageHealth({ service: 'x', path: '/health', port: h.port, checks: [] });
    await expect(other.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
