import { execFile } from 'node:child_process';
import { privateDataRoot } from '../temp-dir.ts';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers } from '../drivers.ts';
import { expectCleanStop } from '../stop-contract.ts';
import { waitForPortClosed } from '../wait.ts';
import { DEFAULT_LDAP_USERS, LdapProvider } from './ldap-provider.ts';
import { slapdMissingReason } from './local-ldap.ts';
import type { StartedLdap } from './started-ldap.ts';

const run = promisify(execFile);

/** The Debian `ldapsearch` CLI, a second real client; LDAPNOINIT keeps it from reading /etc/ldap/ldap.conf or ~/.ldaprc. */
async function ldapsearchUids(ldap: StartedLdap): Promise<string[]> {
  const account = ldap.bindAccount!;
  const { stdout } = await run('ldapsearch', ['-x', '-LLL', '-H', ldap.url, '-D', account.dn, '-w', account.password, '-b', ldap.baseDn, '(objectClass=inetOrgPerson)', 'uid'], { env: { ...process.env, LDAPNOINIT: '1' }, timeout: 5_000 });
  return [...stdout.matchAll(/^uid: (.+)$/gm)].map((m) => m[1]!).sort();
}

// Without OpenLDAP's Debian packages (a fresh machine; `.ci/run` installs them) these skip, saying why in one line.
const noSlapd = slapdMissingReason();

describe.skipIf(noSlapd !== undefined)('LdapProvider, local backend (a private slapd)', () => {
  let ldap: StartedLdap | undefined;
  afterAll(async () => {
    await ldap?.stop();
  });

  it('starts on a free port with its own config and mdb under the temp dir', async () => {
    ldap = await new LdapProvider().withBackend('auto').start();
    expect(ldap.backend).toBe('local');
    expect(ldap.backendDetail).toMatch(/^private slapd 2\.\S+ on 127\.0\.0\.1:\d+, suffix dc=circleci,dc=example, 2 users, mdb in \/.* \(auto: local slapd 2\.\S+ at \S+slapd\)$/);
    expect(ldap.port).not.toBe(389);
    expect(ldap.url).toBe(`ldap://127.0.0.1:${ldap.port}`);
    expect(ldap.dataDir?.startsWith(privateDataRoot())).toBe(true);
    expect(ldap.pid).toBeGreaterThan(0);
    expect(ldap.userDn('GERey')).toBe('uid=GERey,ou=people,dc=circleci,dc=example');
  });

  it('authenticates a seeded user over LDAP, and refuses a wrong password, an empty one and an unknown user', async () => {
    const started = ldap!;
    const [gerey, admin] = DEFAULT_LDAP_USERS;
    expect(await started.authenticate(gerey!.uid, gerey!.password)).toBe(true);
    expect(await started.authenticate(admin!.uid, admin!.password)).toBe(true);
    expect(await started.authenticate(gerey!.uid, 'not-the-password')).toBe(false);
    expect(await started.authenticate(gerey!.uid, '')).toBe(false);
    expect(await started.authenticate('nobody', 'whatever')).toBe(false);
    await expect(started.bind(started.userDn(gerey!.uid), 'not-the-password')).rejects.toBeInstanceOf(drivers.ldapts().InvalidCredentialsError);
    await started.bind(started.bindAccount!.dn, started.bindAccount!.password);
  });

  it('is seen by the Debian ldapsearch CLI too', async () => {
    expect(await ldapsearchUids(ldap!)).toEqual(['GERey', 'admin-user']);
  });

  it('dies for real on SIGKILL: binds fail and the port closes; restart() comes back on the same port, users kept', async () => {
    const started = ldap!;
    const killedPid = started.pid!;
    const port = started.port;
    process.kill(killedPid, 'SIGKILL');
    expect(await waitForPortClosed(started.host, port, 5_000)).toBe(true);
    await expect(started.bind(started.bindAccount!.dn, started.bindAccount!.password)).rejects.toThrow(/ECONNREFUSED/);
    await expect(started.authenticate('GERey', DEFAULT_LDAP_USERS[0]!.password)).rejects.toThrow();

    await started.restart();
    expect(started.pid).not.toBe(killedPid);
    expect(started.port).toBe(port);
    expect(await started.authenticate('GERey', DEFAULT_LDAP_USERS[0]!.password)).toBe(true);
    expect(await ldapsearchUids(started)).toEqual(['GERey', 'admin-user']);
  });

  it('stop() removes the temp dir, closes the port, and is idempotent; await using disposes', async () => {
    const started = ldap!;
    await expectCleanStop(
      started,
      dirname(started.dataDir!),
      () => new LdapProvider().withBackend('local').withBaseDn('o=acme').withUsers([{ uid: 'smith, j', password: 's3cret', cn: 'J. Smith' }]).start(),
      async (scoped) => {
        expect(scoped.bindAccount?.dn).toBe('cn=admin,o=acme');
        expect(await scoped.authenticate('smith, j', 's3cret')).toBe(true);
        expect(await scoped.authenticate('GERey', DEFAULT_LDAP_USERS[0]!.password)).toBe(false);
      },
    );
  });
});
