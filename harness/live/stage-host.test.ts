/**
 * A stage in its worker thread tells the host what it counts (over worker messages): vm-service's instances, on an
 * in-process EC2 endpoint, so no real component is needed. A killed worker's last counts stay with the host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2Api, type StartedEc2Api } from '../ec2/server.ts';
import { scaledClock } from '../ec2/clock.ts';
import { PreparedStage, sameProcessOptions, workerEnv, type StageHandle } from './stage-host.ts';
import { stageProcessOptions } from './pipeline-services.ts';
import { stageTimings } from './stage-worker.ts';

// 1000 scenario ms per wall ms: a 60 s boot takes 60 ms; vm-scaler (hourly here) does not top up during a test.
// A worker loads the AWS SDK before it starts: tens of seconds on a loaded machine, hence the tests' long limits.
const SCALE = 1000;

describe('a stage in its worker thread', () => {
  let api: StartedEc2Api | undefined;
  const handles: StageHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.stop();
    await api?.stop();
    api = undefined;
  });

  const startVm = async (restarted: boolean) => {
    api ??= await new Ec2Api().withPort(0).withSeed(1).withClock(scaledClock(SCALE)).withTimings({ bootMs: 60_000 }).start();
    const vm = { ec2Url: api.url, preallocated: { machine: 1, remote_docker: 0 }, timeScale: SCALE, scaleIntervalMs: 3_600_000, assignMs: 5_000, restarted };
    const h = await new PreparedStage('vm-service').start({ stage: 'vm-service', port: 0, healthPath: '/status', vm });
    handles.push(h);
    return h;
  };
  const acquire = async (h: StageHandle) => {
    const r = await fetch(`${h.url}/vms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'machine' }) });
    return (await r.json()) as { instanceId: string; preallocated: boolean };
  };

  it("vm-service counts its instances in its worker; the host reads them, and keeps a killed worker's last ones", async () => {
    const h = await startVm(false);
    expect((await fetch(h.healthUrl)).status).toBe(200);
    expect(await acquire(h)).toMatchObject({ preallocated: true });
    expect(await acquire(h)).toMatchObject({ preallocated: false });
    const c = await h.counters();
    // The pool filled at the first start is not counted as launched (the run starts in steady state).
    expect(c).toMatchObject({ launched: 1, preallocatedUsed: 1, waits: 2 });
    expect(c['waitMsTotal']).toBeGreaterThanOrEqual(5_000 + 60_000);
    h.kill();
    await expect(fetch(h.healthUrl, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    // Dead: the host answers with the last counts the worker sent, without waiting for an answer that never comes.
    expect(await h.counters()).toEqual(c);
    expect(h.lastCounters).toEqual(c);
  }, 180_000);

  it('vm-service started again in a new worker serves at once and counts what vm-scaler launches to top up', async () => {
    const first = await startVm(false);
    await acquire(first);
    first.kill();
    const again = await startVm(true);
    // Its pool was used: the top-up launch after the restart is counted (a first start's fill is not).
    await expect.poll(async () => (await again.counters())['launched'], { timeout: 10_000 }).toBe(1);
  }, 180_000);
});

describe('stageTimings', () => {
  it('makes a span of scenario time a span of wall time at the scale, within bounds a loaded machine keeps up with', () => {
    // 240×: a reconnect every 5 s of scenario time (20.8 ms), status a scenario minute (250 ms), Mongo's 30 s (125 ms).
    expect(stageTimings(240)).toEqual({ reconnectMs: 5_000 / 240, statusFlushMs: 250, mongoGiveUpMs: 125, heartbeatMs: 500, dependencyLogMs: 250 });
    // 1×: at most every 250 ms of wall time.
    expect(stageTimings(1)).toEqual({ reconnectMs: 250, statusFlushMs: 60_000, mongoGiveUpMs: 30_000, heartbeatMs: 120_000, dependencyLogMs: 60_000 });
    // Past the bounds: no busier than 20 ms, 50 ms, 100 ms.
    expect(stageTimings(10_000)).toEqual({ reconnectMs: 20, statusFlushMs: 50, mongoGiveUpMs: 100, heartbeatMs: 50, dependencyLogMs: 50 });
  });

});

describe("a stage's process", () => {
  const handles: StageHandle[] = [];
  afterEach(async () => {
    for (const h of handles.splice(0)) await h.stop();
  });

  it("runs with its container's environment and heap limit, and reports them from the process itself", async () => {
    const options = stageProcessOptions('vault-cci', { JVM_HEAP_SIZE: '384m', DOMAIN_SERVICE_REFRESH_USERS: 'false' });
    const h = await new PreparedStage('vault-cci', options).start({ stage: 'vault-cci', port: 0, healthPath: '/health', secrets: {} });
    handles.push(h);
    const seen = await h.environment();
    // Exactly the container's variables (the twin's TWIN_* plumbing left out), none of the host's.
    expect(seen?.env).toEqual(options.env);
    // In the order the container was created with (PATH, HOSTNAME, the customizations), as the simulation prints it.
    expect(Object.keys(seen!.env)).toEqual(Object.keys(options.env!));
    expect(seen?.env['HOME']).toBeUndefined();
    expect(seen?.maxMemoryBytes).toBe(384 * 1024 * 1024);
    // Without options the worker keeps the host's environment and V8's own limit (not 384m).
    const plain = await new PreparedStage('vault-cci').start({ stage: 'vault-cci', port: 0, healthPath: '/health', secrets: {} });
    handles.push(plain);
    const host = await plain.environment();
    expect(host?.env['PATH']).toBe(process.env['PATH']);
    expect(host?.maxMemoryBytes).not.toBe(384 * 1024 * 1024);
    // A killed worker does not answer.
    h.kill();
    handles.splice(handles.indexOf(h), 1);
    expect(await h.environment()).toBeUndefined();
  }, 180_000);
});

describe("a stage's process options", () => {
  it('give the JVM services a heap limit (1 GiB by default, JVM_HEAP_SIZE when set) and the others none unless set', () => {
    expect(stageProcessOptions('frontend', {}).heapLimitBytes).toBe(1024 ** 3);
    expect(stageProcessOptions('output-processor', { JVM_HEAP_SIZE: '2g' }).heapLimitBytes).toBe(2 * 1024 ** 3);
    expect(stageProcessOptions('schedulerer', {}).heapLimitBytes).toBeUndefined();
    expect(stageProcessOptions('schedulerer', { JVM_HEAP_SIZE: '1536m' }).heapLimitBytes).toBe(1536 * 1024 ** 2);
    expect(stageProcessOptions('frontend', { A: '1' }).env).toMatchObject({ A: '1', PATH: expect.any(String), HOSTNAME: expect.any(String) });
  });

  it('keep only the twin\'s TWIN_ plumbing of the host beside the container\'s environment, and compare by value', () => {
    expect(workerEnv({ A: '1' }, { HOME: '/root', TWIN_CODE_CACHE: '0', PATH: '/host', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })).toEqual({ TWIN_CODE_CACHE: '0', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', A: '1' });
    expect(sameProcessOptions(stageProcessOptions('frontend', {}), stageProcessOptions('frontend', {}))).toBe(true);
    expect(sameProcessOptions(stageProcessOptions('frontend', {}), stageProcessOptions('frontend', { JVM_HEAP_SIZE: '2g' }))).toBe(false);
    expect(sameProcessOptions({}, stageProcessOptions('frontend', {}))).toBe(false);
  });
});
