/**
 * The seeds' zero-downtime `circleci-backup <dir>` against a running live stack: consistent dumps of its real stores
 * in circleci-data-export.tar.bz2, written while a webhook is taken; what was written before it is in the dump,
 * what came after is not.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack } from '../live/stack.ts';
import { liveBackends } from '../live/backends.ts';
import { FOLLOWED_REPO } from '../live/pipeline-services.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import { circleciBackup, TARBALL_NAME } from './circleci-backup.ts';
import { writeMachineConfig } from './services-volume.ts';

import { oneJobConfig } from './one-job-config.ts';

const run = promisify(execFile);

const config = oneJobConfig(200);

describe('circleci-backup on the live stack', () => {
  const profile = loadProfile('2.19.6');
  const parts = liveBackends(profile);
  const stack = new LiveStack({ profile, portOffset: 17_000, backends: parts.backends, externals: parts.externals, services: parts.services, migrate: parts.migrate });
  const dir = mkdtempSync(join(tmpdir(), 'twin-backup-'));
  const etc = join(dir, 'etc');
  const push = async (message: string) => {
    const pushed = await (stack.components.get('github') as StartedFakeGithub).push(FOLLOWED_REPO, { files: { '.circleci/config.yml': config }, message });
    return { sha: pushed.commit.sha, codes: pushed.deliveries.map((d) => d.statusCode) };
  };

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
    writeMachineConfig(etc, '10.0.1.10');
  }, 240_000);
  afterAll(async () => {
    await stack.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes circleci-data-export.tar.bz2 from consistent dumps while the stack takes webhooks; the build before it is in the dump, the one after is not', async () => {
    const before = await push('before the backup');
    expect(before.codes).toEqual([200]);
    const backup = circleciBackup(stack, etc, join(dir, 'out'));
    // No downtime: a webhook delivered while the exports run is answered.
    const during = await push('during the backup');
    const b = await backup;
    expect(during.codes).toEqual([200]);
    const after = await push('after the backup');
    expect(after.codes).toEqual([200]);

    expect(b.path).toBe(join(dir, 'out', TARBALL_NAME));
    expect(existsSync(`${b.path}.partial`)).toBe(false);
    expect(b.bytes).toBeGreaterThan(1000);
    expect(b.durationMs).toBeGreaterThan(0);
    process.stderr.write(`circleci-backup: ${b.bytes} bytes in ${b.durationMs} ms; parts ${b.parts.map((p) => `${p.name} ${p.bytes} B`).join(', ')}; not in it: ${JSON.stringify(b.notInTarball)}\n`);
    expect(b.parts.map((p) => p.name)).toEqual(expect.arrayContaining(['postgres', 'redis', 'rabbitmq', 'mongo', 'etc']));

    const x = join(dir, 'x');
    await run('mkdir', ['-p', x]);
    await run('tar', ['-xjf', b.path, '-C', x]);
    const manifest = JSON.parse(readFileSync(join(x, 'manifest.json'), 'utf8'));
    expect(manifest.parts.map((p: { name: string }) => p.name)).toEqual(b.parts.map((p) => p.name));
    // PostgreSQL: the pipeline's builds table in the dump holds the build written before, not the one after.
    const { stdout: builds } = await run('pg_restore', ['--data-only', '--table=builds', '--file=-', join(x, 'postgres', `${PIPELINE_DB}.dump`)], { maxBuffer: 64 * 1024 * 1024 });
    expect(builds).toContain(before.sha);
    expect(builds).not.toContain(after.sha);
    // Redis's own RDB image, RabbitMQ's definitions with the pipeline's queues, the configuration files.
    expect(readFileSync(join(x, 'redis', 'dump.rdb')).subarray(0, 5).toString()).toBe('REDIS');
    const defs = JSON.parse(readFileSync(join(x, 'rabbitmq', 'definitions.json'), 'utf8')) as { queues: unknown[] };
    expect(defs.queues.length).toBeGreaterThan(0);
    expect(readFileSync(join(x, 'etc', 'default', 'replicated'), 'utf8')).toContain('PRIVATE_ADDRESS=10.0.1.10');
  }, 240_000);
});
