import type http from 'node:http';
import type pg from 'pg';
import { sendJson as send, type HttpRequest, type HttpRoutes } from '../../http/index.ts';
import { HttpService } from './http-util.ts';

/** The Vault KV path of a context's secrets. */
export const contextSecretPath = (name: string) => `contexts/${name}`;

/**
 * vault-cci: the encrypted store of contexts' secrets, in Vault's KV v2 shape: `GET /v1/secret/data/<path>` →
 * `{ data: { data: {...} } }` (404 without it), `GET /v1/sys/health` → 200. Secrets are put by the harness.
 */
export class VaultCci extends HttpService {
  private readonly secrets = new Map<string, Record<string, string>>();

  constructor(port?: number) {
    super('vault-cci', port);
  }

  put(path: string, data: Record<string, string>): void {
    this.secrets.set(path, { ...data });
  }

  protected routes(routes: HttpRoutes): HttpRoutes {
    return routes
      .get('/v1/sys/health', (r) => send(r.res, 200, { initialized: true, sealed: false }))
      .get('/v1/secret/data/*', (r) => {
        const data = this.secrets.get(r.params['*'] ?? '');
        return data === undefined ? send(r.res, 404, { errors: [] }) : send(r.res, 200, { data: { data, metadata: { version: 1 } } });
      });
  }
}

export interface ContextsServiceOptions {
  /** Where contexts are kept (the `contexts` table). */
  pool: pg.Pool;
  /** vault-cci's base URL. */
  vaultUrl: () => string;
  port?: number;
}

/**
 * contexts-service: `GET /api/v2/context/:name/environment` answers the context's environment variables: its
 * row from PostgreSQL, its secrets from vault-cci. 404 for an unknown context; 503 `{ down }` naming the store that
 * did not answer (postgres, vault-cci), so that picard-dispatcher can say why the build failed.
 */
export class ContextsService extends HttpService {
  /** Reads answered, and refused because a store was down. */
  served = 0;
  refused = 0;

  constructor(private readonly opts: ContextsServiceOptions) {
    super('contexts-service', opts.port);
  }

  protected routes(routes: HttpRoutes): HttpRoutes {
    // `/status` is the profile's documented health path (port 3011); `/health` the stage's own.
    return routes.get('/health', (r) => send(r.res, 200, { ok: true })).get('/status', (r) => send(r.res, 200, { ok: true })).get('/api/v2/context/:name/environment', (r) => this.environment(r));
  }

  private async environment({ res, params }: HttpRequest): Promise<void> {
    const name = params.name ?? '';
    let row: { vault_path: string } | undefined;
    try {
      row = (await this.opts.pool.query<{ vault_path: string }>('SELECT vault_path FROM contexts WHERE name = $1', [name])).rows[0];
    } catch (err) {
      return this.refuse(res, 'postgres', err);
    }
    if (row === undefined) return send(res, 404, { message: `context ${name} not found` });
    let secret: Response;
    try {
      secret = await fetch(`${this.opts.vaultUrl()}/v1/secret/data/${encodeURIComponent(row.vault_path)}`, { signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      return this.refuse(res, 'vault-cci', err);
    }
    const body = (await secret.json().catch(() => ({}))) as { data?: { data?: Record<string, string> } };
    if (!secret.ok || body.data?.data === undefined) return this.refuse(res, 'vault-cci', new Error(`vault answered ${secret.status}`));
    this.served++;
    return send(res, 200, { name, variables: Object.keys(body.data.data).sort() });
  }

  private refuse(res: http.ServerResponse, down: 'postgres' | 'vault-cci', err: unknown): void {
    this.refused++;
    send(res, 503, { down, message: err instanceof Error ? err.message : String(err) });
  }
}
