import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { drivers } from '../drivers.ts';
import type { BackendAvailability } from '../choose-backend.ts';
import { missingPackagesReason } from '../missing-packages.ts';
import { LocalProcessRunner, launchOnFreePorts, spawnAndWait, type Launched } from '../local-process-runner.ts';
import { describeAccount, isRoot, lookupOsUser, type OsUser } from '../os-user.ts';
import { freePort } from '../ports.ts';
import { startProcess, which } from '../process.ts';
import { chownTree, makeTempDir, removeDir } from '../temp-dir.ts';
import { ProviderError } from '../types.ts';
import { Wait, type WaitStrategy } from '../wait.ts';
import { seedEntries, sshaPassword, toLdif, type LdapUser } from './seed-ldif.ts';
import { ldapBind, type LdapAccount } from './started-ldap.ts';

/** The slapd binary (slapadd is the same program under another name, beside it), its version and the schema. */
export interface SlapdBinary {
  readonly slapd: string;
  readonly slapadd: string;
  /** `2.5.13+dfsg-5`, from `slapd -VV`. */
  readonly version: string;
  /** The directory holding core/cosine/inetorgperson.schema (read only: included by the private config). */
  readonly schemaDir: string;
  /** Where back_mdb.so is, when the backends are modules (Debian); undefined when built in. */
  readonly moduleDir: string | undefined;
}

/** The OS account slapd runs as when the harness is root: Debian's own, so the server holds no root rights. */
export const SLAPD_ACCOUNT = 'openldap';

/** Debian puts slapd in /usr/sbin (often not on a user's PATH), its schema in /etc/ldap/schema, modules in /usr/lib/ldap. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/libexec'];
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib/openldap', '/usr/lib64/openldap', '/usr/local/libexec/openldap'];
const SCHEMAS = ['core', 'cosine', 'inetorgperson'];

export function findSlapd(binDir: string | undefined): SlapdBinary | undefined {
  // An explicit directory is the only place looked in: a slapd found elsewhere would quietly be another installation.
  const slapd = binDir !== undefined ? (isExecutable(join(binDir, 'slapd')) ? join(binDir, 'slapd') : undefined) : which('slapd', SBIN_DIRS);
  if (slapd === undefined) return undefined;
  const slapadd = join(dirname(slapd), 'slapadd');
  const schemaDir = SCHEMA_DIRS.find((d) => SCHEMAS.every((s) => existsSync(join(d, `${s}.schema`))));
  if (!existsSync(slapadd) || schemaDir === undefined) return undefined;
  return { slapd, slapadd, version: slapdVersion(slapd), schemaDir, moduleDir: MODULE_DIRS.find((d) => existsSync(join(d, 'back_mdb.so')) || existsSync(join(d, 'back_mdb.la'))) };
}

export function localLdapAvailability(bin: SlapdBinary | undefined): BackendAvailability {
  if (!bin) return { available: false, detail: `no slapd with slapadd beside it and the core, cosine and inetorgperson schema (looked in the withBinDir() directory, else on PATH and in ${SBIN_DIRS.join(', ')}; schema in ${SCHEMA_DIRS.join(', ')})` };
  return { available: true, detail: `local slapd ${bin.version} at ${bin.slapd}` };
}

/** Why the tests of a private slapd cannot run here (one line naming the Debian packages), or undefined. */
export function slapdMissingReason(): string | undefined {
  return missingPackagesReason('private-slapd', [
    { availability: localLdapAvailability(findSlapd(undefined)), debianPackage: 'slapd' },
    { availability: which('ldapsearch') ? { available: true, detail: 'ldapsearch' } : { available: false, detail: 'no ldapsearch on PATH' }, debianPackage: 'ldap-utils' },
  ]);
}

export interface LocalLdap {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * A private slapd: its own slapd.conf (`-f`, so neither /etc/ldap/slapd.d nor the system database is read),
 * an mdb database in a fresh temp dir seeded offline with `slapadd` before the first start, and `-h` on a free
 * port of 127.0.0.1. `-d none` keeps it in the foreground (we own its pid: a SIGKILL of it is a real crash) and
 * prints only errors and "slapd starting". As root both run as the `openldap` user, owning the temp dir; slapd
 * does not refuse root, so without that account it runs as root and `backendDetail` says so.
 */
export async function startLocalLdap(opts: { bin: SlapdBinary; startTimeoutMs: number; baseDn: string; admin: LdapAccount; users: readonly LdapUser[] }): Promise<LocalLdap> {
  const { bin } = opts;
  const account = isRoot() ? lookupOsUser(SLAPD_ACCOUNT) : undefined;
  const ids = account ? { uid: account.uid, gid: account.gid } : {};
  const tempDir = await makeTempDir('ldap');
  const dataDir = join(tempDir, 'data');
  const files = { conf: join(tempDir, 'slapd.conf'), seed: join(tempDir, 'seed.ldif') };
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: tempDir, LANG: 'C' };
  try {
    await mkdir(dataDir);
    await writeFile(files.conf, slapdConf({ bin, tempDir, dataDir, baseDn: opts.baseDn, admin: opts.admin }));
    await writeFile(files.seed, toLdif(seedEntries(opts.baseDn, opts.users)));
    // The config holds the rootpw hash and the LDIF the users' hashes: readable by the server's account only.
    await chmod(files.conf, 0o600);
    await chmod(files.seed, 0o600);
    await chownTree(tempDir, account);
    await slapadd(bin, files, { env, ids, cwd: tempDir, timeoutMs: opts.startTimeoutMs, account });
  } catch (err) {
    await removeDir(tempDir);
    throw err;
  }

