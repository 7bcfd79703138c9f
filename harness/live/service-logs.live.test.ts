/**
 * `sudo docker logs` on the live stack: the services write their own lines as they work, in the seeds' shapes.
 * picard-dispatcher takes a pushed build (`taking build=`), says `Still running...` every two minutes of scenario
 * time, and says it cannot reach RabbitMQ once RabbitMQ is killed; notifier (output-processor's stage) says what it
 * could not push to a killed slanger; a real component's log is its process's output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack } from './stack.ts';
import { liveBackends } from './backends.ts';
import { FOLLOWED_REPO } from './pipeline-services.ts';
import { PIPELINE_DB } from './pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import type { StartedPostgres } from '../providers/index.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import { TWO_CONTAINER_CONFIG as CONFIG } from './pipeline/test-config.ts';
import { LOG_LINES } from '../../sim/symptoms/log-lines.ts';

/** No other test's offset puts a documented port on the same number (the others are multiples of 1000). */
const PORT_OFFSET = 25_500;
/** 240x: picard-dispatcher's two-minute heartbeat every 500 ms, a `cannot reach` line every 250 ms at most. */
const TIME_SCALE = 240;

describe('the live services write their own logs', () => {
  const profile = loadProfile('2.19.6');
  // RabbitMQ embedded (the twin's broker in a child process): a local rabbitmq-server did not listen within 60 s at
  // a load average of 21 (nice 19). Redis stays local: its log is redis-server's own output.
  const { backends, externals, migrate, services } = liveBackends(profile, { timeScale: TIME_SCALE, choice: { rabbitmq: 'embedded' } });
  const stack = new LiveStack({ profile, portOffset: PORT_OFFSET, backends, externals, services, migrate });
  const component = <T>(name: string) => stack.components.get(name) as T;
  /** The lines of a container that contain `text`. */
  const grep = (name: string, text: string) => stack.logs(name).filter((l) => l.includes(text));
  /** The id of the build of a pushed commit, once it ended (succeeded or failed). */
  async function endedBuild(sha: string): Promise<string> {
    const ended = async () => ((await component<StartedPostgres>('postgres').query(PIPELINE_DB, "SELECT id FROM builds WHERE sha = $1 AND status IN ('succeeded', 'failed')", [sha])).rows[0] as { id: string } | undefined)?.id;
    await expect.poll(ended, { timeout: 60_000, interval: 100 }).toBeDefined();
    return (await ended())!;
  }

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
  }, 300_000);
  afterAll(async () => {
    await stack.down();
  }, 120_000);

  it('a pushed build shows in each stage\'s log as it passes: frontend, picard-dispatcher, schedulerer, output-processor', async () => {
    const pushed = await component<StartedFakeGithub>('github').push(FOLLOWED_REPO, { files: { '.circleci/config.yml': CONFIG }, message: 'logs' });
    expect(pushed.deliveries.map((d) => d.statusCode)).toEqual([200]);
    const id = await endedBuild(pushed.commit.sha);
    const slug = `${FOLLOWED_REPO}/${id}`;
    expect(grep('frontend', LOG_LINES.pushAccepted(FOLLOWED_REPO, slug))).toHaveLength(1);
    // The seeds' line, with the services' prefix: `Jan 9 19:34:44.123:+0000 INFO picard-dispatcher.core taking build=GERey/realitycheck/38`.
    expect(grep('picard-dispatcher', LOG_LINES.taking(slug))[0]).toMatch(/^[A-Z][a-z]{2} \d{1,2} \d\d:\d\d:\d\d\.\d{3}:\+0000 INFO picard-dispatcher\.core taking build=GERey\/realitycheck\/\d+$/);
    expect(grep('picard-dispatcher', LOG_LINES.matchingJobs(slug))).toHaveLength(1);
    expect(grep('schedulerer', `build=${slug} submitted job=build-${id}-`)).toHaveLength(2);
    await expect.poll(() => grep('output-processor', `build=${slug} status=`), { timeout: 10_000 }).toHaveLength(1);
    expect(grep('output-processor', LOG_LINES.agentConnected(slug))).toHaveLength(1);
    // notifier pushed the status change to slanger, which says so in its own log.
    await expect.poll(() => grep('slanger', LOG_LINES.livePushed(slug, 'succeeded')), { timeout: 10_000 }).toHaveLength(1);
    expect(stack.logs('picard-dispatcher')[0]).toMatch(/INFO picard-dispatcher\.init Starting picard-dispatcher$/);
  }, 120_000);

  it('with slanger killed, notifier says the status change was not pushed (the live-updates symptom a live run counts)', async () => {
    await stack.kill('slanger');
    try {
      const pushed = await component<StartedFakeGithub>('github').push(FOLLOWED_REPO, { files: { '.circleci/config.yml': CONFIG }, message: 'no live updates' });
      const slug = `${FOLLOWED_REPO}/${await endedBuild(pushed.commit.sha)}`;
      await expect.poll(() => grep('notifier', LOG_LINES.livePushFailed(slug, 'succeeded')), { timeout: 10_000 }).toHaveLength(1);
      expect(grep('slanger', slug)).toEqual([]);
    } finally {
      await stack.start('slanger');
    }
  }, 120_000);

  it('picard-dispatcher keeps its heartbeat and says it cannot reach RabbitMQ while RabbitMQ is killed; a real component\'s log is its own output', async () => {
    await expect.poll(() => grep('picard-dispatcher', LOG_LINES.stillRunning).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // Followed from before the kill, as `docker logs -f picard-dispatcher` would show it.
    const stop = new AbortController();
    const followed: string[] = [];
    const following = (async () => {
      for await (const line of stack.follow('picard-dispatcher', stop.signal)) {
        followed.push(line);
        if (line.endsWith(LOG_LINES.cannotReach('picard-dispatcher', 'rabbitmq'))) stop.abort();
      }
    })();
    await stack.kill('rabbitmq');
    try {
      await expect.poll(() => stop.signal.aborted, { timeout: 30_000, message: 'the line through follow' }).toBe(true);
      await following;
      const line = grep('picard-dispatcher', 'cannot reach rabbitmq').at(-1)!;
      expect(line).toMatch(/ ERROR picard-dispatcher\.deps cannot reach rabbitmq: connection refused, retrying$/);
      expect(followed.at(-1)).toBe(line);
      // Alive, though idle: its heartbeat goes on while RabbitMQ is away.
      const beats = grep('picard-dispatcher', LOG_LINES.stillRunning).length;
      await expect.poll(() => grep('picard-dispatcher', LOG_LINES.stillRunning).length, { timeout: 10_000 }).toBeGreaterThan(beats);
      expect(stack.logs('picard-dispatcher', { tail: 3 })).toHaveLength(3);
    } finally {
      stop.abort();
      await stack.start('rabbitmq');
    }
    // A real component's log is its process's own output: redis-server's (a local process where one is installed).
    if (stack.rows.get('redis')!.via === 'local') expect(stack.logs('redis').join('\n')).toContain('Ready to accept connections');
    expect(() => stack.logs('no-such-container')).toThrow('No such container: no-such-container');
  }, 120_000);
});
