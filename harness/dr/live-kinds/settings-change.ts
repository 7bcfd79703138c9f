import { PIPELINE_DB } from '../../live/pipeline/index.ts';
import { CONTEXT } from '../../live/replay/config.ts';
import type { StartedPostgres } from '../../providers/index.ts';
import type { DrOutcome } from '../../../sim/models/dr/dr-rehearsal.ts';
import type { LiveDisasterKind, LiveKindContext, LiveKindOutcome, LiveKindPush } from './types.ts';

/** What the change does to the context's row: it points at secrets vault-cci does not hold. */
export const CHANGED_SUFFIX = '-changed';
/** A build that failed because its context could not be read (picard-dispatcher's reasons name the context's read). */
const CONTEXT_FAILURE = /context/i;

/**
 * `settings_change` with `breaks: contexts`, live: the context the workload's jobs name (`CONTEXT`) is changed in the
 * Services machine's PostgreSQL (its row's `vault_path` now names secrets vault-cci does not hold), so every job that
 * uses it fails at dispatch (contexts-service cannot read it) while the installation runs on. Nothing else changes:
 * the harness re-seeds contexts on a restart only when their row is missing, so the change survives `replicated app
 * stop|start` and only a restore of the volume from before it brings the row back. The rollback boots a machine
 * from the snapshot while the changed one still runs (`replaceOnBoot`): the old instance keeps its address (the
 * restore goes to a new one) and what it recorded since the snapshot stays with it, as in the simulation
 * (`dr-rehearsal.ts`: `launch` counts those records lost at the restore).
 */
export class LiveSettingsChange implements LiveDisasterKind {
  readonly keepsInstance = true;
  readonly holderWhy = 'the running Services machine';
  private originalPath: string | undefined;
  /** Workflows whose build failed because of the change, as the replaced machine recorded them. */
  private readonly failedOnReplaced = new Set<string>();

  async strike(ctx: LiveKindContext): Promise<void> {
    const { postgres, machine } = ctx;
    const row = await postgres.query<{ vault_path: string }>(PIPELINE_DB, 'SELECT vault_path FROM contexts WHERE name = $1', [CONTEXT]);
    const path = row.rows[0]?.vault_path;
    if (path === undefined) throw new Error(`settings_change: the live stack has no context ${CONTEXT} to change (its contexts are seeded from REPLAY_CONTEXTS)`);
    this.originalPath = path;
    await postgres.query(PIPELINE_DB, 'UPDATE contexts SET vault_path = $2 WHERE name = $1', [CONTEXT, `${path}${CHANGED_SUFFIX}`]);
    machine.replaceOnBoot = true;
    machine.beforeReplaced = async () => {
      for (const sha of await failedByChange(postgres)) this.failedOnReplaced.add(sha);
    };
    ctx.note(`disaster: settings_change (the contexts were changed: ${CONTEXT}'s vault_path ${path} → ${path}${CHANGED_SUFFIX} in the Services machine's PostgreSQL); the installation runs on`);
  }

  /** After a settings change, the RTO ends with a build of those the change broke (one using the context). */
  showsRecovery(p: Pick<LiveKindPush, 'usesContexts'>): boolean {
    return p.usesContexts;
  }

  async outcome(ctx: LiveKindContext, pushes: readonly LiveKindPush[], o: DrOutcome): Promise<LiveKindOutcome> {
    const { postgres } = ctx;
    const failed = new Set([...this.failedOnReplaced, ...(await failedByChange(postgres))]);
    const delivered = new Set(pushes.filter((p) => p.delivered && p.usesContexts).map((p) => p.sha));
    const path = (await postgres.query<{ vault_path: string }>(PIPELINE_DB, 'SELECT vault_path FROM contexts WHERE name = $1', [CONTEXT])).rows[0]?.vault_path;
    return {
      // The change itself loses no record; the rollback replaces what the changed machine wrote since the snapshot
      // (the delivered pushes the restored PostgreSQL does not hold).
      recordsWrittenAfterBackup: 0,
      measured: {
        recordsLostAtRestore: o.builds.lost,
        settings: { broken: 'contexts', buildsFailed: [...failed].filter((s) => delivered.has(s)).length, restored: path !== undefined && path === this.originalPath },
      },
    };
  }
}

/** The workflows (by sha) with a build failed because its context could not be read. */
async function failedByChange(postgres: StartedPostgres): Promise<string[]> {
  const r = await postgres.query<{ sha: string; reason: string | null }>(PIPELINE_DB, "SELECT DISTINCT sha, reason FROM builds WHERE status = 'failed' AND reason IS NOT NULL");
  return r.rows.filter((x) => CONTEXT_FAILURE.test(x.reason ?? '')).map((x) => x.sha);
}
