import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack } from './stack.ts';
import { endpointsOf, liveBackends } from './backends.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { StartedLdap, waitForPortClosed } from '../providers/index.ts';
import { slapdMissingReason } from '../providers/ldap/local-ldap.ts';

async function health(stack: LiveStack, name: string): Promise<{ status: number; failing: string[] }> {
  const res = await fetch(stack.rows.get(name)!.healthUrl!, { signal: AbortSignal.timeout(3_000) });
  const body = (await res.json()) as { failing?: string[] };
  return { status: res.status, failing: body.failing ?? [] };
}

// `auth: ldap`: a private slapd holds the users, and federation-service's health check binds to it for real.
// Without OpenLDAP's Debian packages (a fresh machine; `.ci/run` installs them) these skip, saying why in one line.
const noSlapd = slapdMissingReason();

describe.skipIf(noSlapd !== undefined)('the live stack with auth: ldap', () => {
  const profile = loadProfile('2.19.6');
  const { externals } = liveBackends(profile, { auth: 'ldap' });
  // The twin services only (no PostgreSQL, Redis or RabbitMQ processes): what is shown here is LDAP.
  const stack = new LiveStack({ profile, portOffset: 13_000, backends: {}, externals });

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
  });
  afterAll(async () => {
    await stack.down();
  });

  it('starts the directory as an external system only with auth: ldap', () => {
    expect(Object.keys(externals).sort()).toEqual(['ec2', 'github', 'ldap', 's3']);
    expect(Object.keys(liveBackends(profile, { auth: 'github' }).externals).sort()).toEqual(['ec2', 'github', 's3']);
    const row = stack.rows.get('ldap')!;
    expect(row).toMatchObject({ kind: 'api', state: 'healthy' });
    expect(row.backend).toMatch(/^private slapd .* \(auto: local slapd/);
    expect(row.pid).toBeGreaterThan(0);
    expect(endpointsOf(stack.components).ldap).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
  });

  it('federation-service is healthy while its bind to the directory succeeds', async () => {
    expect(await health(stack, 'federation-service')).toEqual({ status: 200, failing: [] });
    expect((await health(stack, 'ready-agent')).status).toBe(200);
  });

  it('a hung slapd (SIGSTOP) fails the bind: 500 naming ldap, and 200 again after SIGCONT', async () => {
    stack.pause('ldap');
    expect(await health(stack, 'federation-service')).toEqual({ status: 500, failing: ['ldap'] });
    stack.unpause('ldap');
    expect(await health(stack, 'federation-service')).toEqual({ status: 200, failing: [] });
  });

  it('after a SIGKILL of slapd, federation-service answers 500 naming ldap; services that do not use LDAP stay healthy', async () => {
    const ldap = stack.components.get('ldap') as StartedLdap;
    await stack.kill('ldap');
    expect(await waitForPortClosed(ldap.host, ldap.port, 5_000)).toBe(true);
    expect(await health(stack, 'federation-service')).toEqual({ status: 500, failing: ['ldap'] });
    expect((await health(stack, 'contexts-service')).status).toBe(200);
    const ready = await health(stack, 'ready-agent');
    expect(ready.status).toBe(500);
    expect(ready.failing).toContain('federation-service');

    // Recovery: the private slapd restarts on its port with its users, and the bind succeeds again.
    await ldap.restart();
    expect(await ldap.authenticate('GERey', 'GERey-password')).toBe(true);
    expect(await health(stack, 'federation-service')).toEqual({ status: 200, failing: [] });
  });
});
