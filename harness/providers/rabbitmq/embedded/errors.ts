import { randomBytes } from 'node:crypto';

/**
 * The broker's protocol exceptions (`AmqpError`, with RabbitMQ's reply codes) and the way its reply texts name
 * things in the vhost; also the names the server makes up for queues and consumers.
 */

const REPLY_NAMES: Readonly<Record<number, string>> = {
  312: 'NO_ROUTE',
  320: 'CONNECTION_FORCED',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

/** A protocol exception (spec 1.2): `message` is the reply text RabbitMQ sends, `NOT_FOUND - no queue 'x' in vhost '/'`. */
export class AmqpError extends Error {
  constructor(
    readonly code: number,
    detail: string,
  ) {
    super(`${REPLY_NAMES[code] ?? 'INTERNAL_ERROR'} - ${detail}`);
    this.name = 'AmqpError';
  }

  /** Soft errors (4xx) close the channel; hard ones (3xx, 5xx) close the connection. */
  get closesConnection(): boolean {
    return this.code < 400 || this.code >= 500;
  }
}

const VHOST = `vhost '/'`;
export const queueName = (name: string) => `queue '${name}' in ${VHOST}`;
export const exchangeName = (name: string) => `exchange '${name}' in ${VHOST}`;

export function serverName(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('base64url')}`;
}
