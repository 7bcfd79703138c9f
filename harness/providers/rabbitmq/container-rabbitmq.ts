import { startContainer, type StartedContainerBackend } from '../container-backend.ts';

/** RabbitMQ in a container (only after a runtime was detected); the image allows guest/guest from outside the container. */
export function startContainerRabbitMQ(opts: { image: string; startTimeoutMs: number }): Promise<StartedContainerBackend> {
  return startContainer({
    label: 'rabbitmq',
    image: opts.image,
    containerPort: 5672,
    readyLog: { pattern: /Server startup complete/, times: 1 },
    startTimeoutMs: opts.startTimeoutMs,
  });
}
