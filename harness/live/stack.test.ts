import { describe, expect, it } from 'vitest';
import { LiveStack, renderStackTable, STACK_TABLE_COLUMNS, type LiveRow, type ServiceFactory, type ServiceHandle } from './stack.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { isPortOpen, type StartedComponent } from '../providers/index.ts';
import { NomadApiServer } from '../nomad/server.ts';

// In-process services of the live stack, with fake components and factories: no process, no port is opened.
const full = loadProfile('2.19.6');
const profile = { ...full, containers: full.containers.filter((c) => ['postgres', 'rabbitmq', 'frontend', 'picard-dispatcher'].includes(c.name)) };

function component(name: string, log: string[]): StartedComponent {
  return {
    name,
    backend: 'embedded',
    backendDetail: `fake ${name}`,
    url: `fake://${name}`,
    host: '127.0.0.1',
    port: 1,
    pid: undefined,
    dataDir: undefined,
    stop: async () => void log.push(`stop ${name}`),
    [Symbol.asyncDispose]: async () => undefined,
  };
}

function service(needs: string[], log: string[], start: (port: number) => Promise<ServiceHandle>): ServiceFactory {
  return {
    backend: 'fake stage (in-process)',
    needs,
    start: ({ name, port, components }) => {
      log.push(`start ${name} on ${port} after ${[...components.keys()].join(',')}`);
      return start(port);
    },
  };
}

function handle(name: string, port: number, log: string[]): ServiceHandle {
  return { port, healthUrl: `http://127.0.0.1:${port}/health`, stop: async () => void log.push(`stop ${name}`), kill: () => void log.push(`kill ${name}`) };
}

/** The stack of `profile` on fake PostgreSQL and RabbitMQ, with these in-process services. */
function withFakeComponents(log: string[], services: Record<string, ServiceFactory>): LiveStack {
  return new LiveStack({
    profile,
    portOffset: 20_000,
    backends: { postgres: async () => component('postgres', log), rabbitmq: async () => component('rabbitmq', log) },
    services,
  });
}

describe('LiveStack with in-process services', () => {
  it('starts a service after the components it needs, on its documented port (offset), and stops it before them', async () => {
    const log: string[] = [];
    const stack = withFakeComponents(log, {
      frontend: service(['postgres', 'rabbitmq'], log, async (port) => handle('frontend', port, log)),
      'picard-dispatcher': service(['rabbitmq'], log, async (port) => handle('picard-dispatcher', port === 0 ? 40_001 : port, log)),
    });
    expect(await stack.up()).toEqual([]);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start frontend on 20080 after postgres,rabbitmq', 'start picard-dispatcher on 0 after postgres,rabbitmq']);
    expect(stack.rows.get('frontend')).toMatchObject({ kind: 'service', backend: 'fake stage (in-process)', state: 'healthy', ports: ['127.0.0.1:20080->80/tcp'], healthUrl: 'http://127.0.0.1:20080/health', pid: process.pid });
    expect(stack.rows.get('picard-dispatcher')!.ports).toEqual(['127.0.0.1:40001->40001/tcp']);

    expect(() => stack.pause('frontend')).toThrow(/cannot be paused/);
    log.length = 0;
    await stack.kill('frontend');
    expect(stack.rows.get('frontend')!.state).toBe('killed');
    // A killed service is still stopped: that releases what it opened.
    await stack.down();
    expect(log).toEqual(['kill frontend', 'stop picard-dispatcher', 'stop frontend', 'stop rabbitmq', 'stop postgres']);
  });

  it('calls the stores\' factories first, then prepares the stages and starts the external systems; a service that reaches one waits for it', async () => {
    const log: string[] = [];
    let githubUp = () => {};
    const stack = new LiveStack({
      profile,
      portOffset: 20_000,
      externals: {
        github: async () => {
          log.push('github starting');
          await new Promise<void>((resolve) => (githubUp = resolve));
          log.push('github up');
          return component('github', log);
        },
      },
      backends: { postgres: async () => (log.push('postgres up'), component('postgres', log)), rabbitmq: async () => (log.push('rabbitmq up'), component('rabbitmq', log)) },
      services: { frontend: { ...service(['postgres', 'rabbitmq', 'github'], log, async (port) => handle('frontend', port, log)), prepare: () => void log.push('frontend prepared') } },
    });
    const booting = stack.up();
    for (let i = 0; i < 50 && !log.includes('github starting'); i++) await new Promise((r) => setTimeout(r, 10));
    // The stores' processes are the slowest part of a boot: they get the first turn of this thread.
    expect(log).toEqual(['postgres up', 'rabbitmq up', 'frontend prepared', 'github starting']);
    githubUp();
    expect(await booting).toEqual([]);
    expect(log.slice(4)).toEqual(['github up', 'start frontend on 20080 after postgres,rabbitmq,github']);
    await stack.down();
  });

  it('falls back to a free port when the documented one is taken', async () => {
    const log: string[] = [];
    const stack = withFakeComponents(log, {
      frontend: service([], log, async (port) => {
        if (port !== 0) throw Object.assign(new Error(`listen EADDRINUSE: address already in use 127.0.0.1:${port}`), { code: 'EADDRINUSE' });
        return handle('frontend', 40_002, log);
      }),
    });
    await stack.up();
    expect(stack.rows.get('frontend')).toMatchObject({ state: 'healthy', ports: ['127.0.0.1:40002->80/tcp'] });
    await stack.down();
  });

  it('marks a service failed with the reason: its own error, or a component it needs that did not start', async () => {
    const log: string[] = [];
    const stack = new LiveStack({
      profile,
      portOffset: 20_000,
      backends: {
        postgres: async () => component('postgres', log),
        rabbitmq: async () => {
          throw new Error('rabbitmq: beam.smp exited with code 1\nlast lines …');
        },
      },
      services: {
        frontend: service([], log, async () => {
          throw new Error('frontend needs mongo, which this stack did not start');
        }),
        'picard-dispatcher': service(['rabbitmq'], log, async (port) => handle('picard-dispatcher', port, log)),
      },
    });
    const failed = await stack.up();
    expect(Object.fromEntries(failed.map((f) => [f.name, f.reason]))).toEqual({
      rabbitmq: 'rabbitmq: beam.smp exited with code 1',
      frontend: 'frontend needs mongo, which this stack did not start',
      'picard-dispatcher': 'it needs rabbitmq, which did not start',
    });
    expect(log.some((l) => l.startsWith('start picard-dispatcher'))).toBe(false);
    await stack.down();
  });
});

