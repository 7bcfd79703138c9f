import { describe, expect, it } from 'vitest';
import { parseServiceUrl, redactUrl } from './service-url.ts';
import { ProviderError } from './types.ts';

const spec = { component: 'postgres', schemes: ['postgres', 'postgresql'], defaultPort: 5432, example: 'postgres://u:p@h:5432/db' };

function errorOf(f: () => unknown): ProviderError {
  try {
    f();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

describe('redactUrl', () => {
  it('hides the password and nothing else', () => {
    expect(redactUrl('postgres://circle:s3cr%40t@db:5432/circle')).toBe('postgres://circle:***@db:5432/circle');
    expect(redactUrl('redis://:pw@cache:6379/0')).toBe('redis://:***@cache:6379/0');
    expect(redactUrl('postgres://circle@db/circle')).toBe('postgres://circle@db/circle');
  });
});

describe('parseServiceUrl', () => {
  it('decodes user, password and path, and applies the default port', () => {
    const u = parseServiceUrl('postgresql://circle:s3cr%40t@db.internal/circle?sslmode=require', spec);
    expect(u).toMatchObject({ scheme: 'postgresql', host: 'db.internal', port: 5432, username: 'circle', password: 's3cr@t', path: 'circle' });
    expect(u.params.get('sslmode')).toBe('require');
    expect(u.redacted).toBe('postgresql://circle:***@db.internal/circle?sslmode=require');
  });

  it('strips IPv6 brackets', () => {
    expect(parseServiceUrl('postgres://[::1]:6000/x', spec)).toMatchObject({ host: '::1', port: 6000 });
  });

  it.each([
    ['', /is empty/],
    ['db.internal:5432/circle', /has no scheme: it must start with postgres:\/\/ or postgresql:\/\//],
    ['mysql://db:3306/circle', /has scheme 'mysql', expected 'postgres' or 'postgresql'/],
    ['postgres://:5432/circle', /has no host/],
    ['postgres:///circle', /has no host/],
    ['postgres://db:99999/circle', /has port '99999', which is not a number between 1 and 65535/],
    ['postgres://db:abc/circle', /has port 'abc'/],
    ['postgres://db:0/circle', /has port '0'/],
  ])('rejects %j naming what is wrong', (url, message) => {
    const err = errorOf(() => parseServiceUrl(url, spec));
    expect(err.code).toBe('BAD_URL');
    expect(err.message).toMatch(/^postgres: URL '/);
    expect(err.message).toMatch(message);
    expect(err.hint).toBe('expected a URL like postgres://u:p@h:5432/db');
  });

  it('never shows the password in an error', () => {
    const err = errorOf(() => parseServiceUrl('postgres://circle:hunter2@db:70000/circle', spec));
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('circle:***@db');
  });
});
