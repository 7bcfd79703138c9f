import { startEmbeddedServer } from '../../embedded/embedded-process.ts';
import type { LocalProcessRunner } from '../../local-process-runner.ts';
import { rabbitReady } from '../local-rabbitmq.ts';

export interface EmbeddedRabbitMQ {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  /** Always undefined: there is no Erlang node, so no name that rabbitmqctl or a cluster could use. */
  readonly nodeName: undefined;
  readonly detail: string;
}

/**
 * The twin's own AMQP 0-9-1 broker (`embedded/`), for when no RabbitMQ node should or can be booted: a child Node
 * process on a free port of 127.0.0.1 with its journal in a fresh temp dir. It is ready in well under a second
 * where a real node takes seconds (ready as a node is: port open, then an AMQP connection as guest), and it stays a real process for the live faults: SIGKILL, SIGSTOP/SIGCONT and
 * `restart()` behave as they do for a node.
 */
export async function startEmbeddedRabbitMQ(opts: { startTimeoutMs: number }): Promise<EmbeddedRabbitMQ> {
  const server = await startEmbeddedServer({ component: 'rabbitmq', entry: new URL('./embedded-rabbitmq-main.ts', import.meta.url), ready: rabbitReady, startTimeoutMs: opts.startTimeoutMs });
  return {
    runner: server.runner,
    port: server.port,
    nodeName: undefined,
    detail: `the twin's embedded AMQP 0-9-1 broker (a child Node process) on 127.0.0.1:${server.port}, journal in ${server.dataDir}`,
  };
}
