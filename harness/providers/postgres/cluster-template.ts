import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeDir } from '../temp-dir.ts';

/**
 * A freshly initdb'd cluster, kept once per PostgreSQL installation: each private cluster starts from a copy of it
 * (a tenth of a second) instead of running initdb again (most of a boot). The cache lives in `node_modules/.cache`,
 * where build tools keep theirs, so a clean clone starts without one and `rm -rf node_modules` clears it.
 *
 * A template is published by a rename of a complete directory, so a concurrent boot either sees a whole template
 * or none (and then runs initdb itself); the marker file says which installation and initdb options made it.
 */
export interface ClusterTemplateKey {
  /** The binaries' directory and version: another installation gets another template. */
  readonly binDir: string;
  readonly version: string;
  /** The initdb arguments other than the data dir: other options, another template. */
  readonly initdbArgs: readonly string[];
  /** The databases created in it after initdb (sorted): the services' `circle`, `vms`, … come with the copy. */
  readonly databases: readonly string[];
}

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MARKER = 'twin-template.json';

/** Where templates are kept (`TWIN_CACHE_DIR` overrides, for read-only checkouts). */
export function templateCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TWIN_CACHE_DIR ? join(env.TWIN_CACHE_DIR, 'postgres-templates') : join(PROJECT_ROOT, 'node_modules', '.cache', 'circleci-server-twin', 'postgres-templates');
}

function templateDir(key: ClusterTemplateKey, cacheDir: string): string {
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 12);
  return join(cacheDir, `${key.version}-${hash}`);
}

/** How a cluster is made when there is no template: initdb, then the databases created (the server not running). */
export interface ClusterMaker {
  initdb(dataDir: string): Promise<void>;
  createDatabases(dataDir: string, databases: readonly string[]): Promise<void>;
}

/**
 * Fills `dataDir` (which must not exist yet) with a cluster holding `key.databases`: a copy of the cached template
 * when there is one, else made by `maker`, then a copy of the result kept as the template (a failure to keep it only
 * costs the next boot its speed). Returns how the cluster was made, for `backendDetail`.
 */
export async function initCluster(key: ClusterTemplateKey, dataDir: string, maker: ClusterMaker, cacheDir = templateCacheDir()): Promise<'template' | 'initdb'> {
  const template = templateDir(key, cacheDir);
  if (existsSync(join(template, MARKER))) {
    await copyTree(join(template, 'data'), dataDir);
    return 'template';
  }
  await maker.initdb(dataDir);
  if (key.databases.length > 0) await maker.createDatabases(dataDir, key.databases);
  await keepAsTemplate(key, dataDir, template).catch(() => undefined);
  return 'initdb';
}

async function keepAsTemplate(key: ClusterTemplateKey, dataDir: string, template: string): Promise<void> {
  await mkdir(dirname(template), { recursive: true });
  const staging = `${template}.staging-${process.pid}-${Date.now()}`;
  try {
    await copyTree(dataDir, join(staging, 'data'));
    await writeFile(join(staging, MARKER), `${JSON.stringify({ ...key, made: new Date().toISOString() }, null, 2)}\n`);
    // A concurrent boot may have published one meanwhile: then rename fails and ours is dropped.
    await rename(staging, template);
  } finally {
    await removeDir(staging);
  }
}

/**
 * Copies a cluster's directory tree (`to` must not exist) with owners, modes and times kept: `cp -a` in a process of
 * its own, which copies a cluster's few thousand files in a fraction of the CPU time node:fs's `cp` takes and none of
 * this process's, and keeps the files owned by the account the server runs as (no chown of each copy). Node's `cp`
 * where there is no `cp -a` (the owner then being ours: the caller hands the tree over).
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const copied = await new Promise<boolean>((resolve) => {
    execFile('cp', ['-a', from, to], { timeout: 60_000 }, (err) => resolve(err === null));
  });
  if (copied) return;
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true });
}
