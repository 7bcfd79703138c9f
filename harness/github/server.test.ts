import { describe, expect, it } from 'vitest';
import { FakeGithub, redirectUriAllowed, type StartedFakeGithub } from './server.ts';

describe('redirectUriAllowed', () => {
  it('follows GitHub: same host, path under the callback, any port only on loopback', () => {
    expect(redirectUriAllowed('http://127.0.0.1:4321/auth/github', 'http://127.0.0.1/auth/github')).toBe(true);
    expect(redirectUriAllowed('http://127.0.0.1:4321/auth/github/done', 'http://127.0.0.1/auth/github')).toBe(true);
    expect(redirectUriAllowed('http://127.0.0.1:4321/auth/githubX', 'http://127.0.0.1/auth/github')).toBe(false);
    expect(redirectUriAllowed('http://evil.example.com/auth/github', 'http://127.0.0.1/auth/github')).toBe(false);
    expect(redirectUriAllowed('https://ci.example.com:8443/auth/github', 'https://ci.example.com/auth/github')).toBe(false);
    expect(redirectUriAllowed('https://ci.example.com/auth/github', 'https://ci.example.com/auth/github')).toBe(true);
    expect(redirectUriAllowed('not a url', 'https://ci.example.com/auth/github')).toBe(false);
  });
});

describe('FakeGithub on the HTTP layer', () => {
  async function withGithub(body: (ghe: StartedFakeGithub, token: string) => Promise<void>): Promise<void> {
    const ghe = await new FakeGithub().start();
    try {
      await body(ghe, ghe.tokenFor('GERey'));
    } finally {
      await ghe.stop();
    }
  }

  it("answers an unknown API route, or a known path with another method, with GitHub's JSON 404, counted and with its headers", async () => {
    await withGithub(async (ghe, token) => {
      const headers = { authorization: `token ${token}` };
      for (const [path, method] of [['/api/v3/nope', 'GET'], ['/api/v3/repos/GERey/realitycheck', 'DELETE']] as const) {
        const res = await fetch(`${ghe.url}${path}`, { method, headers });
        expect([res.status, res.headers.get('x-github-enterprise-version'), res.headers.get('x-ratelimit-remaining')]).toEqual([404, '2.21.0', expect.any(String)]);
        expect(await res.json()).toEqual({ message: 'Not Found', documentation_url: 'https://docs.github.com/enterprise/2.21/rest' });
      }
      const used = await (await fetch(`${ghe.apiUrl}/rate_limit`, { headers })).json();
      expect((used as { rate: { used: number } }).rate.used).toBe(2);
      const odd = await fetch(`${ghe.apiUrl}/user`, { method: 'PROPFIND', headers });
      // A method no GitHub client sends is the layer's 405, worded as GitHub words errors.
      expect([odd.status, odd.headers.get('allow'), ((await odd.json()) as { message: string }).message]).toEqual([
        405,
        'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT',
        'PROPFIND is not allowed on /api/v3/user; allowed: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT',
      ]);
      const web = await fetch(`${ghe.url}/no/such/page`);
      expect([web.status, await web.text()]).toEqual([404, 'Not Found']);
    });
  });

  it("answers malformed JSON with GitHub's 400, a trailing slash like none, and a nested file path through contents/*", async () => {
    await withGithub(async (ghe, token) => {
      const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
      const bad = await fetch(`${ghe.apiUrl}/repos/GERey/realitycheck/hooks`, { method: 'POST', headers, body: '{"config": ' });
      expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([400, 'Problems parsing JSON']);
      expect((await fetch(`${ghe.apiUrl}/repos/GERey/realitycheck//`, { headers })).status).toBe(200);
      const badEncoding = await fetch(`${ghe.apiUrl}/users/%E0%A4%A`, { headers });
      expect([badEncoding.status, ((await badEncoding.json()) as { message: string }).message]).toEqual([400, 'the path /api/v3/users/%E0%A4%A is not valid percent-encoding']);
      const file = await fetch(`${ghe.apiUrl}/repos/GERey/realitycheck/contents/.circleci/config.yml`, { headers });
      expect([file.status, ((await file.json()) as { path: string }).path]).toEqual([200, '.circleci/config.yml']);
    });
  });
});
