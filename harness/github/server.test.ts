import { describe, expect, it } from 'vitest';
import { redirectUriAllowed } from './server.ts';

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
