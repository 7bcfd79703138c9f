import { createServer, type AddressInfo } from 'node:net';
import { AmqpConnection } from './amqp-connection.ts';
import type { Broker } from './broker.ts';
import type { ConnectionLimits } from './handshake.ts';

/**
 * The embedded broker's TCP listener: it accepts clients, gives each an `AmqpConnection` and closes them all when it
 * stops.
 */

// The connection's parts, under the names the embedded server (and its tests) import from here.
export { AmqpConnection } from './amqp-connection.ts';
export { DEFAULT_LIMITS, type ConnectionLimits } from './handshake.ts';

export interface AmqpListener {
  readonly port: number;
  /** Stops accepting, closes every connection with 320 CONNECTION_FORCED and waits for their sockets to close. */
  close(): Promise<void>;
}

/** Serves `broker` on host:port (port 0: any free port). */
export async function listenAmqp(broker: Broker, opts: { port: number; host?: string; limits?: ConnectionLimits }): Promise<AmqpListener> {
  const connections = new Set<AmqpConnection>();
  const server = createServer((socket) => {
    const c = new AmqpConnection(socket, broker, opts.limits);
    connections.add(c);
    void c.closed.then(() => connections.delete(c));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...connections].map((c) => c.shutdown()));
      await stopped;
    },
  };
}
