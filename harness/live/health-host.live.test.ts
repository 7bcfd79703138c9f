import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthServiceHost, type HealthService } from './health-host.ts';

// Several health-only services in the one thread they share, on real loopback ports: each killed, paused and
// answering alone.
const get = async (port: number, path: string, ms = 2000) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(ms) });
  return { status: res.status, body: (await res.json()) as { service?: string; failing?: string[] } };
};
const refused = (port: number, path: string) => expect(get(port, path)).rejects.toThrow();

describe('the health services\' shared thread', () => {
  const host = new HealthServiceHost();
  const started: HealthService[] = [];
  let blocker: Server | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.terminate()));
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
  });
  const start = async (name: string, dependencies: { name: string; port?: number; healthUrl?: string }[] = [], port = 0) => {
    const s = await host.start({ name, port, healthPath: `/${name}/health`, dependencies });
    started.push(s);
    return s;
  };

  it('serves each on its own port and health path, and a dependency that is killed turns the dependant 500 naming it', async () => {
    const a = await start('a');
    const b = await start('b');
    const c = await start('c', [{ name: 'a', port: a.port }, { name: 'b', healthUrl: `http://127.0.0.1:${b.port}/b/health` }]);
    expect(new Set([a.port, b.port, c.port]).size).toBe(3);
    expect(host.running).toBe(true);
    expect(await get(a.port, '/a/health')).toEqual({ status: 200, body: { service: 'a', status: 'ok' } });
    expect((await get(a.port, '/b/health')).status).toBe(404);
    expect(await get(c.port, '/c/health')).toEqual({ status: 200, body: { service: 'c', status: 'ok' } });

    await b.terminate();
    await refused(b.port, '/b/health');
    expect(await get(a.port, '/a/health')).toEqual({ status: 200, body: { service: 'a', status: 'ok' } });
    expect(await get(c.port, '/c/health')).toEqual({ status: 500, body: { service: 'c', status: 'unhealthy', failing: ['b'] } });
  });

  it('kills one abruptly: a connection it held open is destroyed, unanswered; the others answer', async () => {
    const a = await start('a');
    const b = await start('b');
    b.postMessage('pause');
    const held = get(b.port, '/b/health', 5000).then(
      (r) => `answered ${r.status}`,
      (e: Error) => `${e.message}: ${(e.cause as Error | undefined)?.message}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    await b.terminate();
    expect(await held).toBe('fetch failed: other side closed');
    expect((await get(a.port, '/a/health')).status).toBe(200);
  });

  it('pauses one alone: it holds what it is asked until unpaused, while the others answer', async () => {
    const a = await start('a');
    const b = await start('b');
    a.postMessage('pause');
    let answered = false;
    const held = get(a.port, '/a/health', 5000).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect((await get(b.port, '/b/health')).status).toBe(200);
    expect(answered).toBe(false);
    a.postMessage('unpause');
    expect((await held).status).toBe(200);
  });

  it('takes a free port when its own is taken, and fails with the listen error otherwise', async () => {
    blocker = createServer();
    const taken = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    const a = await start('a', [], taken);
    expect(a.port).not.toBe(taken);
    expect((await get(a.port, '/a/health')).status).toBe(200);
    await expect(start('b', [], 70_000)).rejects.toThrow(/^b: .*70000/);
    // That failure was b's alone: the thread the others share runs on.
    expect((await get(a.port, '/a/health')).status).toBe(200);
  });

  it('updates one service\'s dependencies alone (ready-agent\'s list after boot)', async () => {
    const a = await start('a');
    const ready = await start('ready');
    ready.postMessage({ type: 'dependencies', dependencies: [{ name: 'a', healthUrl: `http://127.0.0.1:${a.port}/a/health` }, { name: 'gone', port: 1 }] });
    expect(await get(ready.port, '/ready/health')).toEqual({ status: 500, body: { service: 'ready', status: 'unhealthy', failing: ['gone'] } });
    expect((await get(a.port, '/a/health')).status).toBe(200);
  });

  it('ends its thread with the last service, and starts one again for the next', async () => {
    const a = await start('a');
    await a.terminate();
    started.length = 0;
    expect(host.running).toBe(false);
    const b = await start('b');
    expect(host.running).toBe(true);
    expect((await get(b.port, '/b/health')).status).toBe(200);
  });
});
