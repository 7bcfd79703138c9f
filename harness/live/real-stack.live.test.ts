import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack } from './stack.ts';
import { liveBackends, endpointsOf } from './backends.ts';
import { LOCAL_PROGRAMS } from '../providers/missing-packages.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { StartedPostgres, isPortOpen } from '../providers/index.ts';

// `twin up` on real components: private PostgreSQL (the migrators run their SQL on it), Redis and RabbitMQ
// processes, the twin's embedded MongoDB server, the twin's Nomad API, EC2 and GitHub Enterprise.
describe('the live stack on real components', () => {
  const profile = loadProfile('2.19.6');
  const { backends, externals, migrate } = liveBackends(profile);
  const stack = new LiveStack({ profile, portOffset: 12_000, backends, externals, migrate });

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
  });
  afterAll(async () => {
    await stack.down();
  });

  it('brings every container up: real processes for the stores, twin services for the rest', async () => {
    await stack.refreshHealth();
    for (const r of stack.rows.values()) expect(r.state, `${r.name}: ${r.reason ?? ''}`).toBe(r.kind === 'migrator' ? 'exited' : 'healthy');
    for (const name of ['postgres', 'redis', 'rabbitmq'] as const) {
      const row = stack.rows.get(name)!;
      expect(row.pid, name).toBeGreaterThan(0);
      // The local binaries where installed (`.ci/run` installs them), else the embedded fallback, saying why.
      const local = LOCAL_PROGRAMS[name]().availability;
      expect(row.backend, name).toMatch(local.available ? /private/ : /embedded.*\(auto: no /);
    }
    const endpoints = endpointsOf(stack.components);
    expect(Object.keys(endpoints).sort()).toEqual(['autoscaling', 'ec2', 'github', 'mongo', 'nomad', 'postgres', 'rabbitmq', 'redis']);
  });

  it('flows metrics for real: nomad-metrics polls the Nomad API and sends statsd gauges over UDP to telegraf', async () => {
    const telegraf = stack.rows.get('telegraf')!;
    expect(telegraf.ports.some((p) => p.endsWith('->8125/udp'))).toBe(true);
    const metricsUrl = telegraf.healthUrl!.replace(/\/health$/, '/metrics');
    let metrics: Record<string, { value: number }> = {};
    for (let i = 0; i < 40 && metrics['circle.nomad.server_agent.poll_failure'] === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = (await (await fetch(metricsUrl)).json()) as typeof metrics;
    }
    expect(metrics['circle.nomad.server_agent.poll_failure']?.value).toBe(0);
    expect(metrics['circle.nomad.server_agent.jobs.running']?.value).toBe(0);
    // --client: one series per Nomad client, under the seeds' drain and status tags and the client's host.
    const nomad = stack.components.get('nomad_server') as import('../nomad/server.ts').StartedNomadApiServer;
    const names = nomad.scheduler.nodes().map((n) => n.name);
    const cpuTotal = (host: string) => metrics[`circle.nomad.client_agent.resources.total.cpu#drain:false,host:${host},status:ready`];
    for (let i = 0; i < 40 && names.some((h) => cpuTotal(h) === undefined); i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = (await (await fetch(metricsUrl)).json()) as typeof metrics;
    }
    expect(names.length).toBeGreaterThan(1);
    for (const host of names) {
      expect(cpuTotal(host)?.value, host).toBeGreaterThan(0);
      expect(metrics[`circle.nomad.client_agent.resources.used.cpu#drain:false,host:${host},status:ready`]?.value, host).toBe(0);
      expect(metrics[`circle.nomad.client_agent.poll_failure#host:${host}`]?.value, host).toBe(0);
    }
  });

  it('ready-agent answers 200 only while every listed service does', async () => {
    const ready = stack.rows.get('ready-agent')!.healthUrl!;
    expect((await fetch(ready)).status).toBe(200);
  });

  it('ran each migrator against PostgreSQL (the vms tables of the seeds exist)', async () => {
    const pg = stack.components.get('postgres') as StartedPostgres;
    const r = await pg.query('vms', "SELECT table_name FROM information_schema.tables WHERE table_schema = 'vms' ORDER BY table_name");
    expect(r.rows.map((x) => String(x.table_name))).toEqual(['tasks', 'vms', 'volumes']);
  });

  it('pauses the real Redis process with SIGSTOP (it stops answering) and resumes it with SIGCONT', async () => {
    const redis = stack.components.get('redis') as import('../providers/index.ts').StartedRedis;
    const client = redis.client({ maxRetriesPerRequest: 0, commandTimeout: 500 });
    try {
      await client.set('k', 'v');
      stack.pause('redis');
      await expect(client.get('k')).rejects.toThrow();
      stack.unpause('redis');
      await new Promise((r) => setTimeout(r, 100));
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
    }
  });

  it('wipes the real data directory of RabbitMQ (its mnesia and logs are gone)', async () => {
    const { existsSync } = await import('node:fs');
    const dir = await stack.wipeState('rabbitmq');
    expect(existsSync(dir)).toBe(false);
  });

  it('SIGKILLs the real PostgreSQL process: its dependents report 500 naming it', async () => {
    const port = stack.components.get('postgres')!.port;
    await stack.kill('postgres');
    for (let i = 0; i < 50 && (await isPortOpen('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await isPortOpen('127.0.0.1', port)).toBe(false);
    const res = await fetch(stack.rows.get('api-service')!.healthUrl!);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { failing: string[] }).failing).toContain('postgres');
    const ready = await fetch(stack.rows.get('ready-agent')!.healthUrl!);
    expect(ready.status).toBe(500);
    expect(((await ready.json()) as { failing: string[] }).failing).toContain('api-service');
  });
});
