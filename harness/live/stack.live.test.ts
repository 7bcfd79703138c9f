import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack, renderStackTable } from './stack.ts';
import { loadProfile } from '../../fixtures/load.ts';

// The whole container table as live services: every one reachable on its documented port (offset), its health
// endpoint answering 200, or 500 once a dependency is gone.
describe('the live stack', () => {
  const profile = loadProfile('2.19.6');
  const stack = new LiveStack({ profile, portOffset: 11_000, backends: {} });

  /** This process's threads before and after the boot. */
  const threads = { before: 0, after: 0 };
  beforeAll(async () => {
    threads.before = readdirSync('/proc/self/task').length;
    const failed = await stack.up();
    threads.after = readdirSync('/proc/self/task').length;
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

  it('serves the health-only services from one thread they share, not a thread each', () => {
    const services = [...stack.rows.values()].filter((r) => r.kind === 'service');
    expect(services.length).toBeGreaterThan(20);
    // The shared thread, and libuv's pool if this boot was the first to use it.
    expect(threads.after - threads.before).toBeLessThanOrEqual(5);
  });

  it('pauses one service alone: it holds its answer until unpaused, while the others answer', async () => {
    const paused = stack.rows.get('slanger')!.healthUrl!;
    stack.pause('slanger');
    expect(stack.rows.get('slanger')!.state).toBe('paused');
    let answered = false;
    const held = fetch(paused, { signal: AbortSignal.timeout(10_000) }).then((r) => ((answered = true), r.status));
    expect((await fetch(stack.rows.get('exim')!.healthUrl!)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    stack.unpause('slanger');
    expect(await held).toBe(200);
  });

  it('reports 500 naming the dependency once a dependency is killed, and stops answering when killed itself', async () => {
    await stack.kill('vault-cci');
    const contexts = stack.rows.get('contexts-service')!.healthUrl!;
    const res = await fetch(contexts);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { failing: string[] }).failing).toContain('vault-cci');
    // The stack's own probe keeps what it answered, for `twin status` and the DR rehearsal's wait.
    await stack.refreshHealth();
    expect(stack.rows.get('contexts-service')).toMatchObject({ state: 'unhealthy', health: '500: failing vault-cci' });
    await stack.kill('contexts-service');
    await expect(fetch(contexts, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    // The others still answer: a kill ends that service alone.
    expect((await fetch(stack.rows.get('exim')!.healthUrl!)).status).toBe(200);
  });

  it('starts a killed service again on its port, answering 200 once its dependency is back', async () => {
    const contexts = stack.rows.get('contexts-service')!.healthUrl!;
    await stack.start('contexts-service');
    expect(stack.rows.get('contexts-service')).toMatchObject({ state: 'healthy', healthUrl: contexts });
    expect((await fetch(contexts)).status).toBe(500);
    await stack.start('vault-cci');
    expect((await fetch(contexts)).status).toBe(200);
    await stack.refreshHealth();
    expect(stack.rows.get('contexts-service')!.health).toBeUndefined();
  });

  it('a service started again on another port (its own still held) is probed there by the services that need it', async () => {
    const old = new URL(stack.rows.get('vault-cci')!.healthUrl!);
    await stack.kill('vault-cci');
    // Something else takes vault-cci's port meanwhile: it accepts connections and never answers.
    const squatter = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(Number(old.port), '127.0.0.1', resolve));
    try {
      await stack.start('vault-cci');
      const moved = new URL(stack.rows.get('vault-cci')!.healthUrl!);
      expect(moved.port).not.toBe(old.port);
      const contexts = await fetch(stack.rows.get('contexts-service')!.healthUrl!);
      expect(contexts.status, JSON.stringify(await contexts.clone().json())).toBe(200);
      expect((await fetch(stack.rows.get('ready-agent')!.healthUrl!)).status).toBe(200);
    } finally {
      squatter.close();
    }
  });
});
