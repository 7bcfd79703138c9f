import type {
  ContentEntry,
  GithubAccount,
  GithubCommit,
  GithubDelivery,
  GithubHook,
  GithubOrg,
  GithubRepo,
  GithubState,
  GithubStatus,
  GithubUser,
} from './state.ts';
import { fullName } from './state.ts';
import { NULL_SHA } from './git-objects.ts';

/**
 * The JSON GitHub's REST API and webhooks return for each object of the state (the fields of GitHub's OpenAPI
 * description that a client of a GHE 2.x instance reads), with URLs built from the fake's own address.
 */

/** Where the instance answers: `web` is what a browser opens, `api` is `web + /api/v3`. */
export interface GithubUrls {
  readonly web: string;
  readonly api: string;
}

/** GitHub's legacy global node ids: base64 of `<len>:<Type><id>`. */
export function nodeId(type: string, id: number): string {
  return Buffer.from(`0${type.length}:${type}${id}`).toString('base64');
}

export function simpleUser(a: GithubAccount, u: GithubUrls): Record<string, unknown> {
  const api = `${u.api}/users/${a.login}`;
  return {
    login: a.login,
    id: a.id,
    node_id: nodeId(a.type, a.id),
    avatar_url: `${u.web}/avatars/u/${a.id}`,
    gravatar_id: '',
    url: api,
    html_url: `${u.web}/${a.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: a.type,
    site_admin: a.type === 'User' ? a.siteAdmin : false,
  };
}

export function publicUser(a: GithubAccount, state: GithubState, u: GithubUrls): Record<string, unknown> {
  const publicRepos = [...state.repos.values()].filter((r) => r.owner.id === a.id && !r.private).length;
  return {
    ...simpleUser(a, u),
    name: a.name,
    company: null,
    blog: '',
    location: null,
    email: a.type === 'User' ? a.email : null,
    hireable: null,
    bio: a.type === 'Organization' ? a.description : null,
    twitter_username: null,
    public_repos: publicRepos,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: a.createdAt,
    updated_at: a.createdAt,
  };
}

/** `GET /user`: the public profile plus what only the user sees. */
export function privateUser(user: GithubUser, state: GithubState, u: GithubUrls): Record<string, unknown> {
  const owned = [...state.repos.values()].filter((r) => r.owner.id === user.id);
  return {
    ...publicUser(user, state, u),
    private_gists: 0,
    total_private_repos: owned.filter((r) => r.private).length,
    owned_private_repos: owned.filter((r) => r.private).length,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: false,
    plan: { name: 'enterprise', space: 976562499, private_repos: 9999, collaborators: 0 },
  };
}

export function orgSimple(o: GithubOrg, u: GithubUrls): Record<string, unknown> {
  const api = `${u.api}/orgs/${o.login}`;
  return {
    login: o.login,
    id: o.id,
    node_id: nodeId('Organization', o.id),
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: `${u.web}/avatars/u/${o.id}`,
    description: o.description,
  };
}

export function orgFull(o: GithubOrg, state: GithubState, u: GithubUrls): Record<string, unknown> {
  return {
    ...orgSimple(o, u),
    name: o.name,
    company: null,
    blog: '',
    location: null,
    email: null,
    is_verified: false,
    has_organization_projects: true,
    has_repository_projects: true,
    public_repos: [...state.repos.values()].filter((r) => r.owner.id === o.id && !r.private).length,
    public_gists: 0,
    followers: 0,
    following: 0,
    html_url: `${u.web}/${o.login}`,
    created_at: o.createdAt,
    updated_at: o.createdAt,
    type: 'Organization',
  };
}

/** A repository, with `permissions` when someone is looking (`GET /repos/...`, `GET /user/repos`). */
export function repository(
  r: GithubRepo,
  u: GithubUrls,
  permissions?: { admin: boolean; push: boolean; pull: boolean },
): Record<string, unknown> {
  const name = fullName(r);
  const api = `${u.api}/repos/${name}`;
  const host = new URL(u.web).host;
  return {
    id: r.id,
    node_id: nodeId('Repository', r.id),
    name: r.name,
    full_name: name,
    private: r.private,
    owner: simpleUser(r.owner, u),
    html_url: `${u.web}/${name}`,
    description: r.description,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    branches_url: `${api}/branches{/branch}`,
    commits_url: `${api}/commits{/sha}`,
    contents_url: `${api}/contents/{+path}`,
    hooks_url: `${api}/hooks`,
    statuses_url: `${api}/statuses/{sha}`,
    pulls_url: `${api}/pulls{/number}`,
    git_url: `git://${host}/${name}.git`,
    ssh_url: `git@${host}:${name}.git`,
    clone_url: `${u.web}/${name}.git`,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: true,
    has_pages: false,
    forks_count: 0,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    forks: 0,
    open_issues: 0,
    watchers: 0,
    default_branch: r.defaultBranch,
    visibility: r.private ? 'private' : 'public',
    created_at: r.createdAt,
    updated_at: r.pushedAt,
    pushed_at: r.pushedAt,
    ...(permissions === undefined ? {} : { permissions }),
    ...(r.owner.type === 'Organization' ? { organization: simpleUser(r.owner, u) } : {}),
  };
}

