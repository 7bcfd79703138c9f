import type { Profile } from '../../fixtures/schema.ts';
import type { StartedComponent } from '../providers/types.ts';
import type { BackendFactory } from './stack.ts';
import { NomadApiServer } from '../nomad/server.ts';
import { FakeGithub } from '../github/server.ts';
import { defaultSeedData } from '../github/state.ts';

/** What the live stack starts for real: containers backed by real components, and the systems around them. */
export interface LiveBackends {
  /** By container name: started in the container's place in the boot order. */
  backends: Record<string, BackendFactory>;
  /** Systems outside the Services machine (GitHub Enterprise, EC2), started first. */
  externals: Record<string, BackendFactory>;
}

/**
 * The real components of the live stack: the twin's Nomad API (on the simulation's scheduler) for
 * nomad_server, and the fake GitHub Enterprise. Private PostgreSQL, Redis and RabbitMQ processes and the EC2
 * endpoint join here as their providers land.
 */
export function liveBackends(_profile: Profile, opts: { nomadClients?: number } = {}): LiveBackends {
  const clients = Array.from({ length: opts.nomadClients ?? 3 }, (_, i) => ({ name: `ip-10-0-0-${i + 1}`, cpus: 8, memoryGb: 32 }));
  return {
    backends: {
      nomad_server: () => new NomadApiServer().withPort(0).withClients(clients).start(),
    },
    externals: {
      github: () => new FakeGithub().withPort(0).withSeedData(defaultSeedData()).start() as Promise<StartedComponent>,
    },
  };
}

/** The endpoints `twin status --json` lists, from what was started. */
export function endpointsOf(started: ReadonlyMap<string, StartedComponent>): Record<string, string> {
  const out: Record<string, string> = {};
  const map: Record<string, string> = { nomad_server: 'nomad', github: 'github', postgres: 'postgres', redis: 'redis', rabbitmq: 'rabbitmq', mongo: 'mongo', ec2: 'ec2', autoscaling: 'autoscaling' };
  for (const [name, s] of started) {
    const key = map[name];
    if (key) out[key] = name === 'github' ? `${s.url.replace(/\/$/, '')}/api/v3` : s.url;
  }
  return out;
}
