import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Octokit } from '@octokit/rest';
import { RequestError } from '@octokit/request-error';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../providers/ports.ts';
import { GithubClient, GithubClientError, verifyWebhookSignature } from './client.ts';
import { FakeGithub, type StartedFakeGithub } from './server.ts';
import { DEFAULT_CIRCLE_CONFIG, DEFAULT_OAUTH_APP, defaultSeedData } from './state.ts';

/**
 * The fake GitHub Enterprise on a free port, driven by real clients: `@octokit/rest` for the REST API, `fetch` for
 * the OAuth web flow, a `node:http` receiver for webhooks, and the twin's own `GithubClient`.
 */

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  payload: Record<string, unknown>;
}

/** A webhook receiver: answers `status` (or never answers with 'hang') and keeps what it got. */
interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Resolves with the next (or an already received) request for which `match` holds; bounded wait. */
  waitFor(match: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

async function startReceiver(options: { port?: number; status?: number | 'hang' } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const json = form ? (new URLSearchParams(rawBody).get('payload') ?? 'null') : rawBody;
      const r: Received = { headers: req.headers, rawBody, payload: JSON.parse(json) as Record<string, unknown> };
      received.push(r);
      for (const w of [...waiters]) if (w.match(r)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(r);
      if (options.status === 'hang') return;
      res.writeHead(options.status ?? 200, { 'Content-Type': 'text/plain' }).end('thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/github`,
    port,
    received,
    waitFor(match, timeoutMs = 5_000) {
      const already = received.find(match);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching webhook within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Polls until `check` returns a value, for at most `timeoutMs`. */
async function eventually<T>(check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function requestError(p: Promise<unknown>): Promise<RequestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    return err as RequestError;
  }
  throw new Error('expected the request to fail');
}

const SECRET = 'hook-secret-of-the-twin';

/** An Octokit that keeps quiet about the failures these tests provoke on purpose. */
function octokitFor(apiUrl: string, auth?: string): Octokit {
  const quiet = (): void => {};
  return new Octokit({ baseUrl: apiUrl, ...(auth === undefined ? {} : { auth }), log: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
}

describe('fake GitHub Enterprise with @octokit/rest', () => {
  let ghe: StartedFakeGithub;
  let octokit: Octokit;
  let token: string;

  beforeAll(async () => {
    ghe = await new FakeGithub().withPort(0).withSeedData(defaultSeedData()).start();
    token = ghe.tokenFor('GERey');
    octokit = octokitFor(ghe.apiUrl, token);
  });

  afterAll(async () => {
    await ghe.stop();
  });

  it('serves the authenticated user with GHE and rate-limit headers', async () => {
    expect(ghe.apiUrl).toBe(`http://127.0.0.1:${ghe.port}/api/v3`);
    const { data, headers } = await octokit.users.getAuthenticated();
    expect(data).toMatchObject({ login: 'GERey', type: 'User', site_admin: false, name: 'GE Rey', email: 'gerey@example.com' });
    expect(headers['x-github-enterprise-version']).toBe('2.21.0');
    expect(headers['x-ratelimit-limit']).toBe('5000');
    expect(Number(headers['x-ratelimit-remaining'])).toBeLessThan(5000);
    expect(headers['x-oauth-scopes']).toBe('repo, user:email, admin:repo_hook');
    const other = await octokit.users.getByUsername({ username: 'ghe-admin' });
    expect(other.data).toMatchObject({ login: 'ghe-admin', site_admin: true });
    const meta = await octokit.meta.get();
    expect(meta.data).toMatchObject({ installed_version: '2.21.0', verifiable_password_authentication: true });
  });

  it('lists orgs and repositories, with pagination through Link headers', async () => {
    const orgs = await octokit.orgs.listForAuthenticatedUser();
    expect(orgs.data.map((o) => o.login)).toEqual(['acme']);
    expect((await octokit.orgs.get({ org: 'acme' })).data).toMatchObject({ login: 'acme', name: 'Acme Corp', type: 'Organization' });

    const repos = await octokit.paginate(octokit.repos.listForAuthenticatedUser, { per_page: 1 });
    expect(repos.map((r) => r.full_name)).toEqual(['acme/api', 'GERey/realitycheck']);
    expect(repos.find((r) => r.full_name === 'acme/api')).toMatchObject({ private: true, permissions: { admin: true, push: true, pull: true } });

    const repo = await octokit.repos.get({ owner: 'GERey', repo: 'realitycheck' });
    expect(repo.data).toMatchObject({ full_name: 'GERey/realitycheck', default_branch: 'master', private: false, owner: { login: 'GERey' } });
  });

  it('serves .circleci/config.yml through the contents API, at the branch head and at a SHA', async () => {
    const head = ghe.state.resolveRef(ghe.state.requireRepo('GERey/realitycheck'))!;
    const { data } = await octokit.repos.getContent({ owner: 'GERey', repo: 'realitycheck', path: '.circleci/config.yml' });
    if (Array.isArray(data) || data.type !== 'file') throw new Error('expected a file');
    expect(data.encoding).toBe('base64');
    expect(Buffer.from(data.content, 'base64').toString('utf8')).toBe(DEFAULT_CIRCLE_CONFIG);
    expect(data).toMatchObject({ name: 'config.yml', path: '.circleci/config.yml', size: Buffer.byteLength(DEFAULT_CIRCLE_CONFIG) });

    const atSha = await octokit.repos.getContent({ owner: 'GERey', repo: 'realitycheck', path: '.circleci/config.yml', ref: head.sha });
    expect(atSha.data).toMatchObject({ sha: data.sha });
    const raw = await octokit.repos.getContent({ owner: 'GERey', repo: 'realitycheck', path: '.circleci/config.yml', mediaType: { format: 'raw' } });
    expect(raw.data as unknown).toBe(DEFAULT_CIRCLE_CONFIG);
    const dir = await octokit.repos.getContent({ owner: 'GERey', repo: 'realitycheck', path: '' });
    expect(Array.isArray(dir.data) && dir.data.map((e) => e.name)).toEqual(['.circleci', 'README.md']);

    const commit = await octokit.repos.getCommit({ owner: 'GERey', repo: 'realitycheck', ref: 'master' });
    expect(commit.data.sha).toBe(head.sha);
    expect(commit.data.commit.message).toBe('Initial commit');
    expect(commit.data.files?.map((f) => `${f.status}:${f.filename}`)).toEqual(['added:.circleci/config.yml', 'added:README.md']);

    // The twin's own client (picard-dispatcher's) reads the same file the same way.
    const client = new GithubClient({ apiUrl: ghe.apiUrl, token });
    expect(await client.fetchConfig('GERey', 'realitycheck', head.sha)).toBe(DEFAULT_CIRCLE_CONFIG);
    const missing = await client.fetchConfig('GERey', 'realitycheck', head.sha, '.circleci/nope.yml').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GithubClientError);
    expect((missing as GithubClientError).code).toBe('NOT_FOUND');
    expect((missing as GithubClientError).message).toContain('GERey/realitycheck/.circleci/nope.yml');
  });

  it('creates and lists commit statuses and combines them', async () => {
    const sha = ghe.state.resolveRef(ghe.state.requireRepo('acme/api'))!.sha;
    const created = await octokit.repos.createCommitStatus({
      owner: 'acme',
      repo: 'api',
      sha,
      state: 'pending',
      context: 'ci/circleci: build',
      description: 'CircleCI is running your tests',
      target_url: 'http://circleci.local/gh/acme/api/1',
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ state: 'pending', context: 'ci/circleci: build', creator: { login: 'GERey' } });
    const client = new GithubClient({ apiUrl: ghe.apiUrl, token });
    await client.setStatus('acme', 'api', sha, { state: 'success', context: 'ci/circleci: build', description: 'Your tests passed on CircleCI!' });

    const list = await octokit.repos.listCommitStatusesForRef({ owner: 'acme', repo: 'api', ref: sha });
    expect(list.data.map((s) => s.state)).toEqual(['success', 'pending']);
    const combined = await octokit.repos.getCombinedStatusForRef({ owner: 'acme', repo: 'api', ref: 'main' });
    expect(combined.data).toMatchObject({ state: 'success', total_count: 1, sha });

    const bad = await requestError(octokit.repos.createCommitStatus({ owner: 'acme', repo: 'api', sha, state: 'bogus' as 'success' }));
    expect(bad.status).toBe(422);
    const noCommit = await requestError(octokit.repos.createCommitStatus({ owner: 'acme', repo: 'api', sha: 'f'.repeat(40), state: 'success' }));
    expect(noCommit.status).toBe(422);
  });

  it('answers 401 and 404 in GitHub shapes, as Octokit surfaces them', async () => {
    const bad = await requestError(octokitFor(ghe.apiUrl, 'not-a-token').users.getAuthenticated());
    expect(bad.status).toBe(401);
    expect(bad.response?.data).toEqual({ message: 'Bad credentials', documentation_url: 'https://docs.github.com/enterprise/2.21/rest' });

    const anonymous = octokitFor(ghe.apiUrl);
    const needsAuth = await requestError(anonymous.users.getAuthenticated());
    expect(needsAuth.status).toBe(401);
    expect(needsAuth.response?.data).toMatchObject({ message: 'Requires authentication' });

    const missing = await requestError(octokit.repos.get({ owner: 'GERey', repo: 'no-such-repo' }));
    expect(missing.status).toBe(404);
    expect(missing.response?.data).toEqual({ message: 'Not Found', documentation_url: 'https://docs.github.com/enterprise/2.21/rest' });
    // A private repository is invisible, not forbidden, to those who may not see it.
    expect((await requestError(anonymous.repos.get({ owner: 'acme', repo: 'api' }))).status).toBe(404);
    expect((await anonymous.repos.get({ owner: 'GERey', repo: 'realitycheck' })).status).toBe(200);
    expect((await requestError(octokit.repos.getContent({ owner: 'GERey', repo: 'realitycheck', path: 'nope.txt' }))).status).toBe(404);

    const limits = await octokit.rateLimit.get();
    expect(limits.data.resources.core.limit).toBe(5000);
    expect(limits.data.rate.used).toBeGreaterThan(0);
  });

  describe('webhooks', () => {
    let receiver: Receiver;
    let hookId: number;

    beforeAll(async () => {
      receiver = await startReceiver();
      const hook = await octokit.repos.createWebhook({
        owner: 'GERey',
        repo: 'realitycheck',
        config: { url: receiver.url, content_type: 'json', secret: SECRET },
        events: ['push', 'pull_request'],
      });
      expect(hook.status).toBe(201);
      expect(hook.data.config).toMatchObject({ url: receiver.url, content_type: 'json', secret: '********' });
      hookId = hook.data.id;
    });

    afterAll(async () => {
      await receiver.close();
    });

    it('pings a new hook and lists it', async () => {
      const ping = await receiver.waitFor((r) => r.headers['x-github-event'] === 'ping');
      expect(ping.payload).toMatchObject({ hook_id: hookId, repository: { full_name: 'GERey/realitycheck' } });
      const hooks = await octokit.repos.listWebhooks({ owner: 'GERey', repo: 'realitycheck' });
      expect(hooks.data.map((h) => h.id)).toEqual([hookId]);
    });

    it('delivers a signed push webhook with the push payload, and the pushed config is fetchable', async () => {
      const newConfig = `${DEFAULT_CIRCLE_CONFIG}# touched\n`;
      const before = ghe.state.requireRepo('GERey/realitycheck').branches.get('master');
      const { commit, deliveries } = await ghe.push('GERey/realitycheck', { files: { '.circleci/config.yml': newConfig }, message: 'Touch the config' });
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ ok: true, statusCode: 200, status: 'OK', event: 'push', redelivery: false });

      const got = await receiver.waitFor((r) => r.headers['x-github-event'] === 'push' && r.payload.after === commit.sha);
      expect(got.headers['x-github-delivery']).toBe(deliveries[0]!.guid);
      expect(got.headers['x-github-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
      expect(verifyWebhookSignature(got.rawBody, got.headers['x-hub-signature-256'] as string, SECRET)).toBe(true);
      expect(verifyWebhookSignature(got.rawBody, got.headers['x-hub-signature'] as string, SECRET)).toBe(true);
      expect(verifyWebhookSignature(got.rawBody, got.headers['x-hub-signature-256'] as string, 'wrong')).toBe(false);
      expect(got.payload).toMatchObject({
        ref: 'refs/heads/master',
        before,
        after: commit.sha,
        created: false,
        deleted: false,
        repository: { full_name: 'GERey/realitycheck', default_branch: 'master', owner: { login: 'GERey' } },
        pusher: { name: 'GERey', email: 'gerey@example.com' },
        sender: { login: 'GERey' },
        head_commit: { id: commit.sha, message: 'Touch the config', modified: ['.circleci/config.yml'], added: [], removed: [] },
      });
      expect((got.payload.commits as unknown[]).length).toBe(1);

      // What picard-dispatcher does next: fetch the config at the pushed SHA.
      const client = new GithubClient({ apiUrl: ghe.apiUrl, token });
      expect(await client.fetchConfig('GERey', 'realitycheck', String(got.payload.after))).toBe(newConfig);

      const listed = await octokit.repos.listWebhookDeliveries({ owner: 'GERey', repo: 'realitycheck', hook_id: hookId });
      expect(listed.data[0]).toMatchObject({ guid: deliveries[0]!.guid, event: 'push', status_code: 200, status: 'OK', redelivery: false });
      const one = await octokit.repos.getWebhookDelivery({ owner: 'GERey', repo: 'realitycheck', hook_id: hookId, delivery_id: deliveries[0]!.id });
      expect(one.data.response.payload).toBe('thanks');
    });

    it('records a delivery to a receiver that is down as failed, does not retry it, and redelivers when asked', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/hooks/github`;
      const hook = await octokit.repos.createWebhook({ owner: 'acme', repo: 'api', config: { url, content_type: 'json', secret: SECRET }, events: ['push'] });
      await ghe.settled();
      const { commit, deliveries } = await ghe.push('acme/api', { files: { 'src/index.js': 'module.exports = 1;\n' }, message: 'During the outage', pusher: 'octo-dev' });
      const failed = deliveries[0]!;
      expect(failed).toMatchObject({ ok: false, statusCode: 0, status: 'failed to connect to host', hookId: hook.data.id });

      // GHE makes no promise to redeliver: nothing more happens on its own.
      await sleep(300);
      expect(ghe.deliveries({ hookId: hook.data.id, event: 'push' })).toHaveLength(1);
      const listed = await octokit.repos.listWebhookDeliveries({ owner: 'acme', repo: 'api', hook_id: hook.data.id });
      expect(listed.data.find((d) => d.event === 'push')).toMatchObject({ id: failed.id, status_code: 0, status: 'failed to connect to host' });
      const hookState = await octokit.repos.getWebhook({ owner: 'acme', repo: 'api', hook_id: hook.data.id });
      expect(hookState.data.last_response).toMatchObject({ status: 'failed', message: 'failed to connect to host' });

      // The receiver comes back; an admin asks GHE to redeliver.
      const back = await startReceiver({ port });
      try {
        const accepted = await octokit.repos.redeliverWebhookDelivery({ owner: 'acme', repo: 'api', hook_id: hook.data.id, delivery_id: failed.id });
        expect(accepted.status).toBe(202);
        const got = await back.waitFor((r) => r.headers['x-github-event'] === 'push');
        expect(got.headers['x-github-delivery']).toBe(failed.guid);
        expect(got.payload.after).toBe(commit.sha);
        expect(verifyWebhookSignature(got.rawBody, got.headers['x-hub-signature-256'] as string, SECRET)).toBe(true);
        const redelivered = await eventually(() => ghe.deliveries({ hookId: hook.data.id, event: 'push' }).find((d) => d.redelivery));
        expect(redelivered).toMatchObject({ ok: true, statusCode: 200, guid: failed.guid, trigger: 'api' });
      } finally {
        await back.close();
      }
    });

    it('records a 5xx answer as a failed delivery and does not retry it', async () => {
      const failing = await startReceiver({ status: 503 });
      try {
        const hook = await octokit.repos.createWebhook({ owner: 'GERey', repo: 'realitycheck', config: { url: failing.url, content_type: 'json' }, events: ['push'] });
        await ghe.settled();
        const { deliveries } = await ghe.push('GERey/realitycheck', { files: { 'a.txt': 'a\n' }, message: 'a' });
        const mine = deliveries.find((d) => d.hookId === hook.data.id);
        expect(mine).toMatchObject({ ok: false, statusCode: 503, status: 'Invalid HTTP Response: 503' });
        // No secret, no signature.
        expect(failing.received.at(-1)?.headers['x-hub-signature-256']).toBeUndefined();
        await sleep(200);
        expect(ghe.deliveries({ hookId: hook.data.id, event: 'push' })).toHaveLength(1);
        await octokit.repos.deleteWebhook({ owner: 'GERey', repo: 'realitycheck', hook_id: hook.data.id });
      } finally {
        await failing.close();
      }
    });

    it('sends form-encoded payloads to a form hook, signed over the form body', async () => {
      const formReceiver = await startReceiver();
      try {
        const hook = await octokit.repos.createWebhook({ owner: 'GERey', repo: 'realitycheck', config: { url: formReceiver.url, content_type: 'form', secret: SECRET }, events: ['push'] });
        await ghe.settled();
        const { commit } = await ghe.push('GERey/realitycheck', { files: { 'b.txt': 'b\n' }, message: 'b' });
        const got = await formReceiver.waitFor((r) => r.headers['x-github-event'] === 'push');
        expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded');
        expect(got.rawBody.startsWith('payload=')).toBe(true);
        expect(got.payload.after).toBe(commit.sha);
        expect(verifyWebhookSignature(got.rawBody, got.headers['x-hub-signature-256'] as string, SECRET)).toBe(true);
        await octokit.repos.deleteWebhook({ owner: 'GERey', repo: 'realitycheck', hook_id: hook.data.id });
        expect((await requestError(octokit.repos.getWebhook({ owner: 'GERey', repo: 'realitycheck', hook_id: hook.data.id }))).status).toBe(404);
      } finally {
        await formReceiver.close();
      }
    });
  });

  it('runs the OAuth web flow end to end with fetch', async () => {
    const redirectUri = 'http://127.0.0.1:4567/auth/github';
    const authorize = new URL(`${ghe.url}/login/oauth/authorize`);
    authorize.search = new URLSearchParams({ client_id: DEFAULT_OAUTH_APP.client_id, redirect_uri: redirectUri, state: 'csrf-123', scope: 'repo,user:email' }).toString();
    const approved = await fetch(authorize, { redirect: 'manual' });
    expect(approved.status).toBe(302);
    const location = new URL(approved.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('csrf-123');
    const code = location.searchParams.get('code') ?? '';
    expect(code).toMatch(/^[0-9a-f]{20}$/);

    const exchange = await fetch(`${ghe.url}/login/oauth/access_token`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEFAULT_OAUTH_APP.client_id, client_secret: DEFAULT_OAUTH_APP.client_secret, code, redirect_uri: redirectUri }),
    });
    const tokenBody = (await exchange.json()) as { access_token: string; token_type: string; scope: string };
    expect(tokenBody).toMatchObject({ token_type: 'bearer', scope: 'repo,user:email' });

    const me = await fetch(`${ghe.apiUrl}/user`, { headers: { Authorization: `Bearer ${tokenBody.access_token}` } });
    expect(me.status).toBe(200);
    expect(me.headers.get('x-oauth-scopes')).toBe('repo, user:email');
    expect(((await me.json()) as { login: string }).login).toBe('GERey');

    // A code works once; the default answer is form-encoded, and JSON bodies are accepted too.
    const again = await fetch(`${ghe.url}/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: DEFAULT_OAUTH_APP.client_id, client_secret: DEFAULT_OAUTH_APP.client_secret, code }),
    });
    expect(again.headers.get('content-type')).toContain('application/x-www-form-urlencoded');
    expect(new URLSearchParams(await again.text()).get('error')).toBe('bad_verification_code');

    // GitHub's `login` parameter picks the account; a redirect URI outside the callback is refused.
    const asOther = await fetch(`${authorize.toString()}&login=octo-dev`, { redirect: 'manual' });
    const otherCode = new URL(asOther.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const otherToken = (await (
      await fetch(`${ghe.url}/login/oauth/access_token`, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: DEFAULT_OAUTH_APP.client_id, client_secret: DEFAULT_OAUTH_APP.client_secret, code: otherCode }),
      })
    ).json()) as { access_token: string };
    const other = await octokitFor(ghe.apiUrl, otherToken.access_token).users.getAuthenticated();
    expect(other.data.login).toBe('octo-dev');

    const mismatch = new URL(authorize);
    mismatch.searchParams.set('redirect_uri', 'http://evil.example.com/auth/github');
    const refused = await fetch(mismatch, { redirect: 'manual' });
    expect(new URL(refused.headers.get('location') ?? '').searchParams.get('error')).toBe('redirect_uri_mismatch');
    const unknownApp = await fetch(`${ghe.url}/login/oauth/authorize?client_id=nope`, { redirect: 'manual' });
    expect(unknownApp.status).toBe(404);
  });
});

