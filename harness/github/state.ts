import { createHash } from 'node:crypto';
import { Rng } from '../../sim/engine/rng.ts';
import { blobSha, commitSha, normalisePath, treeSha, type GitSignature } from './git-objects.ts';

/**
 * The in-memory GitHub Enterprise behind the fake server: accounts, repositories with real git object ids,
 * statuses, webhooks and their delivery log, OAuth apps, codes and tokens.
 *
 * It holds no sockets and no timers, so it can be inspected and changed directly by tests and by the live
 * harness (`handle.state`). Everything it invents (ids, tokens, codes, delivery GUIDs, commit times) comes from
 * counters, the seed and a logical clock, so the same seed data gives the same SHAs, ids and tokens every run.
 */

// ---------------------------------------------------------------------------------------------------------------
// Seed data (snake_case, as GitHub spells the same fields)

/** A user of the seed data. */
export interface SeedUser {
  login: string;
  name?: string;
  email?: string;
  site_admin?: boolean;
  /** Personal access tokens that authenticate as this user (scopes default to `repo, user:email, admin:repo_hook`). */
  tokens?: readonly string[];
}

/** An organization of the seed data; members are user logins. */
export interface SeedOrg {
  login: string;
  name?: string;
  description?: string;
  members?: readonly string[];
}

/** A webhook of the seed data (seeded hooks get no `ping`). */
export interface SeedHook {
  url: string;
  secret?: string;
  content_type?: 'json' | 'form';
  events?: readonly string[];
  active?: boolean;
}

/** A repository of the seed data: its files become the first commit on the default branch. */
export interface SeedRepo {
  owner: string;
  name: string;
  private?: boolean;
  description?: string;
  default_branch?: string;
  /** Path → content (UTF-8) of the initial commit; no files, no commit. */
  files?: Readonly<Record<string, string>>;
  /** Message of the initial commit. */
  message?: string;
  /** Who authored the initial commit (a user login); default the owner, or the org's first member. */
  author?: string;
  hooks?: readonly SeedHook[];
}

/** An OAuth app registered on the instance (CircleCI Server is one). */
export interface SeedOAuthApp {
  name?: string;
  client_id: string;
  client_secret: string;
  /** The "Authorization callback URL"; a `redirect_uri` must be under it (any port on a loopback host). */
  callback_url: string;
}