/** A file of the contents API: base64 in lines of 60 characters, as GitHub sends it. */
export function contentFile(e: Extract<ContentEntry, { type: 'file' }>, r: GithubRepo, ref: string, u: GithubUrls): Record<string, unknown> {
  const base64 = Buffer.from(e.content, 'utf8').toString('base64');
  return {
    ...contentItem(e, r, ref, u),
    content: `${base64.replace(/.{60}/g, '$&\n')}\n`,
    encoding: 'base64',
  };
}

/** An entry of a directory listing (no content). */
export function contentItem(e: ContentEntry, r: GithubRepo, ref: string, u: GithubUrls): Record<string, unknown> {
  const name = fullName(r);
  const self = `${u.api}/repos/${name}/contents/${e.path}?ref=${encodeURIComponent(ref)}`;
  const git = `${u.api}/repos/${name}/git/${e.type === 'file' ? 'blobs' : 'trees'}/${e.sha}`;
  const html = `${u.web}/${name}/${e.type === 'file' ? 'blob' : 'tree'}/${ref}/${e.path}`;
  return {
    type: e.type,
    size: e.size,
    name: e.name,
    path: e.path,
    sha: e.sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url: e.type === 'file' ? `${u.web}/raw/${name}/${ref}/${e.path}` : null,
    _links: { self, git, html },
  };
}

function gitUser(c: GithubCommit['author']): Record<string, unknown> {
  return { name: c.name, email: c.email, date: new Date(c.timestampSec * 1000).toISOString().replace('.000Z', 'Z') };
}

/** `GET /repos/:owner/:repo/commits/:ref`. */
export function commit(c: GithubCommit, r: GithubRepo, state: GithubState, u: GithubUrls): Record<string, unknown> {
  const name = fullName(r);
  const api = `${u.api}/repos/${name}`;
  const author = c.authorLogin === null ? undefined : state.user(c.authorLogin);
  const parent = c.parents[0] === undefined ? undefined : r.commits.get(c.parents[0]);
  const files = [
    ...c.added.map((p) => ({ p, status: 'added' })),
    ...c.modified.map((p) => ({ p, status: 'modified' })),
    ...c.removed.map((p) => ({ p, status: 'removed' })),
  ].map(({ p, status }) => {
    const content = status === 'removed' ? parent?.files.get(p) ?? '' : c.files.get(p) ?? '';
    const lines = content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0);
    return {
      sha: status === 'removed' ? NULL_SHA : entrySha(state, c, p),
      filename: p,
      status,
      additions: status === 'removed' ? 0 : lines,
      deletions: status === 'removed' ? lines : 0,
      changes: lines,
      blob_url: `${u.web}/${name}/blob/${c.sha}/${p}`,
      raw_url: `${u.web}/${name}/raw/${c.sha}/${p}`,
      contents_url: `${api}/contents/${p}?ref=${c.sha}`,
    };
  });
  const additions = files.reduce((n, f) => n + f.additions, 0);
  const deletions = files.reduce((n, f) => n + f.deletions, 0);
  return {
    sha: c.sha,
    node_id: Buffer.from(`06:Commit${r.id}:${c.sha}`).toString('base64'),
    commit: {
      author: gitUser(c.author),
      committer: gitUser(c.committer),
      message: c.message,
      tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
      url: `${api}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    },
    url: `${api}/commits/${c.sha}`,
    html_url: `${u.web}/${name}/commit/${c.sha}`,
    comments_url: `${api}/commits/${c.sha}/comments`,
    author: author === undefined ? null : simpleUser(author, u),
    committer: author === undefined ? null : simpleUser(author, u),
    parents: c.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${u.web}/${name}/commit/${p}` })),
    stats: { total: additions + deletions, additions, deletions },
    files,
  };
}

function entrySha(state: GithubState, c: GithubCommit, path: string): string {
  const e = state.contentAt(c, path);
  return e?.sha ?? NULL_SHA;
}

export function status(s: GithubStatus, r: GithubRepo, state: GithubState, u: GithubUrls): Record<string, unknown> {
  const creator = s.creatorLogin === null ? undefined : state.user(s.creatorLogin);
  return {
    url: `${u.api}/repos/${fullName(r)}/statuses/${s.sha}`,
    avatar_url: creator === undefined ? null : `${u.web}/avatars/u/${creator.id}`,
    id: s.id,
    node_id: nodeId('StatusContext', s.id),
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    creator: creator === undefined ? null : simpleUser(creator, u),
  };
}