describe('fake GitHub Enterprise: limits and automatic redelivery', () => {
  it('enforces the rate limit with a 403 Octokit and the twin client both recognise', async () => {
    await using ghe = await new FakeGithub().withRateLimit({ limit: 3 }).start();
    const token = ghe.tokenFor('GERey');
    const octokit = octokitFor(ghe.apiUrl, token);
    for (let i = 0; i < 3; i++) await octokit.users.getAuthenticated();
    const err = await requestError(octokit.users.getAuthenticated());
    expect(err.status).toBe(403);
    expect(err.response?.headers['x-ratelimit-remaining']).toBe('0');
    expect((err.response?.data as { message: string }).message).toMatch(/^API rate limit exceeded/);
    const client = new GithubClient({ apiUrl: ghe.apiUrl, token });
    const limited = await client.fetchConfig('GERey', 'realitycheck', 'master').catch((e: unknown) => e);
    expect((limited as GithubClientError).code).toBe('RATE_LIMITED');
    // /rate_limit itself is free, as on GitHub.
    expect((await octokit.rateLimit.get()).data.rate.remaining).toBe(0);
  });

  it('gives up on a receiver that does not answer within the delivery timeout', async () => {
    const hanging = await startReceiver({ status: 'hang' });
    try {
      await using ghe = await new FakeGithub()
        .withDeliveryTimeoutMs(200)
        .withSeedData({ ...defaultSeedData(), repos: [{ owner: 'GERey', name: 'slow', files: { 'a.txt': 'a' }, hooks: [{ url: hanging.url, secret: SECRET }] }] })
        .start();
      const { deliveries } = await ghe.push('GERey/slow', { files: { 'a.txt': 'b' }, message: 'b' });
      expect(deliveries[0]).toMatchObject({ ok: false, statusCode: 0, status: 'timed out' });
      expect(deliveries[0]!.durationMs).toBeGreaterThanOrEqual(190);
      expect(hanging.received).toHaveLength(1);

      // Stopping GHE does not wait out a hanging receiver's 10 s: the attempt is aborted and logged as failed.
      await using patient = await new FakeGithub()
        .withSeedData({ ...defaultSeedData(), repos: [{ owner: 'GERey', name: 'slow', files: { 'a.txt': 'a' }, hooks: [{ url: hanging.url }] }] })
        .start();
      const pending = patient.push('GERey/slow', { files: { 'a.txt': 'c' }, message: 'c' });
      await eventually(() => (hanging.received.length === 2 ? true : undefined));
      const stoppedAt = Date.now();
      await patient.stop();
      expect(Date.now() - stoppedAt).toBeLessThan(2_000);
      expect((await pending).deliveries[0]).toMatchObject({ ok: false, status: 'aborted: GitHub Enterprise is shutting down' });
    } finally {
      await hanging.close();
    }
  });

  /** Pushes `n` times to a dead receiver and says which failed deliveries the policy redelivered. */
  async function redeliveredPattern(seed: number, probability: number, n: number): Promise<boolean[]> {
    const port = await freePort();
    await using ghe = await new FakeGithub()
      .withSeed(seed)
      .withRedeliveryPolicy({ probability, afterMs: 20 })
      .withSeedData({ ...defaultSeedData(), repos: [{ owner: 'GERey', name: 'flaky', files: { 'a.txt': '0' }, hooks: [{ url: `http://127.0.0.1:${port}/`, secret: SECRET }] }] })
      .start();
    const firsts: number[] = [];
    for (let i = 1; i <= n; i++) firsts.push((await ghe.push('GERey/flaky', { files: { 'a.txt': String(i) }, message: `push ${i}` })).deliveries[0]!.id);
    await sleep(150);
    await ghe.settled();
    const log = ghe.deliveries({ repo: 'GERey/flaky' });
    // At most one automatic attempt per event, never a retry of a retry.
    for (const d of log.filter((x) => x.redelivery)) expect(d.trigger).toBe('policy');
    return firsts.map((id) => {
      const guid = log.find((d) => d.id === id)!.guid;
      return log.filter((d) => d.guid === guid).length === 2;
    });
  }

  it('redelivers failed deliveries only as the seeded policy says: never, always, or reproducibly sometimes', async () => {
    expect(await redeliveredPattern(1, 0, 4)).toEqual([false, false, false, false]);
    expect(await redeliveredPattern(1, 1, 4)).toEqual([true, true, true, true]);
    const a = await redeliveredPattern(42, 0.5, 12);
    const b = await redeliveredPattern(42, 0.5, 12);
    expect(a).toEqual(b);
    expect(a.some((x) => x)).toBe(true);
    expect(a.some((x) => !x)).toBe(true);
  });
});
