import { parseServiceUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external RabbitMQ, validated. */
export interface RabbitMQUrl {
  readonly host: string;
  readonly port: number;
  readonly vhost: string;
  readonly tls: boolean;
  readonly redacted: string;
  readonly raw: string;
}

export const RABBITMQ_URL_EXAMPLE = 'amqp://circle:secret@mq.internal:5672/%2F';

/** Parses `amqp://user:password@host:5672/vhost` (or `amqps://`, port 5671), naming what is wrong. */
export function parseRabbitMQUrl(raw: string): RabbitMQUrl {
  const u = parseServiceUrl(raw, { component: 'rabbitmq', schemes: ['amqp', 'amqps'], defaultPort: 5672, example: RABBITMQ_URL_EXAMPLE });
  if (u.rawPath.includes('/')) {
    throw new ProviderError('BAD_URL', `rabbitmq: URL '${u.redacted}' has path '/${u.rawPath}': the path is one vhost name, with '/' written as %2F`, `expected a URL like ${RABBITMQ_URL_EXAMPLE}`);
  }
  const tls = u.scheme === 'amqps';
  const explicitPort = /^[^:]+:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):\d/.test(raw.trim());
  return { host: u.host, port: tls && !explicitPort ? 5671 : u.port, vhost: u.path === '' ? '/' : u.path, tls, redacted: u.redacted, raw: raw.trim() };
}
