import { PIPELINE_DB } from '../../live/pipeline/index.ts';
import { FOLLOWED_REPO } from '../../live/pipeline-services.ts';
import { defaultSeedData, type GithubSeedData } from '../../github/state.ts';
import type { StartedFakeGithub } from '../../github/server.ts';
import type { StartedPostgres } from '../../providers/index.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import type { DrOutcome } from '../../../sim/models/dr/dr-rehearsal.ts';
import { changedProjectCount, describeProjectChange, DR_PROJECTS, projectChanged, projectOfWorkflow } from '../../../sim/models/dr/project-settings.ts';
import type { LiveDisasterKind, LiveKindContext, LiveKindOutcome, LiveKindPush } from './types.ts';

/** Who followed the projects: the token their settings hold is one of this user's. */
const FOLLOWER = 'GERey';
/** What the change does to a project's settings: its token is one GitHub Enterprise does not know. */
export const CHANGED_TOKEN_SUFFIX = '-changed';
/** A build failed because GHE refused the project's token (picard-dispatcher's reason names it). */
export const PROJECT_SETTINGS_FAILURE = /refused the credentials/;

/** The repository of project `project` (0-based, `sim/models/dr/project-settings.ts`): the first is the followed one. */
export function projectRepo(project: number): string {
  return project === 0 ? FOLLOWED_REPO : `${FOLLOWED_REPO}-${project + 1}`;
}

/** Every project's repository, in order. */
export const PROJECT_REPOS: readonly string[] = Array.from({ length: DR_PROJECTS }, (_, i) => projectRepo(i));

/**
 * What a live rehearsal of a `project_settings` change needs of the stack: GitHub Enterprise holding a repository per
 * project (as `realitycheck` is seeded) and the stack following each (a push hook on each to frontend).
 */
export function projectSettingsStack(): { github: { seed: GithubSeedData; followedRepo: string }; alsoFollowed: string[] } {
  const seed = defaultSeedData();
  const [owner, name] = FOLLOWED_REPO.split('/') as [string, string];
  const model = seed.repos!.find((r) => r.owner === owner && r.name === name)!;
  const others = PROJECT_REPOS.slice(1);
  return {
    github: { seed: { ...seed, repos: [...seed.repos!, ...others.map((r) => ({ ...model, name: r.split('/')[1]!, description: `Project ${r}` }))] }, followedRepo: FOLLOWED_REPO },
    alsoFollowed: others,
  };
}

/**
 * `settings_change` with `breaks: project_settings`, live: the workload's pushes go to `DR_PROJECTS` projects (each
 * push to its project's repository, drawn as the simulation draws it), each followed with its settings in the Services
 * machine's PostgreSQL (`project_settings`: the follower's OAuth token picard-dispatcher fetches the project's config
 * with). The change replaces the token of the `share` of the projects the simulation changes with one GitHub
 * Enterprise does not know: every build of those projects fails at dispatch ("GitHub Enterprise refused the
 * credentials"), the other projects build on. As with the contexts (`settings-change.ts`), only a restore of the volume
 * from before the change brings the settings back; the rollback boots a new instance while the changed one runs on.
 */
export class LiveProjectSettingsChange implements LiveDisasterKind {
  readonly keepsInstance = true;
  readonly holderWhy = 'the running Services machine';
  private readonly changed: readonly string[];
  private readonly original = new Map<string, string>();
  /** Workflows (sha → repository) with a build failed because GHE refused its project's token, of any project. */
  private readonly failed = new Map<string, string>();

  constructor(private readonly scenario: SettledScenario) {
    this.changed = PROJECT_REPOS.filter((_, i) => projectChanged(i, scenario.disaster!.share));
  }

  /** Each project followed: its settings row, with a token of the follower (before the workload, so every backup holds it). */
  async prepare(ctx: LiveKindContext): Promise<void> {
    const github = ctx.stack.components.get('github') as StartedFakeGithub;
    for (const repo of PROJECT_REPOS) {
      await ctx.postgres.query(PIPELINE_DB, 'INSERT INTO project_settings (repo, github_token) VALUES ($1, $2) ON CONFLICT (repo) DO NOTHING', [repo, github.tokenFor(FOLLOWER)]);
    }
  }

