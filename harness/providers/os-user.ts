import { readFileSync } from 'node:fs';
import { ProviderError } from './types.ts';

/** An OS account that a private server runs as. */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The account of that name from /etc/passwd, or undefined. */
export function lookupOsUser(name: string): OsUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Whether this process runs as root (then servers that refuse root, or drop privileges, need their own user). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The account a private server runs as: its service account (`postgres`, `rabbitmq`) when we are root, because
 * initdb and postgres refuse to run as root and rabbitmq-server drops to `rabbitmq` anyway; ourselves otherwise.
 * Returns undefined for "ourselves".
 */
export function serviceAccount(component: string, account: string): OsUser | undefined {
  if (!isRoot()) return undefined;
  const user = lookupOsUser(account);
  if (!user) {
    throw new ProviderError('UNAVAILABLE', `${component}: running as root, but there is no '${account}' OS user to run the private server as`, `create it (useradd --system ${account}) or run the harness as an unprivileged user`);
  }
  return user;
}

/** One phrase for `backendDetail`: who the process runs as. */
export function describeAccount(user: OsUser | undefined): string {
  return user ? `run as OS user ${user.name} (uid ${user.uid})` : `run as the current user (uid ${process.getuid?.() ?? '?'})`;
}
