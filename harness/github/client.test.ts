import { createHmac } from 'node:crypto';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GithubClient, GithubClientError, verifyWebhookSignature } from './client.ts';

const API = 'https://ghe.example.com/api/v3';
const CONFIG = 'version: 2.1\njobs:\n  build:\n    docker:\n      - image: circleci/node:12\n    steps:\n      - checkout\n';
const SHA = '2c6179654541ee3d2c6179654541ee3d2c617965';

/** The contents API's base64, wrapped every 60 characters as GitHub sends it. */
function wrapped(text: string): string {
  return `${Buffer.from(text).toString('base64').replace(/.{60}/g, '$&\n')}\n`;
}

async function caught(p: Promise<unknown>): Promise<GithubClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GithubClientError);
    return err as GithubClientError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  // Every interceptor a test declared must have been used: a test that never called the API proves nothing.
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

afterAll(() => {
  nock.enableNetConnect();
});

describe('GithubClient.fetchConfig', () => {
  const client = new GithubClient({ apiUrl: `${API}/`, token: 'tok123' });

  it('fetches .circleci/config.yml at a SHA through the contents API and decodes the base64', async () => {
    nock(API, { reqheaders: { authorization: 'token tok123' } })
      .get('/repos/GERey/realitycheck/contents/.circleci/config.yml')
      .query({ ref: SHA })
      .reply(200, { type: 'file', encoding: 'base64', name: 'config.yml', path: '.circleci/config.yml', content: wrapped(CONFIG) });
    expect(await client.fetchConfig('GERey', 'realitycheck', SHA)).toBe(CONFIG);
  });

  it('accepts another path and content already in UTF-8', async () => {
    nock(API).get('/repos/acme/api/contents/ci/other.yml').query({ ref: 'main' }).reply(200, { type: 'file', encoding: 'utf-8', content: 'x: 1\n' });
    expect(await client.fetchConfig('acme', 'api', 'main', 'ci/other.yml')).toBe('x: 1\n');
  });

  it('turns a 404 into a NOT_FOUND error naming the repository, the path and the ref', async () => {
    nock(API)
      .get('/repos/GERey/realitycheck/contents/.circleci/config.yml')
      .query(true)
      .reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/enterprise/2.21/rest' });
    const err = await caught(client.fetchConfig('GERey', 'realitycheck', SHA));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.status).toBe(404);
    expect(err.details).toMatchObject({ repo: 'GERey/realitycheck', path: '.circleci/config.yml', ref: SHA, githubMessage: 'Not Found' });
    expect(err.message).toContain('GERey/realitycheck/.circleci/config.yml');
    expect(err.message).toContain(SHA);
  });

  it('turns a 401 into UNAUTHORIZED', async () => {
    nock(API).get(/contents/).query(true).reply(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/enterprise/2.21/rest' });
    const err = await caught(client.fetchConfig('GERey', 'realitycheck', SHA));
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.details.githubMessage).toBe('Bad credentials');
    expect(err.message).toContain('GERey/realitycheck');
  });

  it('tells a rate limit from other 403s', async () => {
    nock(API)
      .get(/contents/)
      .query(true)
      .reply(403, { message: 'API rate limit exceeded for user ID 1.' }, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1597712400' });
    const limited = await caught(client.fetchConfig('GERey', 'realitycheck', SHA));
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.details.rateLimitResetSec).toBe(1597712400);

    nock(API).get(/contents/).query(true).reply(403, { message: 'Resource not accessible' }, { 'X-RateLimit-Remaining': '4999' });
    expect((await caught(client.fetchConfig('GERey', 'realitycheck', SHA))).code).toBe('FORBIDDEN');
  });

  it('turns a connection error into NETWORK_ERROR with the cause', async () => {
    nock(API).get(/contents/).query(true).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:443' });
    const err = await caught(client.fetchConfig('GERey', 'realitycheck', SHA));
    expect(err.code).toBe('NETWORK_ERROR');
    expect(err.status).toBeUndefined();
    expect(err.details.repo).toBe('GERey/realitycheck');
    expect(err.cause).toBeDefined();
  });

  it('gives up after its timeout with TIMEOUT', async () => {
    const slow = new GithubClient({ apiUrl: API, token: 't', timeoutMs: 50 });
    nock(API).get(/contents/).query(true).delay(2_000).reply(200, { type: 'file', encoding: 'base64', content: wrapped(CONFIG) });
    const err = await caught(slow.fetchConfig('GERey', 'realitycheck', SHA));
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toContain('50 ms');
  });

  it('refuses a directory listing and a body that is not JSON', async () => {
    nock(API).get(/contents/).query(true).reply(200, [{ type: 'file', name: 'config.yml' }]);
    expect((await caught(client.fetchConfig('GERey', 'realitycheck', SHA))).code).toBe('BAD_RESPONSE');
    nock(API).get(/contents/).query(true).reply(200, '<html>proxy login</html>');
    expect((await caught(client.fetchConfig('GERey', 'realitycheck', SHA))).code).toBe('BAD_RESPONSE');
  });

  it('reports a 5xx as HTTP_ERROR with the status', async () => {
    nock(API).get(/contents/).query(true).reply(502, 'Bad Gateway');
    const err = await caught(client.fetchConfig('GERey', 'realitycheck', SHA));
    expect(err.code).toBe('HTTP_ERROR');
    expect(err.status).toBe(502);
  });
});

