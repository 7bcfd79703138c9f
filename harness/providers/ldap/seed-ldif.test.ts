import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeDnValue, seedEntries, sshaPassword, toLdif, userDnOf } from './seed-ldif.ts';

/** Verifies an {SSHA} value the way slapd does: digest and salt from the base64, then sha1(password + salt). */
function verifySsha(hash: string, password: string): boolean {
  const raw = Buffer.from(hash.replace(/^\{SSHA\}/, ''), 'base64');
  const digest = raw.subarray(0, 20);
  const salt = raw.subarray(20);
  return createHash('sha1').update(password).update(salt).digest().equals(digest);
}

describe('sshaPassword', () => {
  it('is salted SHA-1 that verifies for the right password only, and differs per salt', () => {
    const hash = sshaPassword('GERey-password');
    expect(hash).toMatch(/^\{SSHA\}[A-Za-z0-9+/]+=*$/);
    expect(verifySsha(hash, 'GERey-password')).toBe(true);
    expect(verifySsha(hash, 'wrong')).toBe(false);
    expect(sshaPassword('x')).not.toBe(sshaPassword('x'));
    expect(sshaPassword('x', Buffer.from('12345678'))).toBe(sshaPassword('x', Buffer.from('12345678')));
  });
});

describe('seedEntries and toLdif', () => {
  it('seeds the base entry, ou=people and one inetOrgPerson per user, passwords hashed', () => {
    const entries = seedEntries('dc=circleci,dc=example', [{ uid: 'GERey', password: 'pw', cn: 'Grace E. Rey', mail: 'g@circleci.example' }, { uid: 'bob', password: 'pw2' }]);
    expect(entries.map((e) => e.dn)).toEqual(['dc=circleci,dc=example', 'ou=people,dc=circleci,dc=example', 'uid=GERey,ou=people,dc=circleci,dc=example', 'uid=bob,ou=people,dc=circleci,dc=example']);
    expect(entries[0]!.attributes).toMatchObject({ objectClass: ['dcObject', 'organization'], dc: ['circleci'] });
    expect(entries[2]!.attributes).toMatchObject({ cn: ['Grace E. Rey'], sn: ['Rey'], mail: ['g@circleci.example'] });
    expect(entries[3]!.attributes).toMatchObject({ cn: ['bob'], sn: ['bob'] });
    const ldif = toLdif(entries);
    // Only hashes are stored (a hash's base64 may contain "pw" by chance: the values are checked whole).
    const stored = [...ldif.matchAll(/^userPassword: (\S+)$/gm)].map((m) => m[1]!);
    expect(stored).toHaveLength(2);
    for (const value of stored) expect(value).toMatch(/^\{SSHA\}/);
    expect(verifySsha(stored[0]!, 'pw')).toBe(true);
    expect(verifySsha(stored[1]!, 'pw2')).toBe(true);
    expect(ldif.split('\n\n')).toHaveLength(4);
  });

  it('base64-encodes values that are not safe LDIF text', () => {
    const ldif = toLdif(seedEntries('o=acme', [{ uid: 'zoë', password: 'pw', cn: ' leading space' }]));
    expect(ldif).toContain(`dn:: ${Buffer.from('uid=zoë,ou=people,o=acme').toString('base64')}`);
    expect(ldif).toContain(`cn:: ${Buffer.from(' leading space').toString('base64')}`);
    expect(ldif).toContain('objectClass: organization\no: acme');
  });

  it('escapes DN specials in uids', () => {
    expect(escapeDnValue('a,b+c=d')).toBe('a\\,b\\+c\\=d');
    expect(escapeDnValue('#x ')).toBe('\\#x\\ ');
    expect(userDnOf('dc=x', 'smith, j')).toBe('uid=smith\\, j,ou=people,dc=x');
  });

  it('refuses a base DN it cannot make a base entry for', () => {
    expect(() => seedEntries('cn=x,dc=y', [])).toThrow(/must start with dc=, o= or ou=/);
  });
});
