import { startContainer, type StartedContainerBackend } from '../container-backend.ts';

/** PostgreSQL in a container (only after a runtime was detected), trust auth like the private cluster. */
export function startContainerPostgres(opts: { image: string; startTimeoutMs: number }): Promise<StartedContainerBackend> {
  return startContainer({
    label: 'postgres',
    image: opts.image,
    containerPort: 5432,
    env: { POSTGRES_USER: 'postgres', POSTGRES_HOST_AUTH_METHOD: 'trust' },
    // The entrypoint starts a temporary server for its init scripts first: ready means the second time.
    readyLog: { pattern: /database system is ready to accept connections/, times: 2 },
    startTimeoutMs: opts.startTimeoutMs,
  });
}
