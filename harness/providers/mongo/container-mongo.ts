import { startContainer, type StartedContainerBackend } from '../container-backend.ts';

/** MongoDB in a container (only after a runtime was detected). */
export function startContainerMongo(opts: { image: string; startTimeoutMs: number }): Promise<StartedContainerBackend> {
  return startContainer({
    label: 'mongo',
    image: opts.image,
    containerPort: 27017,
    readyLog: { pattern: /Waiting for connections/, times: 1 },
    startTimeoutMs: opts.startTimeoutMs,
  });
}
