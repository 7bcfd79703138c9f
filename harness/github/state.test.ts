import { describe, expect, it } from 'vitest';
import { blobSha, treeSha } from './git-objects.ts';
import { defaultSeedData, DEFAULT_CIRCLE_CONFIG, DEFAULT_OAUTH_APP, GithubState, OAUTH_CODE_TTL_MS } from './state.ts';

describe('GithubState', () => {
  it('gives the same SHAs, tokens and GUIDs for the same seed data and seed', () => {
    const a = GithubState.fromSeed(defaultSeedData(), { seed: 7 });
    const b = GithubState.fromSeed(defaultSeedData(), { seed: 7 });
    const headA = a.resolveRef(a.requireRepo('GERey/realitycheck'));
    const headB = b.resolveRef(b.requireRepo('gerey/REALITYCHECK'));
    expect(headA?.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(headA?.sha).toBe(headB?.sha);
    expect(a.newGuid()).toBe(b.newGuid());
    expect(a.newGuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('commits over the parent snapshot and records what changed', () => {
    const s = GithubState.fromSeed(defaultSeedData());
    const repo = s.requireRepo('GERey/realitycheck');
    const first = s.resolveRef(repo)!;
    const second = s.commit(repo, { files: { 'README.md': '# changed\n', 'new.txt': 'n\n' }, remove: ['.circleci/config.yml'], message: 'change' });
    expect(second.parents).toEqual([first.sha]);
    expect(second.added).toEqual(['new.txt']);
    expect(second.modified).toEqual(['README.md']);
    expect(second.removed).toEqual(['.circleci/config.yml']);
    expect(s.resolveRef(repo, 'master')?.sha).toBe(second.sha);
    expect(s.resolveRef(repo, 'refs/heads/master')?.sha).toBe(second.sha);
    expect(s.resolveRef(repo, first.sha.slice(0, 7))?.sha).toBe(first.sha);
    expect(s.resolveRef(repo, 'no-such-branch')).toBeUndefined();
    // The old commit still has the config; the new one does not.
    expect(s.contentAt(first, '.circleci/config.yml')).toMatchObject({ type: 'file', content: DEFAULT_CIRCLE_CONFIG });
    expect(s.contentAt(second, '.circleci/config.yml')).toBeUndefined();
    // A branch made from the default branch starts at its head.
    const onBranch = s.commit(repo, { files: { 'x.txt': 'x' }, message: 'x', branch: 'feature' });
    expect(onBranch.parents).toEqual([second.sha]);
    expect(repo.branches.get('master')).toBe(second.sha);
  });

  it('lists directories with git tree ids and files with blob ids', () => {
    const s = GithubState.fromSeed(defaultSeedData());
    const head = s.resolveRef(s.requireRepo('acme/api'))!;
    const root = s.contentAt(head, '');
    expect(root?.type).toBe('dir');
    expect(root?.sha).toBe(head.tree);
    if (root?.type !== 'dir') throw new Error('root is a directory');
    expect(root.entries.map((e) => `${e.type}:${e.name}`)).toEqual(['dir:.circleci', 'file:package.json', 'dir:src']);
    const src = s.contentAt(head, 'src/');
    expect(src?.sha).toBe(treeSha(new Map([['index.js', 'module.exports = {};\n']])));
    expect(s.contentAt(head, '/src/index.js')?.sha).toBe(blobSha('module.exports = {};\n'));
  });

  it('decides read and admin access like GitHub: public for all, private for owners, members and site admins', () => {
    const s = GithubState.fromSeed({ ...defaultSeedData(), users: [...defaultSeedData().users!, { login: 'outsider' }] });
    const priv = s.requireRepo('acme/api');
    const pub = s.requireRepo('GERey/realitycheck');
    expect(s.canRead(undefined, pub)).toBe(true);
    expect(s.canRead(undefined, priv)).toBe(false);
    expect(s.canRead(s.user('outsider'), priv)).toBe(false);
    expect(s.canRead(s.user('octo-dev'), priv)).toBe(true);
    expect(s.canAdmin(s.user('ghe-admin'), priv)).toBe(true);
    expect(s.canAdmin(s.user('octo-dev'), pub)).toBe(false);
    expect(s.reposOf(s.requireUser('GERey')).map((r) => `${r.owner.login}/${r.name}`)).toEqual(['acme/api', 'GERey/realitycheck']);
  });

  it('exchanges an OAuth code once, only with the right secret and redirect URI, and not after ten minutes', () => {
    let nowMs = Date.parse('2020-08-18T12:00:00Z');
    const s = GithubState.fromSeed(defaultSeedData(), { now: () => new Date(nowMs) });
    const app = { clientId: DEFAULT_OAUTH_APP.client_id, clientSecret: DEFAULT_OAUTH_APP.client_secret };
    const redirectUri = 'http://127.0.0.1:4000/auth/github';
    const code = s.issueCode({ clientId: app.clientId, login: 'GERey', redirectUri, scopes: ['repo'] });
    expect(s.exchangeCode({ ...app, clientSecret: 'wrong', code })).toEqual({ ok: false, error: 'incorrect_client_credentials' });
    expect(s.exchangeCode({ ...app, code, redirectUri: 'http://127.0.0.1:4000/elsewhere' })).toEqual({ ok: false, error: 'redirect_uri_mismatch' });
    const ok = s.exchangeCode({ ...app, code, redirectUri });
    expect(ok.ok && ok.token.login).toBe('GERey');
    expect(ok.ok && s.authenticate(ok.token.token)?.user.login).toBe('GERey');
    expect(s.exchangeCode({ ...app, code })).toEqual({ ok: false, error: 'bad_verification_code' });
    const late = s.issueCode({ clientId: app.clientId, login: 'GERey', redirectUri: null, scopes: [] });
    nowMs += OAUTH_CODE_TTL_MS + 1;
    expect(s.exchangeCode({ ...app, code: late })).toEqual({ ok: false, error: 'bad_verification_code' });
  });

  it('keeps the newest statuses first and combines the latest per context', () => {
    const s = GithubState.fromSeed(defaultSeedData());
    const repo = s.requireRepo('GERey/realitycheck');
    const sha = s.resolveRef(repo)!.sha;
    s.addStatus(repo, sha, { state: 'pending', context: 'ci/circleci: build' });
    s.addStatus(repo, sha, { state: 'success', context: 'ci/circleci: build' });
    s.addStatus(repo, sha, { state: 'pending', context: 'ci/circleci: test' });
    expect(s.statusesOf(repo, sha).map((x) => x.state)).toEqual(['pending', 'success', 'pending']);
    const latest = s.latestStatusesOf(repo, sha);
    expect(latest.map((x) => `${x.context}=${x.state}`)).toEqual(['ci/circleci: test=pending', 'ci/circleci: build=success']);
    expect(s.combinedState(latest)).toBe('pending');
    expect(s.combinedState(latest.slice(1))).toBe('success');
  });

});
