import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from './redis-url.ts';

describe('parseRedisUrl', () => {
  it('reads host, port, password, db and TLS', () => {
    expect(parseRedisUrl('redis://:pw@cache:6380/2')).toMatchObject({ host: 'cache', port: 6380, password: 'pw', db: 2, tls: false });
    expect(parseRedisUrl('rediss://cache')).toMatchObject({ port: 6379, db: 0, tls: true });
  });

  it.each([
    ['http://cache:6379', /scheme 'http', expected 'redis' or 'rediss'/],
    ['redis://cache/notanumber', /path '\/notanumber': expected a database number/],
    ['redis://cache:port', /port 'port'/],
    ['cache:6379', /has no scheme/],
  ])('rejects %j with BAD_URL', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
    try {
      parseRedisUrl(url);
    } catch (err) {
      expect(err).toMatchObject({ code: 'BAD_URL', hint: expect.stringMatching(/redis:\/\//) });
    }
  });
});
