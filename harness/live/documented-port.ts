import type { Container, Profile } from '../../fixtures/schema.ts';

/** The port a container publishes: its health endpoint's, else its first fixed TCP port; null when it has none. */
export function documentedPort(c: Container): number | null {
  return c.health?.port ?? c.ports.find((p) => !p.ephemeral && p.host !== null && p.protocol === 'tcp')?.host ?? null;
}

/** statsd's port (nomad-metrics reports there; the stack publishes it at the offset too). */
export const STATSD_PORT = 8125;

/**
 * The highest port the live stack publishes at `offset + port`: the containers' documented ports, telegraf's UDP port
 * and statsd's. An offset above 65535 minus this puts a port beyond the last one.
 */
export function highestDocumentedPort(profile: Profile): number {
  let max = STATSD_PORT;
  for (const c of profile.containers) {
    max = Math.max(max, documentedPort(c) ?? 0, ...c.ports.filter((p) => p.protocol === 'udp' && !p.ephemeral).map((p) => p.container));
  }
  return max;
}
