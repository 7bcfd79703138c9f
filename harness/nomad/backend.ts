/**
 * Choosing the Nomad behind the live stack: a real one when `NOMAD_ADDR` or a `nomad` binary is given, else
 * the twin's Nomad API. `auto` takes the best available and says which and why.
 */
import { ProviderError, type BackendChoice, type StartedComponent } from '../providers/types.ts';
import { findRealNomad, startRealNomad } from './real-nomad.ts';
import { NomadApiServer } from './server.ts';

export interface NomadBackendOptions {
  choice?: BackendChoice;
  env?: NodeJS.ProcessEnv;
  /** Configures the twin when it is the one chosen (clients, seed, task runner, port). */
  twin?: (builder: NomadApiServer) => NomadApiServer;
}

/** A started Nomad and one line saying why this one. */
export interface NomadBackend {
  started: StartedComponent;
  reason: string;
}

export async function startNomadBackend(opts: NomadBackendOptions = {}): Promise<NomadBackend> {
  const choice = opts.choice ?? 'auto';
  const source = findRealNomad(opts.env);
  const twin = async (reason: string): Promise<NomadBackend> => ({
    started: await (opts.twin ?? ((b) => b))(new NomadApiServer()).start(),
    reason,
  });
  switch (choice) {
    case 'embedded':
      return twin('embedded requested: the twin Nomad API');
    case 'external':
      if (source.kind !== 'address') throw new ProviderError('BAD_URL', 'nomad: external requested but NOMAD_ADDR is unset', 'export NOMAD_ADDR=http://host:4646');
      return { started: (await startRealNomad(source))!, reason: `external requested: NOMAD_ADDR=${source.address}` };
    case 'local': {
      // Look for the binary only: NOMAD_ADDR does not count for a local backend.
      const local = findRealNomad({ NOMAD_ADDR: '' });
      if (local.kind !== 'binary') throw new ProviderError('BINARY_MISSING', 'nomad: local requested but no `nomad` binary is on PATH', 'install Nomad, or use external (NOMAD_ADDR) or embedded');
      return { started: (await startRealNomad(local))!, reason: `local requested: a nomad agent (server and client, own data dir) from ${local.path}` };
    }
    case 'testcontainers':
      throw new ProviderError('UNAVAILABLE', 'nomad: no container backend is provided for Nomad', 'use local (a nomad binary), external (NOMAD_ADDR) or embedded');
    case 'auto':
      if (source.kind === 'address') return { started: (await startRealNomad(source))!, reason: `auto: NOMAD_ADDR is set (${source.address})` };
      if (source.kind === 'binary') return { started: (await startRealNomad(source))!, reason: `auto: nomad binary found at ${source.path}` };
      return twin(`auto: ${source.reason}; using the twin Nomad API`);
  }
}
