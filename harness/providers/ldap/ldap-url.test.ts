import { describe, expect, it } from 'vitest';
import { isDn, parseLdapUrl } from './ldap-url.ts';

describe('parseLdapUrl', () => {
  it('reads host, port, TLS and the base DN from the path; ldaps defaults to 636', () => {
    expect(parseLdapUrl('ldap://ldap.internal/dc=circleci,dc=example')).toMatchObject({ host: 'ldap.internal', port: 389, tls: false, baseDn: 'dc=circleci,dc=example', serverUrl: 'ldap://ldap.internal:389' });
    expect(parseLdapUrl('ldaps://ldap.internal')).toMatchObject({ port: 636, tls: true, baseDn: undefined, serverUrl: 'ldaps://ldap.internal:636' });
    expect(parseLdapUrl('ldaps://ldap.internal:1636')).toMatchObject({ port: 1636 });
    expect(parseLdapUrl('ldap://[::1]:3890/ou=people,o=acme%20corp')).toMatchObject({ host: '::1', serverUrl: 'ldap://[::1]:3890', baseDn: 'ou=people,o=acme corp' });
  });

  it.each([
    ['http://ldap.internal', /scheme 'http', expected 'ldap' or 'ldaps'/],
    ['ldap.internal:389', /has no scheme/],
    ['ldap://ldap.internal:70000', /port '70000'/],
    ['ldap://:389', /has no host/],
    ['ldap://ldap.internal/circleci', /path '\/circleci', which is not a DN/],
    ['ldap://ldap.internal/dc=circleci?uid?sub?(uid=x)', /attributes, scope and filter are not used/],
  ])('rejects %j with BAD_URL and an example', (url, message) => {
    expect(() => parseLdapUrl(url)).toThrow(message);
    expect(() => parseLdapUrl(url)).toThrow(expect.objectContaining({ code: 'BAD_URL', hint: expect.stringMatching(/ldap:\/\//) }));
  });

  it('refuses credentials in the URL, never showing the password, and points at withAdmin()', () => {
    expect(() => parseLdapUrl('ldap://admin:secret@ldap.internal')).toThrow(/admin:\*\*\*@.*has user info/);
    expect(() => parseLdapUrl('ldap://admin:secret@ldap.internal')).toThrow(expect.objectContaining({ hint: expect.stringMatching(/withAdmin/) }));
    expect(() => parseLdapUrl('ldap://admin:secret@ldap.internal')).not.toThrow(/secret/);
  });
});

describe('isDn', () => {
  it.each(['dc=circleci,dc=example', 'cn=admin,dc=circleci,dc=example', 'uid=a\\,b,ou=people,o=x'])('accepts %j', (dn) => expect(isDn(dn)).toBe(true));
  it.each(['', 'circleci', 'dc=', 'dc=a,,dc=b', 'dc="a"', '=x'])('rejects %j', (dn) => expect(isDn(dn)).toBe(false));
});
