/**
 * Tarball backups live: `twin dr scenarios/dr/tarball-backup-restore.yaml --mode live` (circleci-backup on the
 * schedule, the Services machine terminated, a clean install launched and circleci-restore run on it), its RTO, RPO
 * and losses checked against what was written before and after the backup, read back from the restored PostgreSQL;
 * and circleci-restore on a running installation: its data moved to /data/circleci-restore-*, the tarball's loaded,
 * a corrupt or missing tarball refused with nothing touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { LiveStack } from '../live/stack.ts';
import { liveBackends } from '../live/backends.ts';
import { FOLLOWED_REPO } from '../live/pipeline-services.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { StartedEc2Api } from '../ec2/server.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import type { StartedPostgres } from '../providers/index.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import type { LivePush } from './live-rehearsal.ts';
import { runTarballDr } from './tarball-rehearsal.ts';
import { circleciBackup } from './circleci-backup.ts';
import { circleciRestore, RestoreError } from './circleci-restore.ts';
import { ServicesMachine } from './services-machine.ts';
import { replicatedAddresses, updateReplicatedAddresses } from './services-volume.ts';
import { oneJobConfig } from './one-job-config.ts';

const run = promisify(execFile);
/** Documented ports at 17000 + port: clear of the EBS rehearsal's 16000, dr-kinds' 18000 and dr-failover's 19000. */
const PORT_OFFSET = 17_000;

/** Whether `sha` is written anywhere under `dir` (a moved-aside PostgreSQL data dir holds it in its heap or WAL). */
async function holds(dir: string, sha: string): Promise<boolean> {
  const r = await run('grep', ['-rlaF', sha, dir]).catch((e: { code?: number }) => ({ stdout: '', code: e.code }));
  return r.stdout.trim() !== '';
}

