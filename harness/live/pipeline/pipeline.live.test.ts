/**
 * The live pipeline v0: a push to the fake GHE → frontend (HTTP, signed webhook) → PostgreSQL `builds` +
 * RabbitMQ `run-queue` → picard-dispatcher (GHE contents API) → `schedulerer` → the twin's Nomad API → the
 * build-agent task runner → output-processor (Redis, then PostgreSQL). Real processes, real protocols.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { isPortOpen, MongoProvider, PostgresProvider, RabbitMQProvider, RedisProvider, type DocumentStore, type StartedMongo, type StartedPostgres, type StartedRabbitMQ, type StartedRedis } from '../../providers/index.ts';
import { FakeGithub, type StartedFakeGithub } from '../../github/server.ts';
import { defaultSeedData } from '../../github/state.ts';
import { GithubClient } from '../../github/client.ts';
import { NomadApiServer, type StartedNomadApiServer } from '../../nomad/server.ts';
import { NomadClient } from '../../nomad/client.ts';
import { Frontend } from './frontend.ts';
import { PicardDispatcher } from './picard-dispatcher.ts';
import { Schedulerer } from './schedulerer.ts';
import { OutputProcessor, outputKey } from './output-processor.ts';
import { BuildAgentRunner } from './build-agent-runner.ts';
import { ledger, queueTimePercentiles } from './ledger.ts';
import { TWO_CONTAINER_CONFIG as CONFIG } from './test-config.ts';
import { ACTION_LOGS, PIPELINE_DB, PIPELINE_MIGRATIONS, RUN_QUEUE } from './schema.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../../providers/missing-packages.ts';

const REPO = 'GERey/pipeline';
const SECRET = 'pipeline-hook-secret';

let pgh: StartedPostgres | undefined;
let redisH: StartedRedis | undefined;
let mongo: StartedMongo | undefined;
let documents: DocumentStore;
let mq: StartedRabbitMQ | undefined;
let ghe: StartedFakeGithub | undefined;
let nomad: StartedNomadApiServer | undefined;
let pool: pg.Pool | undefined;
let redis: Redis | undefined;
let frontend: Frontend | undefined;
let dispatcher: PicardDispatcher | undefined;
let schedulerer: Schedulerer | undefined;
let outputProcessor: OutputProcessor | undefined;
let nomadClient: NomadClient;
let pushes = 0;
const timings: Record<string, number> = {};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function push() {
  pushes++;
  return ghe!.push(REPO, { files: { 'build.txt': `build ${pushes}\n` }, message: `commit ${pushes}` });
}

async function statuses(ids: number[]): Promise<string[]> {
  const r = await pool!.query<{ status: string }>('SELECT status FROM builds WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
  return r.rows.map((x) => x.status);
}

async function runQueueDepth(): Promise<number> {
  const conn = await mq!.connect();
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(RUN_QUEUE)).messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function buildIdsOf(shas: string[]): Promise<number[]> {
  const r = await pool!.query<{ id: string }>('SELECT id FROM builds WHERE sha = ANY($1::text[]) ORDER BY id', [shas]);
  return r.rows.map((x) => Number(x.id));
}

// Without the Debian packages (a fresh machine; `.ci/run` installs them) these skip, saying why in one line.
const noLocal = missingPackagesReason('live pipeline v0 (private PostgreSQL, Redis and RabbitMQ)', [LOCAL_PROGRAMS.postgres(), LOCAL_PROGRAMS.redis(), LOCAL_PROGRAMS.rabbitmq()]);

describe.skipIf(noLocal !== undefined)('live pipeline v0', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    [pgh, redisH, mq, mongo] = await Promise.all([
      new PostgresProvider().withBackend('local').withDatabases([PIPELINE_DB]).start(),
      new RedisProvider().withBackend('local').start(),
      new RabbitMQProvider().withBackend('local').start(),
      new MongoProvider().start(),
    ]);
    documents = mongo.store('circle');
    timings.providersMs = Date.now() - t0;
    await pgh.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS);
    pool = new pg.Pool({ connectionString: pgh.urlFor(PIPELINE_DB), max: 10 });
    pool.on('error', () => undefined);
    redis = redisH.client();
    const connect = () => mq!.connect({ timeoutMs: 2_000 });

    outputProcessor = new OutputProcessor({ pool, redis, documents });
    await outputProcessor.start();
    const runner = new BuildAgentRunner({ outputProcessorUrl: () => outputProcessor!.url });
    nomad = await new NomadApiServer()
      .withPort(0)
      .withClients([
        { name: 'ip-10-0-0-1', cpus: 8, memoryGb: 32 },
        { name: 'ip-10-0-0-2', cpus: 8, memoryGb: 32 },
      ])
      .withTaskRunner(runner)
      .start();
    nomadClient = new NomadClient({ address: nomad.url });

    frontend = new Frontend({ pool, connect, webhookSecret: SECRET });
    await frontend.start();
    const seed = defaultSeedData();
    ghe = await new FakeGithub()
      .withPort(0)
      .withSeedData({
        ...seed,
        repos: [
          ...(seed.repos ?? []),
          { owner: 'GERey', name: 'pipeline', default_branch: 'master', files: { '.circleci/config.yml': CONFIG }, hooks: [{ url: frontend.hookUrl, secret: SECRET, content_type: 'json', events: ['push'] }] },
        ],
      })
      .start();
    const github = new GithubClient({ apiUrl: ghe.apiUrl, token: ghe.tokenFor('GERey') });

    dispatcher = new PicardDispatcher({ connect, github });
    schedulerer = new Schedulerer({ connect, pool, nomad: new NomadClient({ address: nomad.url, timeoutMs: 3_000 }) });
    await Promise.all([dispatcher.start(), schedulerer.start()]);
    timings.bootMs = Date.now() - t0;
  });

  afterAll(async () => {
    const quiet = async (f: () => unknown) => {
      try {
        await f();
      } catch {
        /* cleanup goes on */
      }
    };
    await quiet(() => dispatcher?.stop());
    await quiet(() => schedulerer?.stop());
    await quiet(() => frontend?.stop());
    await quiet(() => ghe?.stop());
    await quiet(() => nomad?.stop());
    await quiet(() => outputProcessor?.stop());
    await quiet(() => pool?.end());
    await quiet(() => redis?.quit());
    await quiet(() => mq?.stop());
    await quiet(() => mongo?.stop());
    await quiet(() => redisH?.stop());
    await quiet(() => pgh?.stop());
    console.log('pipeline timings (ms):', JSON.stringify(timings));
  });

  it('runs 10 pushes through to succeeded builds with 2 allocations each', async () => {
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => push()));
    expect(results.every((r) => r.deliveries.length === 1 && r.deliveries[0]!.ok)).toBe(true);
    const ids = await buildIdsOf(results.map((r) => r.commit.sha));
    expect(ids).toHaveLength(10);
    await waitFor('10 succeeded builds', async () => (await statuses(ids)).every((s) => s === 'succeeded'), 20_000);
    timings.tenBuildsMs = Date.now() - t0;
    for (const id of ids) {
      // Parallelism 2: two Nomad jobs, one per container, as the seeds say.
      const allocs = (await Promise.all([0, 1].map((i) => nomadClient.jobAllocations(`build-${id}-${i}`)))).flat();
      expect(allocs).toHaveLength(2);
      expect(allocs.every((a) => a.ClientStatus === 'complete')).toBe(true);
      const out = await documents.collection<{ build_id: number; lines: string[] }>(ACTION_LOGS).findOne({ build_id: id });
      expect(out?.lines).toHaveLength(6);
      expect(await redis!.exists(outputKey(id))).toBe(0);
    }
    const q = await pool!.query<{ ms: number }>('SELECT EXTRACT(EPOCH FROM (started_at - queued_at)) * 1000 AS ms FROM builds WHERE id = ANY($1::bigint[])', [ids]);
    expect(q.rows.every((r) => Number(r.ms) > 0)).toBe(true);
    const p = await queueTimePercentiles(pool!);
    timings.queueP50Ms = Math.round(p.p50);
    timings.queueMaxMs = Math.round(p.max);
    expect(await ledger(pool!)).toMatchObject({ triggered: 10, succeeded: 10, queued: 0, running: 0, scheduled: 0 });
  });

  it('queues in run-queue while picard-dispatcher is down, and loses nothing when it returns', async () => {
    await dispatcher!.stop();
    const results = await Promise.all(Array.from({ length: 5 }, () => push()));
    expect(results.every((r) => r.deliveries[0]!.ok)).toBe(true);
    const ids = await buildIdsOf(results.map((r) => r.commit.sha));
    expect(ids).toHaveLength(5);
    expect(await runQueueDepth()).toBe(5);
    await sleep(1_000);
    expect(await statuses(ids)).toEqual(Array(5).fill('queued'));
    const t0 = Date.now();
    await dispatcher!.start();
    await waitFor('5 succeeded builds', async () => (await statuses(ids)).every((s) => s === 'succeeded'), 15_000);
    timings.backlogDrainMs = Date.now() - t0;
    expect(await runQueueDepth()).toBe(0);
    expect(await ledger(pool!)).toMatchObject({ triggered: 15, succeeded: 15, queued: 0 });
  });

  it('loses the non-durable run-queue when RabbitMQ is SIGKILLed; pushes during the outage are not triggered', async () => {
    await dispatcher!.stop();
    const queuedPushes = await Promise.all(Array.from({ length: 4 }, () => push()));
    expect(queuedPushes.every((r) => r.deliveries[0]!.ok)).toBe(true);
    const lostIds = await buildIdsOf(queuedPushes.map((r) => r.commit.sha));
    expect(lostIds).toHaveLength(4);
    expect(await runQueueDepth()).toBe(4);

    const pid = mq!.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor('the broker port to close', async () => !(await isPortOpen('127.0.0.1', mq!.port)), 5_000);
    await waitFor('schedulerer to see the connection drop', async () => !schedulerer!.connected, 5_000);
    const down = await push();
    expect(down.deliveries).toHaveLength(1);
    expect(down.deliveries[0]!.ok).toBe(false);
    expect(down.deliveries[0]!.statusCode).toBe(500);
    expect(await buildIdsOf([down.commit.sha])).toEqual([]);

    const t0 = Date.now();
    await mq!.restart();
    timings.rabbitRestartMs = Date.now() - t0;
    await dispatcher!.start();
    await waitFor('schedulerer to reconnect', async () => schedulerer!.connected, 10_000);
    expect(await runQueueDepth()).toBe(0);

    // After the outage the pipeline works again...
    const after = await push();
    expect(after.deliveries[0]!.ok).toBe(true);
    const [afterId] = await buildIdsOf([after.commit.sha]);
    await waitFor('the post-outage build', async () => (await statuses([afterId!]))[0] === 'succeeded', 15_000);
    // ...but the 4 builds whose messages were in the non-durable queue stay queued forever.
    expect(await statuses(lostIds)).toEqual(Array(4).fill('queued'));

    const l = await ledger(pool!, ghe!.deliveries({ repo: REPO, event: 'push' }), { stuckAfterMs: 1_000 });
    expect(l).toMatchObject({ triggered: 20, succeeded: 16, queued: 4, running: 0, scheduled: 0 });
    expect(l.lost).toEqual({ notTriggered: 1, stuckQueued: lostIds });
  });
});