describe('the stack table', () => {
  const row = (r: Partial<LiveRow> & Pick<LiveRow, 'name' | 'kind'>): LiveRow => ({ backend: 'twin service (worker thread)', ports: [], state: 'healthy', pid: 4242, healthUrl: undefined, ...r });
  const rows = [
    row({ name: 'postgres', kind: 'backend', via: 'testcontainers', backend: 'testcontainers: postgres:12.22 (pinned in images.ts) on a host port mapped from 5432, because …', ports: ['127.0.0.1:34855->5432/tcp'] }),
    row({ name: 'telegraf', kind: 'service', ports: ['127.0.0.1:44143->44143/tcp', '127.0.0.1:18125->8125/udp'] }),
    row({ name: 'workflows-conductor-migrator', kind: 'migrator', backend: 'twin migrator (one-shot)', state: 'exited', pid: undefined, reason: '2 migrations applied to workflows_conductor (exit 0)' }),
    row({ name: 'frontend', kind: 'service', backend: 'twin pipeline stage (worker thread)', state: 'failed', reason: `frontend: listen EACCES ${'x'.repeat(150)}` }),
  ];

  it(`fits ${STACK_TABLE_COLUMNS} columns: short backends, ports without 127.0.0.1, the reasons of failed rows below`, () => {
    const lines = renderStackTable(rows).split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(STACK_TABLE_COLUMNS);
    expect(lines[0]).toMatch(/^NAME +BACKEND +PID +PORTS +HEALTH$/);
    expect(lines[1]).toMatch(/^postgres +testcontainers +4242 +34855->5432\/tcp +healthy$/);
    expect(lines[2]).toMatch(/^telegraf +worker +4242 +44143->44143\/tcp,18125->8125\/udp +healthy$/);
    expect(lines[4]).toMatch(/^frontend +stage +4242 +- +failed \(\w*…$/);
    expect(lines[5]).toMatch(/^frontend: failed: frontend: listen EACCES x+…$/);
    expect(lines).toHaveLength(6);
  });

  it('names what an unhealthy row\'s health endpoint answered, below the table', () => {
    const lines = renderStackTable([row({ name: 'api-service', kind: 'service', state: 'unhealthy', health: '500: failing postgres, vault-cci' })]).split('\n');
    expect(lines.at(-1)).toBe('api-service: unhealthy: its health endpoint answered 500: failing postgres, vault-cci');
  });
});

describe('LiveStack faults on the twin\'s Nomad API (through the live fault adapter)', () => {
  it('kills the Nomad server (its port refuses), starts it again with its state, and wipes its state', async () => {
    const nomadOnly = { ...full, containers: full.containers.filter((c) => c.name === 'nomad_server') };
    const stack = new LiveStack({ profile: nomadOnly, portOffset: 20_000, backends: { nomad_server: () => new NomadApiServer().withPort(0).withClients([{ name: 'c1', cpus: 4, memoryGb: 8 }]).start() } });
    try {
      expect(await stack.up()).toEqual([]);
      const { port } = stack.components.get('nomad_server')!;
      await stack.kill('nomad_server');
      expect(stack.rows.get('nomad_server')!.state).toBe('killed');
      expect(await isPortOpen('127.0.0.1', port)).toBe(false);
      await stack.start('nomad_server');
      expect(stack.rows.get('nomad_server')!.state).toBe('healthy');
      expect(await isPortOpen('127.0.0.1', port)).toBe(true);
      expect(await stack.wipeState('nomad_server')).toMatch(/^Nomad server state wiped: 0 jobs and 0 allocations forgotten/);
    } finally {
      await stack.down();
    }
  });
});