describe('tarball backups live', () => {
  it('tarball-backup-restore: the tarball of 3h restored on a clean install; what was written before it is back, what came after is counted lost, the clean install\'s own builds moved aside', async () => {
    const scenario = loadScenarioFile('scenarios/dr/tarball-backup-restore.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    let present = new Set<string>();
    let aside: string[] = [];
    let stuckAtEnd = -1;
    const report: DrReport = await runTarballDr(scenario, loadRunbook('restore-from-tarball'), {
      portOffset: PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        pushes = made;
        present = new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
        stuckAtEnd = Number((await postgres.query<{ n: string }>(PIPELINE_DB, "SELECT count(*) AS n FROM builds WHERE status IN ('queued', 'scheduled', 'running')")).rows[0]!.n);
        aside = readdirSync(machine.dataDir).filter((d) => d.startsWith('circleci-restore-'));
      },
    });
    process.stderr.write(`${JSON.stringify({ rto_ms: report.rto_ms, rpo_ms: report.rpo_ms, builds: report.builds, backups: report.dr.backups.list, live: report.live }, null, 1)}\n`);
    const delivered = (phase: LivePush['phase']) => pushes.filter((p) => p.phase === phase && p.delivered);
    // The schedule: one backup every hour; the acted window (2h50m-3h30m) holds the one of 3h, restored.
    const list = report.dr.backups.list;
    expect(list.map((b) => b.at_ms)).toEqual([3 * 3_600_000]);
    expect(list[0]!.size_bytes).toBeGreaterThan(1000);
    expect(list[0]!.duration_ms).toBeGreaterThan(0);
    expect(list[0]!.usable).toBe(true);
    expect(list[0]!.age_ms).toBe(report.rpo_ms);
    expect(report.dr.restored_from_ms).toBe(3 * 3_600_000);
    // Written before the backup: every one is back.
    expect(delivered('before_snapshot').length).toBeGreaterThan(0);
    expect(delivered('before_snapshot').every((p) => present.has(p.sha))).toBe(true);
    // Written after it and before the disaster: gone, and counted (those pushed while pg_dump ran may be in the dump).
    const afterBackup = delivered('after_snapshot');
    expect(afterBackup.length).toBeGreaterThan(0);
    expect(present.has(afterBackup.at(-1)!.sha)).toBe(false);
    const goneAfterBackup = afterBackup.filter((p) => !present.has(p.sha)).length;
    expect(report.dr.records_written_after_backup).toBe(goneAfterBackup);
    // The clean install took webhooks before circleci-restore: those builds went to /data/circleci-restore-* with its data.
    const movedAside = delivered('outage').filter((p) => !present.has(p.sha)).length;
    expect(aside).toHaveLength(1);
    expect((report.live as { restore: { workflows_moved_aside: number } }).restore.workflows_moved_aside).toBe(movedAside);
    expect(report.dr.records_lost_at_restore).toBe(movedAside);
    expect(report.builds.lost).toBe(goneAfterBackup + movedAside);
    // The installation is back: builds after the restore were built.
    expect(delivered('after_restore').length).toBeGreaterThan(0);
    expect(delivered('after_restore').every((p) => present.has(p.sha))).toBe(true);
    expect(report.builds.stuck).toBe(stuckAtEnd);
    const b = report.builds;
    expect(b.succeeded + b.failed + b.lost + b.stuck).toBe(b.triggered);
    expect(report.webhooks_dropped).toBe(pushes.filter((p) => !p.delivered).length);
    // RPO: the tarball's dumps began 10 minutes of scenario time before the disaster (the disaster's wait for the
    // tarball, the workload paused, not counted). RTO: wall time to the first new success.
    expect(report.rpo_ms).toBeGreaterThanOrEqual(540_000);
    expect(report.rpo_ms).toBeLessThanOrEqual(720_000);
    expect(report.rto_ms).not.toBeNull();
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('restore-from-tarball').steps.map((s) => [s.name, 'done']));
    expect(report.runbook.find((s) => s.step === 'restore_tarball')!.consequence).toMatch(/^circleci-restore loaded \d+ workflows/);
    // The tarball holds no /opt/nomad: the clean install's Nomad starts empty.
    expect(report.dr.stale_allocations_restored).toBe(0);
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
  }, 900_000);

  describe('circleci-restore on a running installation', () => {
    const profile = loadProfile('2.19.6');
    const parts = liveBackends(profile);
    const stack = new LiveStack({ profile, portOffset: PORT_OFFSET, backends: parts.backends, externals: parts.externals, services: parts.services, migrate: parts.migrate });
    const dir = mkdtempSync(join(tmpdir(), 'twin-restore-'));
    let machine: ServicesMachine | undefined;
    const pg = () => stack.components.get('postgres') as StartedPostgres;
    const shas = async () => new Set((await pg().query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
    const push = async (message: string) => {
      const pushed = await (stack.components.get('github') as StartedFakeGithub).push(FOLLOWED_REPO, { files: { '.circleci/config.yml': oneJobConfig(200) }, message });
      expect(pushed.deliveries.map((d) => d.statusCode), `${message}: ${JSON.stringify(pushed.deliveries.map((d) => (d as { response?: unknown }).response))}`).toEqual([200]);
      return pushed.commit.sha;
    };
    afterAll(async () => {
      await stack.down();
      await machine?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('moves the running installation\'s data to /data/circleci-restore-*, loads the tarball, and refuses a corrupt or missing one touching nothing', async () => {
      const failed = await stack.up();
      expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
      machine = await ServicesMachine.attach(stack, stack.components.get('ec2') as StartedEc2Api, { nomadClients: 1 });
      const ip = replicatedAddresses(machine.etcDir)[0]!;
      const before = await push('before the backup');
      const backup = await circleciBackup(stack, machine.etcDir, join(dir, 'backup'));
      const after = await push('after the backup');
      // A change to the configuration files after the backup: the restore puts the tarball's back.
      updateReplicatedAddresses(machine.etcDir, ip, '10.9.9.9');

      // A corrupt tarball (cut short, as an interrupted download leaves it) and a missing one: refused, nothing touched.
      const cut = join(dir, 'cut.tar.bz2');
      writeFileSync(cut, readFileSync(backup.path).subarray(0, Math.floor(statSync(backup.path).size / 2)));
      await expect(circleciRestore(stack, machine, cut)).rejects.toThrow(/is corrupt: .*nothing was restored/);
      await expect(circleciRestore(stack, machine, join(dir, 'nope.tar.bz2'))).rejects.toThrow(RestoreError);
      expect(readdirSync(machine.dataDir)).toEqual([]);
      expect(machine.appRunning).toBe(true);
      expect(await shas()).toEqual(new Set([before, after]));

      const r = await circleciRestore(stack, machine, backup.path);
      process.stderr.write(`circleci-restore: ${JSON.stringify(r)}\n`);
      expect(r.movedAsideTo).toMatch(/\/circleci-restore-\d{8}T\d{6}Z$/);
      expect(readdirSync(machine.dataDir)).toEqual([r.movedAsideTo!.split('/').at(-1)]);
      expect(r.loaded.map((l) => l.name)).toEqual(expect.arrayContaining(['postgres', 'redis', 'rabbitmq', 'mongo', 'etc']));
      // The tarball's data is what the installation holds: the build before the backup, not the one after.
      expect(await shas()).toEqual(new Set([before]));
      expect(replicatedAddresses(machine.etcDir)).toEqual([ip, ip]);
      // The build after it is in the moved-aside data (its PostgreSQL data dir), with the changed configuration.
      expect(existsSync(join(r.movedAsideTo!, 'postgres'))).toBe(true);
      expect(await holds(join(r.movedAsideTo!, 'postgres'), after)).toBe(true);
      expect(replicatedAddresses(join(r.movedAsideTo!, 'etc'))).toEqual(['10.9.9.9', '10.9.9.9']);
      // The app is back: once every health endpoint answers, a webhook is taken and recorded.
      expect(machine.appRunning).toBe(true);
      const deadline = Date.now() + 120_000;
      for (;;) {
        await stack.refreshHealth();
        const failing = [...stack.rows.values()].filter((row) => row.healthUrl !== undefined && row.state !== 'healthy').map((row) => row.name);
        if (failing.length === 0) break;
        if (Date.now() > deadline) throw new Error(`not healthy 120 s after circleci-restore: ${failing.join(', ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const next = await push('after the restore');
      expect((await shas()).has(next)).toBe(true);
    }, 600_000);
  });
});
