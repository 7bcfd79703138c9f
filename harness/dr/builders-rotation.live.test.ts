/**
 * `twin dr scenarios/dr/ebs-restore-new-ip-rotate-builders.yaml --mode live`: the snapshot restored at a new private
 * IP, the old one not re-associated, then the runbook reassociate-builders for real on the Nomad clients' Auto Scaling
 * group of the twin's EC2 endpoint: the token read from the restored volume, a launch configuration naming the new
 * address with it, every builder terminated and replaced by the group, the new ones registered as Nomad clients.
 * Ports: documented + 24000 (TWIN_DR_ROTATE_PORT_OFFSET moves them).
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { chainRunbooks, type Runbook } from '../../sim/models/dr/runbook.ts';
import { INSTALL_SECRET_TOKEN } from '../../sim/models/dr/dr-rehearsal.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { runLiveDr, type LiveDrInspection, type LivePush } from './live-rehearsal.ts';
import type { BuildersRotation } from './builders-rotation.ts';
import { readSecretToken } from './services-volume.ts';
import { expectRestoredAtSnapshot } from './snapshot-ledger.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';

const PORT_OFFSET = Number(process.env.TWIN_DR_ROTATE_PORT_OFFSET ?? 24_000);
const SCENARIO = 'scenarios/dr/ebs-restore-new-ip-rotate-builders.yaml';

/** What the test reads of the installation before it goes away. */
interface AtEnd {
  pushes: readonly LivePush[];
  present: Set<string>;
  afterRestore: { status: string; started_at: Date | null }[];
  builders: ReturnType<BuildersRotation['builders']>;
  /** The instances that took over the stack's clients (the original builders) and their nodes' status at the end. */
  original: { id: string; status: string | undefined }[];
  token: string | undefined;
  machineIp: string;
  events: string[];
  /** Builds not finished at the end, with the phase of their push (a diagnosis when `builds.stuck` is not 0). */
  unfinished: { phase: string; status: string }[];
}

async function rehearse(scenario: SettledScenario, runbook: Runbook): Promise<{ report: DrReport; end: AtEnd }> {
  let end: AtEnd | undefined;
  const report = await runLiveDr(scenario, runbook, {
    portOffset: PORT_OFFSET,
    log: (line) => process.stderr.write(`${line}\n`),
    inspect: async ({ postgres, pushes, machine, rotation }: LiveDrInspection) => {
      const clients = machine.clients!;
      const shas = pushes.filter((p) => p.phase === 'after_restore' && p.delivered).map((p) => p.sha);
      const tookOver = [...clients.nodeOf.keys()].filter((id) => clients.events.some((e) => e.includes(`${id} running: took over`)));
      end = {
        pushes,
        present: new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha)),
        afterRestore: (await postgres.query<{ status: string; started_at: Date | null }>(PIPELINE_DB, 'SELECT status, started_at FROM builds WHERE sha = ANY($1)', [shas])).rows,
        builders: rotation!.builders(),
        original: tookOver.map((id) => ({ id, status: machine.nomad!.state.scheduler.node(clients.nodeOf.get(id)!)?.status })),
        token: readSecretToken(machine.etcDir),
        machineIp: machine.privateIp,
        events: [...clients.events, ...machine.events.map((e) => e.event)],
        unfinished: (await postgres.query<{ sha: string; status: string }>(PIPELINE_DB, "SELECT DISTINCT ON (sha) sha, status FROM builds ORDER BY sha, id DESC")).rows
          .filter((r) => ['queued', 'scheduled', 'running'].includes(r.status))
          .map((r) => ({ status: r.status, phase: pushes.find((p) => p.sha === r.sha)?.phase ?? 'not pushed by the rehearsal' })),
      };
    },
  });
  return { report, end: end! };
}

describe('twin dr --mode live: the builders rotated onto a new address (reassociate-builders)', () => {
  it('ebs-restore-new-ip-rotate-builders: every builder replaced from a launch configuration naming the new IP with the token; the new ones register and build', async () => {
    const scenario = loadScenarioFile(SCENARIO, { mode: 'live', command: 'dr' });
    const runbook = chainRunbooks(loadRunbook('restore-from-ebs'), [loadRunbook('reassociate-builders')]).runbook as Runbook;
    const { report, end } = await rehearse(scenario, runbook);
    process.stderr.write(`${JSON.stringify({ builds: report.builds, dr: { builders_rotated: report.dr.builders_rotated, reach: report.dr.builders_reach_services }, builders: end.builders, unfinished: end.unfinished, expectations: report.expectations, events: end.events.filter((e) => /builder|register|shutting|Nomad/.test(e)) }, null, 1)}\n`);
    const n = scenario.topology.nomadClients.count;
    // The token as `replicated admin get-secret-token` prints it, read from the restored volume: the installation's, as
    // the simulation's `twin dr` prints it.
    expect(end.token).toBe(INSTALL_SECRET_TOKEN);
    expect(report.runbook.find((s) => s.step === 'get_secret_token')).toMatchObject({ status: 'done', consequence: `export CIRCLE_SECRET_PASSPHRASE='${end.token}'` });
    // Every builder replaced: the group holds n instances, none of the original ones, all from one new launch
    // configuration whose UserData (base64 over the API) names the new address and the token, each a ready Nomad
    // client; the original builders' nodes are down.
    expect(end.original.length).toBe(n);
    expect(end.original.every((o) => o.status === 'down')).toBe(true);
    const inService = end.builders.filter((b) => b.lifecycleState === 'InService');
    expect(inService.length).toBe(n);
    expect(inService.filter((b) => end.original.some((o) => o.id === b.instanceId))).toEqual([]);
    // The terminated ones may still be leaving the group (EC2's shutting-down): the originals, and only those.
    expect(end.builders.filter((b) => b.lifecycleState !== 'InService').every((b) => end.original.some((o) => o.id === b.instanceId))).toBe(true);
    expect(new Set(inService.map((b) => b.launchConfiguration)).size).toBe(1);
    expect(inService.every((b) => b.dial?.ip === end.machineIp && b.dial.passphrase === end.token)).toBe(true);
    expect(inService.every((b) => b.node !== undefined && b.status === 'ready')).toBe(true);
    expect(report.dr.builders_rotated).toBe(n);
    expect(report.dr.builders_reach_services).toBe(true);
    expect(report.dr.builders_reconnected).toBe(0);
    // The builds after the restore ran on the new builders and succeeded; the RTO ends with the first of them.
    expect(end.afterRestore.length).toBeGreaterThanOrEqual(1);
    expect(end.afterRestore.every((b) => b.started_at !== null)).toBe(true);
    expect(end.afterRestore.some((b) => b.status === 'succeeded')).toBe(true);
    expect(report.rto_ms).not.toBeNull();
    // The data is the snapshot's: before it all back, after it all lost.
    expectRestoredAtSnapshot(end.pushes, end.present, report);
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(runbook.steps.map((s) => [s.name, s.name === 'reassign_private_ip' ? 'skipped' : 'done']));
    expect(report.expectations.filter((e) => !e.passed)).toEqual([]);
    expect(report.passed).toBe(true);
  }, 600_000);
});
