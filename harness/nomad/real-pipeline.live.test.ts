/**
 * A push to the fake GitHub Enterprise built end to end on a real `nomad agent -dev`: frontend → picard-dispatcher
 * → schedulerer, whose two jobs (parallelism 2) a real Nomad places and runs as raw_exec build agents, which
 * report to output-processor; `nomad alloc logs` shows their steps. Skipped with one line without a `nomad` binary.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { MongoProvider, PostgresProvider, RabbitMQProvider, RedisProvider, type StartedMongo, type StartedPostgres, type StartedRabbitMQ, type StartedRedis } from '../providers/index.ts';
import { which } from '../providers/process.ts';
import { FakeGithub, type StartedFakeGithub } from '../github/server.ts';
import { defaultSeedData } from '../github/state.ts';
import { GithubClient } from '../github/client.ts';
import { Frontend } from '../live/pipeline/frontend.ts';
import { PicardDispatcher } from '../live/pipeline/picard-dispatcher.ts';
import { Schedulerer } from '../live/pipeline/schedulerer.ts';
import { OutputProcessor } from '../live/pipeline/output-processor.ts';
import { TWO_CONTAINER_CONFIG as CONFIG } from '../live/pipeline/test-config.ts';
import { PIPELINE_DB, PIPELINE_MIGRATIONS } from '../live/pipeline/schema.ts';
import { realNomadJobs } from './build-agent-task.ts';
import { runNomadCli } from './cli-contract.ts';
import { NomadClient } from './client.ts';
import { RealNomadAgent, type StartedRealNomadAgent } from './real-nomad.ts';

const REPO = 'GERey/pipeline';
const SECRET = 'real-nomad-hook-secret';
const binary = which('nomad');

describe.skipIf(binary === undefined)(`a push built on a real nomad agent -dev (${binary ?? 'skipped: no `nomad` binary on PATH'})`, () => {
  const stops: (() => unknown)[] = [];
  let pool: pg.Pool;
  let ghe: StartedFakeGithub;
  let agent: StartedRealNomadAgent;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twin-real-pipeline-'));
    stops.push(() => rmSync(dir, { recursive: true, force: true }));
    const [pgh, redisH, mq, mongo]: [StartedPostgres, StartedRedis, StartedRabbitMQ, StartedMongo] = await Promise.all([
      new PostgresProvider().withDatabases([PIPELINE_DB]).start(),
      new RedisProvider().start(),
      new RabbitMQProvider().start(),
      new MongoProvider().start(),
    ]);
    stops.push(() => pgh.stop(), () => redisH.stop(), () => mq.stop(), () => mongo.stop());
    agent = await new RealNomadAgent().withBinary(binary!).start();
    stops.push(() => agent.stop());
    await pgh.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS);
    pool = new pg.Pool({ connectionString: pgh.urlFor(PIPELINE_DB), max: 5 });
    pool.on('error', () => undefined);
    stops.push(() => pool.end());
    const redis: Redis = redisH.client();
    stops.push(() => redis.quit());
    const connect = () => mq.connect({ timeoutMs: 2_000 });
    const output = new OutputProcessor({ pool, redis, documents: mongo.store('circle') });
    await output.start();
    stops.push(() => output.stop());
    const urlFile = join(dir, 'output-processor.url');
    writeFileSync(urlFile, output.url);
    const frontend = new Frontend({ pool, connect, webhookSecret: SECRET });
    await frontend.start();
    stops.push(() => frontend.stop());
    const seed = defaultSeedData();
    ghe = await new FakeGithub()
      .withPort(0)
      .withSeedData({
        ...seed,
        repos: [...(seed.repos ?? []), { owner: 'GERey', name: 'pipeline', default_branch: 'master', files: { '.circleci/config.yml': CONFIG }, hooks: [{ url: frontend.hookUrl, secret: SECRET, content_type: 'json', events: ['push'] }] }],
      })
      .start();
    stops.push(() => ghe.stop());
    const dispatcher = new PicardDispatcher({ connect, github: new GithubClient({ apiUrl: ghe.apiUrl, token: ghe.tokenFor('GERey') }) });
    const nomad = new NomadClient({ address: agent.url, timeoutMs: 5_000 });
    const schedulerer = new Schedulerer({ connect, pool, nomad, ...(await realNomadJobs(nomad, { outputProcessorUrlFile: urlFile, timeScale: 1 })) });
    await Promise.all([dispatcher.start(), schedulerer.start()]);
    stops.push(() => dispatcher.stop(), () => schedulerer.stop());
  }, 180_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await Promise.resolve().then(stop).catch(() => undefined);
  }, 60_000);

  it('runs the build: two Nomad jobs, real allocations complete, the step output in nomad alloc logs', async () => {
    const r = await ghe.push(REPO, { files: { 'build.txt': 'on a real agent\n' }, message: 'real nomad' });
    expect(r.deliveries[0]?.ok).toBe(true);
    const deadline = Date.now() + 90_000;
    let row: { id: string; status: string } | undefined;
    for (;;) {
      row = (await pool.query<{ id: string; status: string }>('SELECT id, status FROM builds WHERE sha = $1', [r.commit.sha])).rows[0];
      if (row?.status === 'succeeded' || row?.status === 'failed' || row?.status === 'lost') break;
      if (Date.now() > deadline) throw new Error(`build of ${r.commit.sha} not done after 90 s (status ${row?.status ?? 'none'})`);
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(row!.status).toBe('succeeded');
    const client = new NomadClient({ address: agent.url });
    for (const i of [0, 1]) {
      const jobId = `build-${row!.id}-${i}`;
      // The build is done once output-processor has both reports; the client reports its task's exit a moment later.
      let allocs = await client.jobAllocations(jobId);
      for (const until = Date.now() + 30_000; allocs[0]?.ClientStatus === 'running' && Date.now() < until; ) {
        await new Promise((res) => setTimeout(res, 250));
        allocs = await client.jobAllocations(jobId);
      }
      expect(allocs.map((a) => a.ClientStatus)).toEqual(['complete']);
      const logs = await runNomadCli(binary!, agent.url, ['alloc', 'logs', allocs[0]!.ID]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toContain(`[${i}] step 1: Spin up environment`);
      expect(logs.stdout).toContain(`[${i}] all steps passed`);
    }
  }, 120_000);
});
