import type { Profile } from '../../fixtures/schema.ts';
import type { BackendFactory } from './stack.ts';

/**
 * The real components of the live stack, by container name: private PostgreSQL, Redis and RabbitMQ processes,
 * MongoDB (or the embedded document store), the twin's Nomad API. Filled in from the providers.
 */
export function liveBackends(_profile: Profile): { backends: Record<string, BackendFactory>; endpoints: () => Record<string, string> } {
  return { backends: {}, endpoints: () => ({}) };
}