/** A hook; GitHub never shows the secret back, only that there is one. */
export function hook(h: GithubHook, r: GithubRepo, u: GithubUrls): Record<string, unknown> {
  const api = `${u.api}/repos/${fullName(r)}/hooks/${h.id}`;
  return {
    type: 'Repository',
    id: h.id,
    name: h.name,
    active: h.active,
    events: h.events,
    config: {
      url: h.config.url,
      content_type: h.config.contentType,
      insecure_ssl: h.config.insecureSsl,
      ...(h.config.secret === null ? {} : { secret: '********' }),
    },
    updated_at: h.updatedAt,
    created_at: h.createdAt,
    url: api,
    test_url: `${api}/test`,
    ping_url: `${api}/pings`,
    deliveries_url: `${api}/deliveries`,
    last_response: h.lastResponse,
  };
}

/** A delivery as the list endpoint shows it (no request, no response). */
export function deliveryItem(d: GithubDelivery): Record<string, unknown> {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.deliveredAt,
    redelivery: d.redelivery,
    duration: Math.round(d.durationMs) / 1000,
    status: d.status,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: null,
    repository_id: d.repoId,
  };
}

/** A delivery with the request it sent and the response it got. */
export function delivery(d: GithubDelivery): Record<string, unknown> {
  return {
    ...deliveryItem(d),
    url: d.url,
    request: { headers: d.request.headers, payload: d.request.payload },
    response: d.response === null ? { headers: null, payload: null } : { headers: d.response.headers, payload: d.response.body },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Webhook payloads

/**
 * The repository object inside a push payload: the REST shape, plus the old quirks push events keep (integer
 * `created_at`/`pushed_at`, `owner.name`/`owner.email`, `stargazers`, `master_branch`).
 */
function pushRepository(r: GithubRepo, u: GithubUrls): Record<string, unknown> {
  const base = repository(r, u);
  const owner = simpleUser(r.owner, u);
  return {
    ...base,
    owner: { ...owner, name: r.owner.login, email: r.owner.type === 'User' ? r.owner.email : null },
    created_at: Math.floor(Date.parse(r.createdAt) / 1000),
    pushed_at: Math.floor(Date.parse(r.pushedAt) / 1000),
    stargazers: 0,
    master_branch: r.defaultBranch,
    ...(r.owner.type === 'Organization' ? { organization: r.owner.login } : {}),
  };
}

function pushCommit(c: GithubCommit, r: GithubRepo, u: GithubUrls): Record<string, unknown> {
  const login = c.authorLogin;
  const person = { name: c.author.name, email: c.author.email, ...(login === null ? {} : { username: login }) };
  return {
    id: c.sha,
    tree_id: c.tree,
    distinct: true,
    message: c.message,
    timestamp: new Date(c.author.timestampSec * 1000).toISOString().replace('.000Z', '+00:00'),
    url: `${u.web}/${fullName(r)}/commit/${c.sha}`,
    author: person,
    committer: person,
    added: [...c.added],
    removed: [...c.removed],
    modified: [...c.modified],
  };
}

/** The `push` event for the commits between `before` and `after` on a branch. */
export function pushPayload(input: {
  repo: GithubRepo;
  branch: string;
  before: string;
  commits: readonly GithubCommit[];
  pusher: GithubUser;
  urls: GithubUrls;
}): Record<string, unknown> {
  const { repo, branch, before, commits, pusher, urls } = input;
  const head = commits[commits.length - 1];
  const after = head?.sha ?? before;
  const name = fullName(repo);
  return {
    ref: `refs/heads/${branch}`,
    before,
    after,
    repository: pushRepository(repo, urls),
    pusher: { name: pusher.login, email: pusher.email },
    ...(repo.owner.type === 'Organization' ? { organization: orgSimple(repo.owner, urls) } : {}),
    sender: simpleUser(pusher, urls),
    created: before === NULL_SHA,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: before === NULL_SHA ? `${urls.web}/${name}/commit/${after.slice(0, 12)}` : `${urls.web}/${name}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: commits.map((c) => pushCommit(c, repo, urls)),
    head_commit: head === undefined ? null : pushCommit(head, repo, urls),
  };
}

/** The `ping` event sent when a hook is created. */
export function pingPayload(h: GithubHook, r: GithubRepo, sender: GithubUser | undefined, u: GithubUrls): Record<string, unknown> {
  return {
    zen: 'Design for failure.',
    hook_id: h.id,
    hook: hook(h, r, u),
    repository: repository(r, u),
    ...(sender === undefined ? {} : { sender: simpleUser(sender, u) }),
  };
}