  const ready = ldapReady(opts.admin);
  const launchOn = async (port: number): Promise<Launched> => {
    const label = `slapd on 127.0.0.1:${port}`;
    const args = ['-f', files.conf, '-h', `ldap://127.0.0.1:${port}/`, '-d', 'none'];
    const proc = await spawnAndWait(
      () => startProcess(bin.slapd, args, { label, env, cwd: tempDir, ...ids }),
      (p) => ready.waitUntilReady({ label, host: '127.0.0.1', port, deadline: Date.now() + opts.startTimeoutMs, process: p }),
    );
    return { process: proc, pid: proc.pid };
  };

  let port = 0;
  const runner = await LocalProcessRunner.start(
    // SIGTERM: slapd finishes its operations and closes the mdb environment cleanly.
    { label: 'ldap', tempDir, dataDir, launch: () => launchOn(port), stopSignal: 'SIGTERM', graceMs: 5_000 },
    async () => {
      const r = await launchOnFreePorts(freePort, launchOn);
      port = r.ports;
      return r.launched;
    },
  );
  return {
    runner,
    port,
    detail: `private slapd ${bin.version} on 127.0.0.1:${port}, suffix ${opts.baseDn}, ${opts.users.length} users, mdb in ${dataDir}, ${describeAccount(account)}`,
  };
}

/** Port open, then a simple bind as the rootdn succeeds (slapd listens once its databases are open). */
function ldapReady(admin: LdapAccount): WaitStrategy {
  return Wait.forAll(
    Wait.forListeningPort(),
    Wait.forProbe(`bind as ${admin.dn}`, (ctx) => ldapBind(`ldap://${ctx.host}:${ctx.port}`, admin.dn, admin.password), (err) => err instanceof drivers.ldapts().InvalidCredentialsError),
  );
}

/**
 * The private server's whole configuration. `dbnosync`: like postgres' fsync=off, a SIGKILL of slapd loses
 * nothing the kernel has; only a machine crash could, and the twin never simulates one on the real disk.
 */
function slapdConf(o: { bin: SlapdBinary; tempDir: string; dataDir: string; baseDn: string; admin: LdapAccount }): string {
  return [
    '# private slapd of the twin: the system /etc/ldap/slapd.d and its database are never read',
    ...SCHEMAS.map((s) => `include ${join(o.bin.schemaDir, `${s}.schema`)}`),
    ...(o.bin.moduleDir ? [`modulepath ${o.bin.moduleDir}`, 'moduleload back_mdb'] : []),
    `pidfile ${join(o.tempDir, 'slapd.pid')}`,
    `argsfile ${join(o.tempDir, 'slapd.args')}`,
    '',
    'database mdb',
    'maxsize 67108864',
    'dbnosync',
    `suffix "${o.baseDn}"`,
    `rootdn "${o.admin.dn}"`,
    `rootpw ${sshaPassword(o.admin.password)}`,
    `directory ${o.dataDir}`,
    'index objectClass eq',
    'index uid eq',
    // Passwords are for binding only; everything else is readable, as a company directory usually is.
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
}

async function slapadd(bin: SlapdBinary, files: { conf: string; seed: string }, o: { env: Record<string, string>; ids: { uid?: number; gid?: number }; cwd: string; timeoutMs: number; account: OsUser | undefined }): Promise<void> {
  // -q: a fresh database needs no consistency checks, and it is much faster.
  const proc = startProcess(bin.slapadd, ['-f', files.conf, '-l', files.seed, '-q'], { label: 'slapadd', env: o.env, cwd: o.cwd, ...o.ids });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), o.timeoutMs);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new ProviderError('START_FAILED', `ldap: slapadd -f ${files.conf} -l ${files.seed} failed (${signal ?? `exit code ${code}`}):\n${proc.tail()}`, `slapadd ran as ${o.account?.name ?? 'the current user'}; check the users (uid, cn, mail) and the base DN given to LdapProvider`);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function slapdVersion(slapd: string): string {
  // slapd -VV prints its version on stderr.
  const r = spawnSync(slapd, ['-VV'], { encoding: 'utf8', timeout: 5_000 });
  return /slapd (\S+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown version';
}
