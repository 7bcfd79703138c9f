import { describe, expect, it } from 'vitest';
import { DEFAULT_LDAP_USERS, LdapProvider, settleLdapOptions } from './ldap-provider.ts';

describe('settleLdapOptions', () => {
  it('applies the defaults: auto, dc=circleci,dc=example, cn=admin under it, the default users', () => {
    const o = settleLdapOptions({});
    expect(o).toMatchObject({ backend: 'auto', baseDn: 'dc=circleci,dc=example', admin: { dn: 'cn=admin,dc=circleci,dc=example' }, users: DEFAULT_LDAP_USERS, external: undefined });
    expect(o.users.map((u) => u.uid)).toEqual(['GERey', 'admin-user']);
  });

  it('takes the base DN from withBaseDn(), else from the URL; an external server binds anonymously unless told', () => {
    expect(settleLdapOptions({ baseDn: 'o=acme' }).admin?.dn).toBe('cn=admin,o=acme');
    const ext = settleLdapOptions({ url: 'ldap://ldap.internal/dc=acme,dc=com' });
    expect(ext).toMatchObject({ baseDn: 'dc=acme,dc=com', admin: undefined, external: { host: 'ldap.internal', port: 389 } });
    expect(settleLdapOptions({ url: 'ldap://ldap.internal/DC=Acme, DC=com', baseDn: 'dc=acme,dc=com' }).baseDn).toBe('dc=acme,dc=com');
  });

  it('names contradictions and bad values', () => {
    expect(() => settleLdapOptions({ url: 'ldap://h/dc=a', baseDn: 'dc=b' })).toThrow(expect.objectContaining({ code: 'BAD_URL', message: expect.stringMatching(/names base DN 'dc=a', but withBaseDn\(\) says 'dc=b'/) }));
    expect(() => settleLdapOptions({ baseDn: 'circleci' })).toThrow(/base DN 'circleci' is not a DN/);
    expect(() => settleLdapOptions({ baseDn: 'cn=x,dc=y' })).toThrow(/must start with dc=, o= or ou=/);
    expect(() => settleLdapOptions({ admin: { dn: 'cn=admin,dc=other', password: 'p' } })).toThrow(/admin DN 'cn=admin,dc=other' is not under the base DN 'dc=circleci,dc=example'/);
    expect(() => settleLdapOptions({ users: [{ uid: 'a', password: 'p' }, { uid: 'A', password: 'q' }] })).toThrow(/uid 'A' is given twice/);
    expect(() => settleLdapOptions({ users: [{ uid: 'a', password: '' }] })).toThrow(/needs a uid and a password/);
    expect(() => settleLdapOptions({ image: 'osixia/openldap:1.5.0' })).toThrow(/withImage\('osixia\/openldap:1.5.0'\) does not apply/);
  });
});

describe('LdapProvider backend choice', () => {
  it('refuses testcontainers and external without a URL, with hints', async () => {
    await expect(new LdapProvider().withBackend('testcontainers').start()).rejects.toMatchObject({ code: 'UNAVAILABLE', hint: expect.stringMatching(/withBackend\('local'\).*withUrl\('ldap:\/\//) });
    await expect(new LdapProvider().withBackend('external').start()).rejects.toMatchObject({ code: 'BAD_URL', hint: expect.stringMatching(/withUrl\('ldap:\/\//) });
    await expect(new LdapProvider().withBackend('local').withBinDir('/nonexistent').start()).rejects.toMatchObject({ code: 'BINARY_MISSING', hint: expect.stringMatching(/apt-get install slapd/) });
  });
});
