import type { ContainerRuntimeInfo } from './runtime.ts';
import { ProviderError, type BackendChoice, type BackendKind } from './types.ts';

/** Whether a backend can run here, and why (or why not), in words for `backendDetail` and errors. */
export interface BackendAvailability {
  readonly available: boolean;
  readonly detail: string;
}

/** Everything the choice depends on; checks are functions so that `auto` only pays for what it asks. */
export interface BackendQuestion {
  readonly component: string;
  readonly choice: BackendChoice;
  readonly url: string | undefined;
  /** An example URL for the `external` hint. */
  readonly urlExample: string;
  /** Local binaries (and the account to run them as). */
  readonly local: () => BackendAvailability;
  /** How to get the local binaries, for the hint of a failed explicit `local`. */
  readonly localHint: string;
  /** Whether this component has an embedded fallback (MongoDB's document store, S3's s3rver); undefined = none. */
  readonly embedded?: BackendAvailability;
  readonly runtime: () => Promise<ContainerRuntimeInfo>;
}

/** The settled backend and one sentence of why. */
export interface BackendDecision {
  readonly kind: BackendKind;
  readonly reason: string;
}

/**
 * Settles a backend choice. `auto` takes a given URL as `external`; otherwise local binaries, then
 * testcontainers when a runtime is detected, then the embedded fallback (MongoDB, S3); else UNAVAILABLE
 * with a hint. An explicit choice that cannot run is an error naming why, never a silent substitute.
 */
export async function chooseBackend(q: BackendQuestion): Promise<BackendDecision> {
  const name = q.component;
  switch (q.choice) {
    case 'external':
      if (q.url === undefined) {
        throw new ProviderError('BAD_URL', `${name}: backend 'external' needs a URL and none was given`, `call withUrl('${q.urlExample}')`);
      }
      return { kind: 'external', reason: 'external backend requested' };
    case 'local': {
      const local = q.local();
      if (!local.available) throw new ProviderError('BINARY_MISSING', `${name}: backend 'local' requested, but ${local.detail}`, q.localHint);
      return { kind: 'local', reason: 'local backend requested' };
    }
    case 'testcontainers': {
      const rt = await q.runtime();
      if (!rt.available) throw new ProviderError('UNAVAILABLE', `${name}: backend 'testcontainers' requested, but ${rt.detail}`, `start Docker or Podman, or choose withBackend('local') or withBackend('external')`);
      return { kind: 'testcontainers', reason: 'testcontainers backend requested' };
    }
    case 'embedded':
      if (!q.embedded?.available) {
        throw new ProviderError('UNAVAILABLE', `${name}: backend 'embedded' requested, but ${q.embedded?.detail ?? `${name} has no embedded backend`}`, `choose withBackend('auto'), 'local', 'testcontainers' or 'external'`);
      }
      return { kind: 'embedded', reason: 'embedded backend requested' };
    case 'auto':
      return chooseAuto(q);
  }
}

async function chooseAuto(q: BackendQuestion): Promise<BackendDecision> {
  if (q.url !== undefined) return { kind: 'external', reason: 'auto: a URL was given' };
  const local = q.local();
  if (local.available) return { kind: 'local', reason: `auto: ${local.detail}` };
  const rt = await q.runtime();
  if (rt.available) return { kind: 'testcontainers', reason: `auto: ${local.detail}; ${rt.detail}` };
  if (q.embedded?.available) return { kind: 'embedded', reason: `auto: ${local.detail}; ${rt.detail}; ${q.embedded.detail}` };
  throw new ProviderError('UNAVAILABLE', `${q.component}: no backend available: ${local.detail}; ${rt.detail}`, `${q.localHint}; or start Docker/Podman; or point at an existing server with withUrl('${q.urlExample}')`);
}
