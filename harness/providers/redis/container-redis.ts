import { startContainer, type StartedContainerBackend } from '../container-backend.ts';

/** Redis in a container (only after a runtime was detected), in memory only like the private server. */
export function startContainerRedis(opts: { image: string; startTimeoutMs: number }): Promise<StartedContainerBackend> {
  return startContainer({
    label: 'redis',
    image: opts.image,
    containerPort: 6379,
    command: ['redis-server', '--save', '', '--appendonly', 'no'],
    readyLog: { pattern: /Ready to accept connections/, times: 1 },
    startTimeoutMs: opts.startTimeoutMs,
  });
}