  /** The repository a planned push goes to: its project's. */
  repoOf(w: { key: number }): string {
    return projectRepo(projectOfWorkflow(this.scenario.seed, w.key));
  }

  async strike(ctx: LiveKindContext): Promise<void> {
    const { postgres, machine } = ctx;
    const rows = await postgres.query<{ repo: string; github_token: string }>(PIPELINE_DB, 'SELECT repo, github_token FROM project_settings WHERE repo = ANY($1)', [this.changed]);
    if (rows.rows.length !== this.changed.length) throw new Error(`settings_change: the live stack follows ${rows.rows.length} of the ${this.changed.length} projects to change (project_settings rows are written before the workload)`);
    for (const r of rows.rows) this.original.set(r.repo, r.github_token);
    await postgres.query(PIPELINE_DB, 'UPDATE project_settings SET github_token = github_token || $2 WHERE repo = ANY($1)', [this.changed, CHANGED_TOKEN_SUFFIX]);
    machine.replaceOnBoot = true;
    machine.beforeReplaced = async () => this.readFailed(postgres);
    ctx.note(`disaster: settings_change (${describeProjectChange(this.scenario.disaster!.share)}: the OAuth token in the settings of ${this.changed.join(', ')} replaced in the Services machine's PostgreSQL); the installation runs on`);
  }

  /** After the change, the RTO ends with a build of a changed project. */
  showsRecovery(p: Pick<LiveKindPush, 'repo'>): boolean {
    return this.changed.includes(p.repo);
  }

  /** The projects the change touched. */
  get changedRepos(): readonly string[] {
    return this.changed;
  }

  /** What the machine's PostgreSQL holds of the builds the change failed (read again before it is replaced). */
  private async readFailed(postgres: StartedPostgres): Promise<void> {
    for (const [sha, repo] of await failedByChange(postgres)) this.failed.set(sha, repo);
  }

  /** The report's `live.project_settings`: the projects changed, and the workflows failed by the change by project. */
  measures(): Record<string, unknown> {
    const byRepo: Record<string, number> = {};
    for (const repo of this.failed.values()) byRepo[repo] = (byRepo[repo] ?? 0) + 1;
    return { project_settings: { changed: this.changed, workflows_failed_by_change: byRepo } };
  }

  async outcome(ctx: LiveKindContext, pushes: readonly LiveKindPush[], o: DrOutcome): Promise<LiveKindOutcome> {
    const { postgres } = ctx;
    await this.readFailed(postgres);
    const failed = [...this.failed].filter(([, repo]) => this.changed.includes(repo)).map(([sha]) => sha);
    const delivered = new Set(pushes.filter((p) => p.delivered && this.changed.includes(p.repo)).map((p) => p.sha));
    const now = await postgres.query<{ repo: string; github_token: string }>(PIPELINE_DB, 'SELECT repo, github_token FROM project_settings WHERE repo = ANY($1)', [this.changed]);
    const restored = this.original.size === changedProjectCount(this.scenario.disaster!.share) && now.rows.length === this.original.size && now.rows.every((r) => this.original.get(r.repo) === r.github_token);
    return {
      recordsWrittenAfterBackup: 0,
      measured: {
        recordsLostAtRestore: o.builds.lost,
        settings: { broken: 'project_settings', buildsFailed: failed.filter((s) => delivered.has(s)).length, restored },
      },
    };
  }
}

/** The workflows (sha → repository) with a build failed because GHE refused their project's token. */
async function failedByChange(postgres: StartedPostgres): Promise<[string, string][]> {
  const r = await postgres.query<{ sha: string; repo: string; reason: string | null }>(PIPELINE_DB, "SELECT DISTINCT sha, repo, reason FROM builds WHERE status = 'failed' AND reason IS NOT NULL");
  return r.rows.filter((x) => PROJECT_SETTINGS_FAILURE.test(x.reason ?? '')).map((x) => [x.sha, x.repo]);
}
