/**
 * `twin up` carries real traffic: the live stack booted as `twin up` boots it (liveBackends with its defaults),
 * its six pipeline containers as the real stages, and a push to the fake GitHub Enterprise built end to end.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { owned } from '../providers/reaper/owned-records.ts';
import { LiveStack } from './stack.ts';
import { liveBackends } from './backends.ts';
import { FOLLOWED_REPO } from './pipeline-services.ts';
import { ACTION_LOGS, PIPELINE_DB } from './pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { isPortOpen, type StartedMongo, type StartedPostgres, type StartedS3 } from '../providers/index.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import { TWO_CONTAINER_CONFIG as CONFIG } from './pipeline/test-config.ts';

const STAGES = ['frontend', 'dispatcher', 'picard-dispatcher', 'schedulerer', 'output-processor', 'workflows-conductor', 'audit-log-service', 'contexts-service', 'vault-cci', 'vm-service'];

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('twin up with the pipeline stages', () => {
  const profile = loadProfile('2.19.6');
  const { backends, externals, migrate, services } = liveBackends(profile);
  const stack = new LiveStack({ profile, portOffset: 14_000, backends, externals, services, migrate });
  const component = <T>(name: string) => stack.components.get(name) as T;

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
  });
  afterAll(async () => {
    await stack.down();
  });

  it('runs the ten pipeline containers as stages in worker threads of their own, each answering its health endpoint with 200', async () => {
    await stack.refreshHealth();
    for (const name of STAGES) {
      const row = stack.rows.get(name)!;
      expect(row, name).toMatchObject({ kind: 'service', backend: 'twin pipeline stage (worker thread)', state: 'healthy', pid: process.pid });
      const res = await fetch(row.healthUrl!);
      expect(res.status, name).toBe(200);
    }
    expect(stack.rows.get('frontend')!.healthUrl).toBe('http://127.0.0.1:14080/health-check');
    expect(stack.rows.get('workflows-conductor')!.healthUrl).toBe('http://127.0.0.1:23999/healthcheck');
    expect(stack.rows.get('output-processor')!.ports).toEqual(['127.0.0.1:22585->8585/tcp']);
    expect((await fetch(stack.rows.get('ready-agent')!.healthUrl!)).status).toBe(200);
  });

  /** Pushes the two-container config and waits for its build to end; returns the build's status. */
  async function pushAndBuild(message: string): Promise<string> {
    const pushed = await component<StartedFakeGithub>('github').push(FOLLOWED_REPO, { files: { '.circleci/config.yml': CONFIG }, message });
    expect(pushed.deliveries.map((d) => d.statusCode)).toEqual([200]);
    return waitFor(
      `the build of "${message}" to end`,
      async () => {
        const r = await component<StartedPostgres>('postgres').query(PIPELINE_DB, 'SELECT status FROM builds WHERE sha = $1', [pushed.commit.sha]);
        const status = (r.rows[0] as { status: string } | undefined)?.status;
        return status === 'succeeded' || status === 'failed' ? status : undefined;
      },
      30_000,
    );
  }

  it('builds a push: webhook → frontend → picard-dispatcher → schedulerer → Nomad → build agent → output-processor → workflows-conductor', async () => {
    const ghe = component<StartedFakeGithub>('github');
    const pushed = await ghe.push(FOLLOWED_REPO, { files: { '.circleci/config.yml': CONFIG }, message: 'twin up carries traffic' });
    expect(pushed.deliveries.map((d) => d.statusCode)).toEqual([200]);
    const postgres = component<StartedPostgres>('postgres');
    const build = await waitFor(
      'the build to succeed',
      async () => {
        const r = await postgres.query(PIPELINE_DB, 'SELECT b.id, b.status, w.status AS workflow FROM builds b JOIN workflows w ON w.id = b.workflow_id WHERE b.sha = $1', [pushed.commit.sha]);
        const row = r.rows[0] as { id: string; status: string; workflow: string } | undefined;
        return row?.status === 'succeeded' && row.workflow === 'succeeded' ? { id: Number(row.id) } : undefined;
      },
      30_000,
    );
    const logs = await component<StartedMongo>('mongo').store(PIPELINE_DB).collection(ACTION_LOGS).find({ build_id: build.id });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ status: 'succeeded' });
    // Three lines from each of the two parallel containers.
    expect((logs[0] as unknown as { lines: string[] }).lines).toHaveLength(6);
    const objects = component<StartedS3>('s3').store();
    expect((await objects.list(`action-logs/${build.id}/`)).length).toBeGreaterThan(0);
    // audit-log-service writes what frontend, schedulerer and output-processor fired, a file a second.
    await waitFor('an audit log file', async () => ((await objects.list('audit-logs/audit_log/v1/')).length > 0 ? true : undefined), 5_000);
  });

  it("places a job by the profile's resource classes, as the simulation and the replay do (docker:small is not among picard-dispatcher's defaults)", async () => {
    const pushed = await component<StartedFakeGithub>('github').push(FOLLOWED_REPO, { files: { '.circleci/config.yml': CONFIG.replace('    parallelism: 2\n', '    parallelism: 2\n    resource_class: small\n') }, message: 'a small job' });
    const row = await waitFor(
      'the small build to end',
      async () => {
        const r = await component<StartedPostgres>('postgres').query(PIPELINE_DB, 'SELECT status, reason FROM builds WHERE sha = $1', [pushed.commit.sha]);
        const b = r.rows[0] as { status: string; reason: string | null } | undefined;
        return b?.status === 'succeeded' || b?.status === 'failed' ? b : undefined;
      },
      30_000,
    );
    expect(row).toMatchObject({ status: 'succeeded' });
  });

  it('pauses a stage (its thread blocked: the health check times out while its port stays open) and lets it go again', async () => {
    const url = stack.rows.get('schedulerer')!.healthUrl!;
    stack.pause('schedulerer');
    expect(stack.rows.get('schedulerer')!.state).toBe('paused');
    await expect(fetch(url, { signal: AbortSignal.timeout(1_000) })).rejects.toThrow();
    expect(await isPortOpen('127.0.0.1', Number(new URL(url).port))).toBe(true);
    stack.unpause('schedulerer');
    expect((await fetch(url, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    await expect(pushAndBuild('after schedulerer was paused')).resolves.toBe('succeeded');
  });

  it('kills output-processor: its row says killed and its health endpoint stops answering', async () => {
    const url = stack.rows.get('output-processor')!.healthUrl!;
    await stack.kill('output-processor');
    await expect(fetch(url, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    await stack.refreshHealth();
    expect(stack.rows.get('output-processor')!.state).toBe('killed');
  });

  it('starts output-processor again on its port: healthy, and builds run through it', async () => {
    await stack.start('output-processor');
    const row = stack.rows.get('output-processor')!;
    expect(row).toMatchObject({ state: 'healthy', ports: ['127.0.0.1:22585->8585/tcp'] });
    expect((await fetch(row.healthUrl!)).status).toBe(200);
    await expect(pushAndBuild('after output-processor came back')).resolves.toBe('succeeded');
  });

  it('SIGKILLs RabbitMQ: the consumers answer 500 naming it', async () => {
    await stack.kill('rabbitmq');
    const url = stack.rows.get('picard-dispatcher')!.healthUrl!;
    const failing = await waitFor(
      'picard-dispatcher to report rabbitmq',
      async () => {
        const res = await fetch(url);
        return res.status === 500 ? ((await res.json()) as { failing: string[] }).failing : undefined;
      },
      5_000,
    );
    expect(failing).toEqual(['rabbitmq']);
  });

  it('starts RabbitMQ again (same port, a new pid): the consumers reconnect and a push is built', async () => {
    const before = stack.rows.get('rabbitmq')!.pid;
    await stack.start('rabbitmq');
    expect(stack.rows.get('rabbitmq')!.state).toBe('healthy');
    expect(stack.rows.get('rabbitmq')!.pid).not.toBe(before);
    const url = stack.rows.get('picard-dispatcher')!.healthUrl!;
    await waitFor('picard-dispatcher to answer 200', async () => ((await fetch(url)).status === 200 ? true : undefined), 10_000);
    await expect(pushAndBuild('after rabbitmq came back')).resolves.toBe('succeeded');
  });

  it('down leaves nothing listening: the stages and the components are stopped', async () => {
    const urls = STAGES.map((s) => new URL(stack.rows.get(s)!.healthUrl!));
    const postgres = component<StartedPostgres>('postgres');
    // The dir of the file the raw_exec build agents read output-processor's URL from is the stack's own.
    const urlDir = owned.dirs.filter((d) => basename(d).startsWith('twin-output-processor-url-'));
    expect(urlDir).toHaveLength(1);
    expect(existsSync(join(urlDir[0]!, 'url'))).toBe(true);
    await stack.down();
    for (const u of urls) expect(await isPortOpen('127.0.0.1', Number(u.port)), u.href).toBe(false);
    expect(await isPortOpen('127.0.0.1', postgres.port)).toBe(false);
    expect(existsSync(urlDir[0]!)).toBe(false);
  });
});
