import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextsService, VaultCci, contextSecretPath } from './contexts.ts';

/** PostgreSQL as contexts-service reads it: the `contexts` rows, or an error while it is "down". */
function contextsTable(rows: Record<string, string>) {
  const db = { down: false };
  const pool = {
    query: async (_sql: string, [name]: [string]) => {
      if (db.down) throw new Error('connect ECONNREFUSED');
      const path = rows[name];
      return { rows: path === undefined ? [] : [{ vault_path: path }] };
    },
  } as unknown as pg.Pool;
  return { pool, db };
}

describe('contexts-service with vault-cci', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  async function start() {
    const vault = new VaultCci();
    vault.put(contextSecretPath('deploy'), { TOKEN: 'x', REGION: 'eu' });
    const { pool, db } = contextsTable({ deploy: contextSecretPath('deploy'), orphan: contextSecretPath('orphan') });
    const contexts = new ContextsService({ pool, vaultUrl: () => vault.url });
    await vault.start();
    await contexts.start();
    stops.push(() => contexts.stop(), () => vault.stop());
    const read = async (name: string) => {
      const r = await fetch(`${contexts.url}/api/v2/context/${name}/environment`);
      return { status: r.status, body: (await r.json()) as { variables?: string[]; down?: string } };
    };
    return { vault, contexts, db, read };
  }

  it("answers a context's variable names from its row and its vault secret; 404 for an unknown context", async () => {
    const { read, contexts } = await start();
    expect(await read('deploy')).toEqual({ status: 200, body: { name: 'deploy', variables: ['REGION', 'TOKEN'] } });
    expect((await read('nope')).status).toBe(404);
    expect(contexts.served).toBe(1);
  });

  it('names the store that is down: vault-cci (killed, or without the secret) or postgres', async () => {
    const { read, vault, db } = await start();
    expect(await read('orphan')).toMatchObject({ status: 503, body: { down: 'vault-cci' } });
    vault.kill();
    expect(await read('deploy')).toMatchObject({ status: 503, body: { down: 'vault-cci' } });
    await vault.start();
    expect((await read('deploy')).status).toBe(200);
    db.down = true;
    expect(await read('deploy')).toMatchObject({ status: 503, body: { down: 'postgres' } });
  });
});
