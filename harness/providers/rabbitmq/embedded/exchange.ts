import type { Queue } from './queue.ts';

/**
 * Exchanges and routing: the exchange types and the built-in exchanges, bindings, and how direct, fanout, topic and
 * headers exchanges match a routing key (the default exchange's routing is the broker's, by queue name).
 */

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers';
export const EXCHANGE_TYPES: ReadonlySet<string> = new Set<ExchangeType>(['direct', 'fanout', 'topic', 'headers']);

/** The exchanges every RabbitMQ vhost has; they cannot be deleted and are never journaled. */
export const BUILT_IN_EXCHANGES: ReadonlyArray<[string, ExchangeType]> = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

export interface ExchangeDeclare {
  readonly exchange: string;
  readonly type: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly autoDelete?: boolean;
  readonly internal?: boolean;
  readonly arguments?: Record<string, unknown>;
}

interface Binding {
  readonly queue: Queue;
  readonly routingKey: string;
  readonly args: Record<string, unknown>;
  /** The routing key split into words, for topic matching. */
  readonly words: readonly string[];
}

export class Exchange {
  readonly bindings: Binding[] = [];

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: Record<string, unknown>,
    readonly builtIn: boolean,
  ) {}

  /** The queues bound for this routing key (and headers, for a headers exchange); the default exchange is the broker's. */
  route(routingKey: string, headers: Record<string, unknown> | undefined): Queue[] {
    const words = this.type === 'topic' ? routingKey.split('.') : [];
    const matched = new Set<Queue>();
    for (const b of this.bindings) {
      if (this.type === 'fanout' || (this.type === 'direct' && b.routingKey === routingKey) || (this.type === 'topic' && topicMatches(b.words, words)) || (this.type === 'headers' && headersMatch(b.args, headers ?? {}))) {
        matched.add(b.queue);
      }
    }
    return [...matched];
  }
}

/** `*` matches exactly one word, `#` zero or more. */
export function topicMatches(pattern: readonly string[], words: readonly string[], p = 0, w = 0): boolean {
  if (p === pattern.length) return w === words.length;
  if (pattern[p] === '#') {
    for (let i = w; i <= words.length; i++) if (topicMatches(pattern, words, p + 1, i)) return true;
    return false;
  }
  if (w === words.length) return false;
  return (pattern[p] === '*' || pattern[p] === words[w]) && topicMatches(pattern, words, p + 1, w + 1);
}

/** `x-match: all` (the default) or `any` over the binding's other non-`x-` arguments; a void value matches any value. */
export function headersMatch(bindingArgs: Record<string, unknown>, headers: Record<string, unknown>): boolean {
  const wanted = Object.entries(bindingArgs).filter(([k]) => !k.startsWith('x-'));
  const matches = ([k, v]: [string, unknown]) => k in headers && (v === null || sameValue(headers[k], v));
  return bindingArgs['x-match'] === 'any' ? wanted.some(matches) : wanted.every(matches);
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