describe('GithubClient.setStatus', () => {
  const client = new GithubClient({ apiUrl: API, token: 'tok123' });

  it('posts the status in GitHub field names and returns what GitHub stored', async () => {
    nock(API, { reqheaders: { authorization: 'token tok123', 'content-type': 'application/json' } })
      .post(`/repos/GERey/realitycheck/statuses/${SHA}`, {
        state: 'pending',
        context: 'ci/circleci: build',
        description: 'Your tests are queued behind your running builds',
        target_url: 'https://circleci.example.com/gh/GERey/realitycheck/38',
      })
      .reply(201, { id: 7, state: 'pending', context: 'ci/circleci: build', description: 'queued', target_url: null, created_at: '2020-08-18T00:00:00Z' });
    const status = await client.setStatus('GERey', 'realitycheck', SHA, {
      state: 'pending',
      context: 'ci/circleci: build',
      description: 'Your tests are queued behind your running builds',
      targetUrl: 'https://circleci.example.com/gh/GERey/realitycheck/38',
    });
    expect(status).toMatchObject({ id: 7, state: 'pending' });
  });

  it('turns a 422 into VALIDATION_FAILED naming the repository and SHA', async () => {
    nock(API).post(`/repos/GERey/realitycheck/statuses/${SHA}`).reply(422, { message: `No commit found for SHA: ${SHA}` });
    const err = await caught(client.setStatus('GERey', 'realitycheck', SHA, { state: 'success', context: 'ci' }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toContain(`GERey/realitycheck at ${SHA}`);
  });
});

describe('GithubClient.createHook', () => {
  const client = new GithubClient({ apiUrl: API, token: 'tok123' });

  it('subscribes a URL to push events with a secret and JSON payloads, as following a project does', async () => {
    nock(API, { reqheaders: { authorization: 'token tok123', 'content-type': 'application/json' } })
      .post('/repos/GERey/realitycheck/hooks', {
        name: 'web',
        active: true,
        events: ['push'],
        config: { url: 'http://127.0.0.1:10080/hooks/github', secret: 's3cret', content_type: 'json' },
      })
      .reply(201, { id: 3, name: 'web', active: true, events: ['push'] });
    expect(await client.createHook('GERey', 'realitycheck', { url: 'http://127.0.0.1:10080/hooks/github', secret: 's3cret' })).toMatchObject({ id: 3 });
  });

  it('turns a 404 (not an admin of the repository) into NOT_FOUND naming it', async () => {
    nock(API).post('/repos/acme/api/hooks').reply(404, { message: 'Not Found' });
    const err = await caught(client.createHook('acme', 'api', { url: 'http://127.0.0.1/hooks/github', secret: 's' }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('acme/api');
  });
});

describe('verifyWebhookSignature', () => {
  const body = JSON.stringify({ ref: 'refs/heads/master', after: SHA });
  const secret = 's3cret';
  const sha256 = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;

  it('accepts the right X-Hub-Signature-256 and X-Hub-Signature, for a string or a Buffer body', () => {
    expect(verifyWebhookSignature(body, sha256, secret)).toBe(true);
    expect(verifyWebhookSignature(Buffer.from(body), sha256, secret)).toBe(true);
    expect(verifyWebhookSignature(body, sha1, secret)).toBe(true);
    expect(verifyWebhookSignature(body, sha256.toUpperCase().replace('SHA256=', 'sha256='), secret)).toBe(true);
  });

  it('rejects a wrong secret, a changed body, a truncated digest and malformed or missing headers', () => {
    expect(verifyWebhookSignature(body, sha256, 'other')).toBe(false);
    expect(verifyWebhookSignature(`${body} `, sha256, secret)).toBe(false);
    expect(verifyWebhookSignature(body, sha256.slice(0, -2), secret)).toBe(false);
    expect(verifyWebhookSignature(body, sha256.slice(7), secret)).toBe(false);
    expect(verifyWebhookSignature(body, `md5=${'0'.repeat(32)}`, secret)).toBe(false);
    expect(verifyWebhookSignature(body, 'sha256=zz', secret)).toBe(false);
    expect(verifyWebhookSignature(body, undefined, secret)).toBe(false);
    expect(verifyWebhookSignature(body, '', secret)).toBe(false);
  });
});

describe('GithubClient.withToken', () => {
  it("calls with a project's own token (its settings'), the API URL kept; GHE refusing it says so", async () => {
    const stack = new GithubClient({ apiUrl: API, token: 'stack-token' });
    nock(API, { reqheaders: { authorization: 'token project-token' } })
      .get('/repos/GERey/realitycheck-2/contents/.circleci/config.yml')
      .query({ ref: SHA })
      .reply(200, { type: 'file', encoding: 'utf-8', content: CONFIG });
    expect(await stack.withToken('project-token').fetchConfig('GERey', 'realitycheck-2', SHA)).toBe(CONFIG);
    nock(API, { reqheaders: { authorization: 'token project-token-changed' } }).get(/contents/).query(true).reply(401, { message: 'Bad credentials' });
    const err = await caught(stack.withToken('project-token-changed').fetchConfig('GERey', 'realitycheck-2', SHA));
    // The reason a build of a changed project fails with (harness/dr/live-kinds/project-settings.ts matches it).
    expect(err.message).toMatch(/refused the credentials/);
  });
});