/** Everything the fake GHE holds at start. */
export interface GithubSeedData {
  /** The instant seeded objects were created and the logical commit clock starts (ISO 8601). */
  epoch?: string;
  users?: readonly SeedUser[];
  orgs?: readonly SeedOrg[];
  repos?: readonly SeedRepo[];
  oauth_apps?: readonly SeedOAuthApp[];
  /** Who the OAuth authorize page approves as (GHE's logged-in browser session); default the first user. */
  authorizing_user?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The model

/** A user account. */
export interface GithubUser {
  readonly type: 'User';
  readonly id: number;
  readonly login: string;
  name: string | null;
  email: string | null;
  siteAdmin: boolean;
  readonly createdAt: string;
}

/** An organization account; `members` are lower-cased user logins. */
export interface GithubOrg {
  readonly type: 'Organization';
  readonly id: number;
  readonly login: string;
  name: string | null;
  description: string | null;
  readonly members: Set<string>;
  readonly createdAt: string;
}

/** A user or an organization: both own repositories and share one id space, as on GitHub. */
export type GithubAccount = GithubUser | GithubOrg;

/** A commit with the full snapshot of its files (path → content) and what changed against its parent. */
export interface GithubCommit {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly author: GitSignature;
  readonly committer: GitSignature;
  /** The user who made it, when it is one of ours. */
  readonly authorLogin: string | null;
  readonly files: ReadonlyMap<string, string>;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
}

/** A commit status (`POST /repos/:owner/:repo/statuses/:sha`). */
export interface GithubStatus {
  readonly id: number;
  readonly sha: string;
  readonly state: StatusState;
  readonly context: string;
  readonly description: string | null;
  readonly targetUrl: string | null;
  readonly creatorLogin: string | null;
  readonly createdAt: string;
}

export const STATUS_STATES = ['error', 'failure', 'pending', 'success'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

/** A repository webhook. */
export interface GithubHook {
  readonly id: number;
  readonly repoId: number;
  readonly name: 'web';
  active: boolean;
  events: string[];
  config: { url: string; contentType: 'json' | 'form'; secret: string | null; insecureSsl: '0' | '1' };
  readonly createdAt: string;
  updatedAt: string;
  lastResponse: { code: number | null; status: string; message: string | null };
}

/** A repository. `branches` maps a branch name to its head commit. */
export interface GithubRepo {
  readonly id: number;
  readonly owner: GithubAccount;
  readonly name: string;
  private: boolean;
  description: string | null;
  defaultBranch: string;
  readonly branches: Map<string, string>;
  readonly commits: Map<string, GithubCommit>;
  readonly statuses: Map<string, GithubStatus[]>;
  readonly hooks: Map<number, GithubHook>;
  readonly createdAt: string;
  pushedAt: string;
}

/** One attempt to deliver one event to one hook, as the delivery log keeps it. */
export interface GithubDelivery {
  readonly id: number;
  /** Shared by every attempt of the same event to the same hook (`X-GitHub-Delivery`). */
  readonly guid: string;
  readonly hookId: number;
  readonly repoId: number;
  /** `owner/name` of the repository, for reading logs. */
  readonly repo: string;
  readonly event: string;
  readonly action: string | null;
  readonly url: string;
  readonly redelivery: boolean;
  /** Who asked for a redelivery: nobody (the first attempt), the API, or the redelivery policy. */
  readonly trigger: 'event' | 'api' | 'policy';
  readonly deliveredAt: string;
  readonly durationMs: number;
  /** True for a 2xx answer; anything else (no answer, timeout, 3xx–5xx) is a failed delivery. */
  readonly ok: boolean;
  /** The HTTP status received, or 0 when there was no HTTP answer (refused, reset, timed out). */
  readonly statusCode: number;
  /** `OK`, `Invalid HTTP Response: 503`, `failed to connect to host`, `timed out`, ... */
  readonly status: string;
  readonly request: { headers: Record<string, string>; payload: unknown; body: string };
  readonly response: { headers: Record<string, string>; body: string } | null;
}

/** An OAuth app. */
export interface GithubOAuthApp {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly callbackUrl: string;
}

/** An access token: a personal one, or one an OAuth app obtained. */
export interface GithubToken {
  readonly token: string;
  readonly login: string;
  readonly scopes: readonly string[];
  readonly clientId: string | null;
  readonly createdAt: string;
}

interface OAuthCode {
  readonly code: string;
  readonly clientId: string;
  readonly login: string;
  readonly redirectUri: string | null;
  readonly scopes: readonly string[];
  readonly expiresAtMs: number;
  used: boolean;
}

/** Why a code exchange was refused, in the words GitHub's `/login/oauth/access_token` uses. */
export type OAuthErrorCode = 'incorrect_client_credentials' | 'bad_verification_code' | 'redirect_uri_mismatch';

/** Options of the state itself. */
export interface GithubStateOptions {
  /** Root seed of everything invented (tokens, codes, GUIDs). Default 1. */
  seed?: number;
  /** Wall clock for timestamps of things that happen while running (statuses, deliveries, code expiry). */
  now?: () => Date;
}

/** Default scopes of a seeded personal token: what CircleCI Server asks for. */
export const DEFAULT_TOKEN_SCOPES: readonly string[] = ['repo', 'user:email', 'admin:repo_hook'];

/** OAuth codes expire after ten minutes, as on GitHub. */
export const OAUTH_CODE_TTL_MS = 10 * 60_000;

/** Bounds: the delivery log keeps the newest entries only; GitHub caps statuses per SHA and context. */
export const LIMITS = { deliveries: 10_000, statusesPerContext: 1_000, commitsPerRepo: 100_000 } as const;

const DEFAULT_EPOCH = '2020-08-18T00:00:00Z';
/** Each commit advances the logical commit clock by this much, so commit ids never depend on the wall clock. */
const COMMIT_CLOCK_STEP_SEC = 60;

const key = (s: string): string => s.toLowerCase();

/** The in-memory GitHub Enterprise. */
export class GithubState {
  readonly epoch: string;
  readonly users = new Map<string, GithubUser>();
  readonly orgs = new Map<string, GithubOrg>();
  readonly repos = new Map<string, GithubRepo>();
  readonly oauthApps = new Map<string, GithubOAuthApp>();
  readonly tokens = new Map<string, GithubToken>();
  /** The delivery log, oldest first (bounded by `LIMITS.deliveries`). */
  readonly deliveries: GithubDelivery[] = [];
  /** Who the OAuth authorize page approves as. */
  authorizingLogin: string | null = null;

  private readonly rng: Rng;
  private readonly codes = new Map<string, OAuthCode>();
  private readonly now: () => Date;
  private readonly epochSec: number;
  private accountIds = 0;
  private repoIds = 0;
  private hookIds = 0;
  private statusIds = 0;
  private deliveryIds = 0;
  private commitCount = 0;

  constructor(options: GithubStateOptions & { epoch?: string } = {}) {
    this.rng = new Rng(options.seed ?? 1).fork('github');
    this.now = options.now ?? (() => new Date());
    this.epoch = new Date(options.epoch ?? DEFAULT_EPOCH).toISOString().replace('.000Z', 'Z');
    this.epochSec = Math.floor(Date.parse(this.epoch) / 1000);
    if (!Number.isFinite(this.epochSec)) throw new RangeError(`epoch is not a date: ${options.epoch}`);
  }

  /** A state holding the seed data. Unknown logins in the data are programmer errors and throw. */
  static fromSeed(data: GithubSeedData, options: GithubStateOptions = {}): GithubState {
    const state = new GithubState({ ...options, ...(data.epoch === undefined ? {} : { epoch: data.epoch }) });
    for (const u of data.users ?? []) {
      const user = state.addUser(u);
      for (const token of u.tokens ?? []) state.addToken({ token, login: user.login, scopes: DEFAULT_TOKEN_SCOPES });
    }
    for (const o of data.orgs ?? []) {
      const org = state.addOrg(o);
      for (const m of o.members ?? []) state.addMember(org.login, m);
    }
    for (const r of data.repos ?? []) {
      const repo = state.addRepo(r);
      if (r.files !== undefined && Object.keys(r.files).length > 0) {
        state.commit(repo, { files: r.files, message: r.message ?? 'Initial commit', authorLogin: r.author ?? null });
      }
      for (const h of r.hooks ?? []) {
        state.addHook(repo, {
          url: h.url,
          secret: h.secret ?? null,
          contentType: h.content_type ?? 'json',
          events: [...(h.events ?? ['push', 'pull_request'])],
          active: h.active ?? true,
        });
      }
    }
    for (const a of data.oauth_apps ?? []) state.addOAuthApp(a);
    state.authorizingLogin = data.authorizing_user ?? data.users?.[0]?.login ?? null;
    if (state.authorizingLogin !== null) state.requireUser(state.authorizingLogin);
    return state;
  }

  // -- accounts ---------------------------------------------------------------------------------------------------

  addUser(u: SeedUser): GithubUser {
    if (this.account(u.login) !== undefined) throw new Error(`account ${u.login} already exists`);
    const user: GithubUser = {
      type: 'User',
      id: ++this.accountIds,
      login: u.login,
      name: u.name ?? null,
      email: u.email ?? null,
      siteAdmin: u.site_admin ?? false,
      createdAt: this.epoch,
    };
    this.users.set(key(u.login), user);
    return user;
  }

  addOrg(o: SeedOrg): GithubOrg {
    if (this.account(o.login) !== undefined) throw new Error(`account ${o.login} already exists`);
    const org: GithubOrg = {
      type: 'Organization',
      id: ++this.accountIds,
      login: o.login,
      name: o.name ?? null,
      description: o.description ?? null,
      members: new Set(),
      createdAt: this.epoch,
    };
    this.orgs.set(key(o.login), org);
    return org;
  }

  addMember(orgLogin: string, userLogin: string): void {
    const org = this.orgs.get(key(orgLogin));
    if (org === undefined) throw new Error(`no organization ${orgLogin}`);
    org.members.add(key(this.requireUser(userLogin).login));
  }

  /** A user or organization by login (case-insensitive). */
  account(login: string): GithubAccount | undefined {
    return this.users.get(key(login)) ?? this.orgs.get(key(login));
  }

  user(login: string): GithubUser | undefined {
    return this.users.get(key(login));
  }

  requireUser(login: string): GithubUser {
    const user = this.users.get(key(login));
    if (user === undefined) throw new Error(`no user ${login}`);
    return user;
  }

  /** The organizations a user belongs to, by login. */
  orgsOf(user: GithubUser): GithubOrg[] {
    return [...this.orgs.values()].filter((o) => o.members.has(key(user.login))).sort(byLogin);
  }

  // -- repositories -----------------------------------------------------------------------------------------------

  addRepo(r: SeedRepo): GithubRepo {
    const owner = this.account(r.owner);
    if (owner === undefined) throw new Error(`no account ${r.owner} to own ${r.owner}/${r.name}`);
    if (this.repo(owner.login, r.name) !== undefined) throw new Error(`repository ${r.owner}/${r.name} already exists`);
    const repo: GithubRepo = {
      id: ++this.repoIds,
      owner,
      name: r.name,
      private: r.private ?? false,
      description: r.description ?? null,
      defaultBranch: r.default_branch ?? 'main',
      branches: new Map(),
      commits: new Map(),
      statuses: new Map(),
      hooks: new Map(),
      createdAt: this.epoch,
      pushedAt: this.epoch,
    };
    this.repos.set(key(`${owner.login}/${r.name}`), repo);
    return repo;
  }

  /** A repository by owner and name (case-insensitive). */
  repo(owner: string, name: string): GithubRepo | undefined {
    return this.repos.get(key(`${owner}/${name}`));
  }

  /** A repository by `owner/name`; throws when absent (a programmer error of the caller). */
  requireRepo(fullName: string): GithubRepo {
    const repo = this.repos.get(key(fullName));
    if (repo === undefined) throw new Error(`no repository ${fullName}`);
    return repo;
  }

  /** May this user (or nobody) see the repository? Private ones need ownership, membership or site admin. */
  canRead(user: GithubUser | undefined, repo: GithubRepo): boolean {
    return !repo.private || this.canAdmin(user, repo);
  }

  /** May this user manage hooks and statuses? The owner, any member of the owning org, and site admins may. */
  canAdmin(user: GithubUser | undefined, repo: GithubRepo): boolean {
    if (user === undefined) return false;
    if (user.siteAdmin) return true;
    if (repo.owner.type === 'User') return repo.owner.id === user.id;
    return repo.owner.members.has(key(user.login));
  }

  /** The repositories a user owns or reaches through an organization, sorted by full name. */
  reposOf(user: GithubUser): GithubRepo[] {
    return [...this.repos.values()]
      .filter((r) => (r.owner.type === 'User' ? r.owner.id === user.id : r.owner.members.has(key(user.login))))
      .sort((a, b) => fullName(a).toLowerCase().localeCompare(fullName(b).toLowerCase()));
  }

  /**
   * Adds a commit on a branch (default: the repository's default branch) and moves the branch to it.
   * `files` are written over the parent's snapshot and `remove` deletes paths; the commit id is git's.
   */
  commit(
    repoOrName: GithubRepo | string,
    input: {
      files?: Readonly<Record<string, string>>;
      remove?: readonly string[];
      message: string;
      branch?: string;
      authorLogin?: string | null;
    },
  ): GithubCommit {
    const repo = typeof repoOrName === 'string' ? this.requireRepo(repoOrName) : repoOrName;
    if (repo.commits.size >= LIMITS.commitsPerRepo) throw new Error(`${fullName(repo)} has too many commits`);
    const branch = input.branch ?? repo.defaultBranch;
    const parentSha = repo.branches.get(branch) ?? repo.branches.get(repo.defaultBranch);
    const parent = parentSha === undefined ? undefined : repo.commits.get(parentSha);
    const files = new Map(parent?.files ?? []);
    const added: string[] = [];
    const modified: string[] = [];
    const removed: string[] = [];
    for (const [rawPath, content] of Object.entries(input.files ?? {})) {
      const path = normalisePath(rawPath);
      if (path === '') throw new RangeError('a file path must not be empty');
      const before = files.get(path);
      if (before === undefined) added.push(path);
      else if (before !== content) modified.push(path);
      files.set(path, content);
    }
    for (const rawPath of input.remove ?? []) {
      const path = normalisePath(rawPath);
      if (files.delete(path)) removed.push(path);
    }
    const authorUser = this.commitAuthor(repo, input.authorLogin ?? null);
    const when = this.epochSec + COMMIT_CLOCK_STEP_SEC * ++this.commitCount;
    const signature: GitSignature = {
      name: authorUser?.name ?? authorUser?.login ?? 'GitHub Enterprise',
      email: authorUser?.email ?? `${authorUser?.login ?? 'noreply'}@users.noreply.ghe.local`,
      timestampSec: when,
    };
    const tree = treeSha(files);
    const parents = parent === undefined ? [] : [parent.sha];
    const sha = commitSha({ tree, parents, author: signature, committer: signature, message: input.message });
    const commit: GithubCommit = {
      sha,
      tree,
      parents,
      message: input.message,
      author: signature,
      committer: signature,
      authorLogin: authorUser?.login ?? null,
      files,
      added: added.sort(),
      removed: removed.sort(),
      modified: modified.sort(),
    };
    repo.commits.set(sha, commit);
    repo.branches.set(branch, sha);
    repo.pushedAt = isoSec(when);
    return commit;
  }

  private commitAuthor(repo: GithubRepo, login: string | null): GithubUser | undefined {
    if (login !== null) return this.requireUser(login);
    if (repo.owner.type === 'User') return repo.owner;
    const first = [...repo.owner.members].sort()[0];
    return first === undefined ? undefined : this.users.get(first);
  }

  /**
   * The commit a ref names: nothing (the default branch), a branch (`main`, `heads/main`, `refs/heads/main`),
   * a full SHA or an unambiguous abbreviated one (at least 7 hex digits).
   */
  resolveRef(repo: GithubRepo, ref?: string): GithubCommit | undefined {
    const r = ref === undefined || ref === '' ? repo.defaultBranch : ref;
    const branch = r.replace(/^refs\//, '').replace(/^heads\//, '');
    const head = repo.branches.get(branch);
    if (head !== undefined) return repo.commits.get(head);
    if (!/^[0-9a-f]{7,40}$/i.test(r)) return undefined;
    const lower = r.toLowerCase();
    const exact = repo.commits.get(lower);
    if (exact !== undefined) return exact;
    const matches = [...repo.commits.keys()].filter((sha) => sha.startsWith(lower));
    return matches.length === 1 ? repo.commits.get(matches[0]!) : undefined;
  }

  /** A file or a directory listing at a commit, or undefined when the path does not exist there. */
  contentAt(commit: GithubCommit, rawPath: string): ContentEntry | undefined {
    const path = normalisePath(rawPath);
    const file = path === '' ? undefined : commit.files.get(path);
    if (file !== undefined) return { type: 'file', path, name: basename(path), content: file, sha: blobSha(file), size: Buffer.byteLength(file) };
    const prefix = path === '' ? '' : `${path}/`;
    const children = new Map<string, ContentEntry>();
    for (const [p, content] of commit.files) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = slash === -1 ? rest : rest.slice(0, slash);
      const childPath = prefix + name;
      if (slash === -1) {
        children.set(name, { type: 'file', path: childPath, name, content, sha: blobSha(content), size: Buffer.byteLength(content) });
      } else if (!children.has(name)) {
        children.set(name, { type: 'dir', path: childPath, name, sha: this.subtreeSha(commit, childPath), size: 0, entries: [] });
      }
    }
    if (children.size === 0) return undefined;
    const entries = [...children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { type: 'dir', path, name: basename(path), sha: path === '' ? commit.tree : this.subtreeSha(commit, path), size: 0, entries };
  }

  private subtreeSha(commit: GithubCommit, dir: string): string {
    const sub = new Map<string, string>();
    for (const [p, content] of commit.files) if (p.startsWith(`${dir}/`)) sub.set(p.slice(dir.length + 1), content);
    return treeSha(sub);
  }

  // -- statuses ---------------------------------------------------------------------------------------------------

  /** Records a commit status; GitHub refuses more than 1000 per SHA and context, and so does this. */
  addStatus(
    repo: GithubRepo,
    sha: string,
    input: { state: StatusState; context?: string; description?: string | null; targetUrl?: string | null; creatorLogin?: string | null },
  ): GithubStatus {
    const context = input.context ?? 'default';
    const list = repo.statuses.get(sha) ?? [];
    if (list.filter((s) => s.context === context).length >= LIMITS.statusesPerContext) {
      throw new RangeError(`more than ${LIMITS.statusesPerContext} statuses for ${sha} and context ${context}`);
    }
    const status: GithubStatus = {
      id: ++this.statusIds,
      sha,
      state: input.state,
      context,
      description: input.description ?? null,
      targetUrl: input.targetUrl ?? null,
      creatorLogin: input.creatorLogin ?? null,
      createdAt: this.isoNow(),
    };
    list.push(status);
    repo.statuses.set(sha, list);
    return status;
  }

  /** Statuses of a commit, newest first (the order of GitHub's list endpoint). */
  statusesOf(repo: GithubRepo, sha: string): GithubStatus[] {
    return [...(repo.statuses.get(sha) ?? [])].reverse();
  }

  /** The combined state: failure if any latest-per-context is error/failure, pending if any pending or none, else success. */
  combinedState(latest: readonly GithubStatus[]): StatusState {
    if (latest.some((s) => s.state === 'error' || s.state === 'failure')) return 'failure';
    if (latest.length === 0 || latest.some((s) => s.state === 'pending')) return 'pending';
    return 'success';
  }

  /** The newest status of each context, newest first. */
  latestStatusesOf(repo: GithubRepo, sha: string): GithubStatus[] {
    const seen = new Set<string>();
    return this.statusesOf(repo, sha).filter((s) => (seen.has(s.context) ? false : (seen.add(s.context), true)));
  }

  // -- hooks and deliveries ----------------------------------------------------------------------------------------

  addHook(
    repo: GithubRepo,
    input: { url: string; secret: string | null; contentType: 'json' | 'form'; events: string[]; active: boolean; insecureSsl?: '0' | '1' },
  ): GithubHook {
    const now = this.isoNow();
    const hook: GithubHook = {
      id: ++this.hookIds,
      repoId: repo.id,
      name: 'web',
      active: input.active,
      events: input.events,
      config: { url: input.url, contentType: input.contentType, secret: input.secret, insecureSsl: input.insecureSsl ?? '0' },
      createdAt: now,
      updatedAt: now,
      lastResponse: { code: null, status: 'unused', message: null },
    };
    repo.hooks.set(hook.id, hook);
    return hook;
  }

  /** The repository a hook belongs to. */
  repoOfHook(hook: GithubHook): GithubRepo {
    for (const repo of this.repos.values()) if (repo.id === hook.repoId) return repo;
    throw new Error(`hook ${hook.id} has no repository`);
  }

  /** Appends an attempt to the delivery log (dropping the oldest beyond the bound) and updates the hook. */
  recordDelivery(input: Omit<GithubDelivery, 'id'>): GithubDelivery {
    const delivery: GithubDelivery = { id: ++this.deliveryIds, ...input };
    this.deliveries.push(delivery);
    if (this.deliveries.length > LIMITS.deliveries) this.deliveries.splice(0, this.deliveries.length - LIMITS.deliveries);
    for (const repo of this.repos.values()) {
      const hook = repo.hooks.get(delivery.hookId);
      if (hook === undefined) continue;
      hook.lastResponse = {
        code: delivery.statusCode === 0 ? null : delivery.statusCode,
        status: delivery.ok ? 'active' : 'failed',
        message: delivery.status,
      };
    }
    return delivery;
  }

  /** A fresh delivery GUID (UUID v4 format, drawn from the seeded stream). */
  newGuid(): string {
    const hex = this.randomHex(32).split('');
    hex[12] = '4';
    hex[16] = '89ab'[this.rng.nextInt(4)]!;
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // -- OAuth ------------------------------------------------------------------------------------------------------

  addOAuthApp(a: SeedOAuthApp): GithubOAuthApp {
    const app: GithubOAuthApp = { name: a.name ?? a.client_id, clientId: a.client_id, clientSecret: a.client_secret, callbackUrl: a.callback_url };
    this.oauthApps.set(app.clientId, app);
    return app;
  }

  addToken(input: { token: string; login: string; scopes: readonly string[]; clientId?: string | null }): GithubToken {
    const user = this.requireUser(input.login);
    const token: GithubToken = {
      token: input.token,
      login: user.login,
      scopes: [...input.scopes],
      clientId: input.clientId ?? null,
      createdAt: this.isoNow(),
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** The user a token authenticates as, with the token, or undefined for an unknown token. */
  authenticate(token: string): { user: GithubUser; token: GithubToken } | undefined {
    const t = this.tokens.get(token);
    if (t === undefined) return undefined;
    const user = this.users.get(key(t.login));
    return user === undefined ? undefined : { user, token: t };
  }

  /** Issues a single-use authorization code (GitHub's 20 hex digits), valid for ten minutes. */
  issueCode(input: { clientId: string; login: string; redirectUri: string | null; scopes: readonly string[] }): string {
    const code = this.randomHex(20);
    this.codes.set(code, { ...input, code, expiresAtMs: this.now().getTime() + OAUTH_CODE_TTL_MS, used: false });
    // Forget spent and expired codes so the map stays small however long the twin runs.
    if (this.codes.size > 1_000) {
      for (const [c, rec] of this.codes) if (rec.used || rec.expiresAtMs < this.now().getTime()) this.codes.delete(c);
    }
    return code;
  }

  /** Exchanges a code for a new token, checking the app's credentials and the redirect URI as GitHub does. */
  exchangeCode(input: { clientId: string; clientSecret: string; code: string; redirectUri?: string }):
    | { ok: true; token: GithubToken }
    | { ok: false; error: OAuthErrorCode } {
    const app = this.oauthApps.get(input.clientId);
    if (app === undefined || app.clientSecret !== input.clientSecret) return { ok: false, error: 'incorrect_client_credentials' };
    const rec = this.codes.get(input.code);
    if (rec === undefined || rec.used || rec.clientId !== app.clientId || rec.expiresAtMs < this.now().getTime()) {
      return { ok: false, error: 'bad_verification_code' };
    }
    if (input.redirectUri !== undefined && rec.redirectUri !== null && input.redirectUri !== rec.redirectUri) {
      return { ok: false, error: 'redirect_uri_mismatch' };
    }
    rec.used = true;
    const token = this.addToken({ token: this.randomHex(40), login: rec.login, scopes: rec.scopes, clientId: app.clientId });
    return { ok: true, token };
  }

  // -- helpers ----------------------------------------------------------------------------------------------------

  /** The wall-clock now, ISO 8601 without milliseconds (GitHub's format). */
  isoNow(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /** The wall-clock now in milliseconds. */
  nowMs(): number {
    return this.now().getTime();
  }

  private randomHex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.rng.nextFloat() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }
}

/** A file or a directory as the contents API describes it. */
export type ContentEntry =
  | { type: 'file'; path: string; name: string; content: string; sha: string; size: number }
  | { type: 'dir'; path: string; name: string; sha: string; size: 0; entries: ContentEntry[] };

/** `owner/name`. */
export function fullName(repo: GithubRepo): string {
  return `${repo.owner.login}/${repo.name}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function byLogin(a: { login: string }, b: { login: string }): number {
  return a.login.toLowerCase().localeCompare(b.login.toLowerCase());
}

function isoSec(sec: number): string {
  return new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
}

/** A stable 40-hex secret derived from a label, for seed data that must be the same every run. */
export function derivedSecret(label: string, length = 40): string {
  return createHash('sha1').update(`fake-ghe:${label}`).digest('hex').slice(0, length);
}

/** The `.circleci/config.yml` the default repositories carry (a small CircleCI 2.1 workflow). */
export const DEFAULT_CIRCLE_CONFIG = `version: 2.1
jobs:
  build:
    docker:
      - image: circleci/node:12
    resource_class: medium
    parallelism: 1
    steps:
      - checkout
      - run: npm ci
      - run: npm test
workflows:
  build:
    jobs:
      - build
`;

/** The default OAuth app: CircleCI Server registered on the GHE instance, called back on any loopback port. */
export const DEFAULT_OAUTH_APP: SeedOAuthApp = {
  name: 'CircleCI Server',
  client_id: derivedSecret('oauth-client-id', 20),
  client_secret: derivedSecret('oauth-client-secret'),
  callback_url: 'http://127.0.0.1/auth/github',
};

/**
 * Seed data after the seeds: `GERey/realitycheck` (the project picard-dispatcher builds in the operations guide's
 * log), an organization with a private repository, a site admin, and CircleCI Server's OAuth app.
 */
export function defaultSeedData(): GithubSeedData {
  return {
    epoch: DEFAULT_EPOCH,
    users: [
      { login: 'GERey', name: 'GE Rey', email: 'gerey@example.com', tokens: [derivedSecret('token:GERey')] },
      { login: 'octo-dev', name: 'Octo Dev', email: 'octo-dev@example.com', tokens: [derivedSecret('token:octo-dev')] },
      { login: 'ghe-admin', name: 'GHE Admin', email: 'admin@example.com', site_admin: true, tokens: [derivedSecret('token:ghe-admin')] },
    ],
    orgs: [{ login: 'acme', name: 'Acme Corp', description: 'Builds on CircleCI Server', members: ['GERey', 'octo-dev'] }],
    repos: [
      {
        owner: 'GERey',
        name: 'realitycheck',
        description: 'A reality check for CircleCI Server',
        default_branch: 'master',
        files: { '.circleci/config.yml': DEFAULT_CIRCLE_CONFIG, 'README.md': '# realitycheck\n' },
      },
      {
        owner: 'acme',
        name: 'api',
        private: true,
        description: 'Acme API',
        files: { '.circleci/config.yml': DEFAULT_CIRCLE_CONFIG, 'src/index.js': 'module.exports = {};\n', 'package.json': '{"name":"api"}\n' },
      },
    ],
    oauth_apps: [DEFAULT_OAUTH_APP],
    authorizing_user: 'GERey',
  };
}
