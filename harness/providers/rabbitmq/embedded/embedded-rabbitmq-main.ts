import { runEmbeddedMain } from '../../embedded/embedded-main.ts';
import { Broker } from './broker.ts';
import { listenAmqp } from './connection.ts';
import { openJournal } from './persistence.ts';

/**
 * The embedded broker's process (spawned by `startEmbeddedRabbitMQ`): recovers the journal in `--data-dir`, serves
 * AMQP 0-9-1 on 127.0.0.1:`--port`, and on SIGTERM closes every connection with 320 CONNECTION_FORCED, as RabbitMQ
 * does, before it records a clean shutdown.
 */
await runEmbeddedMain('embedded rabbitmq', async ({ port, dataDir }) => {
  const { journal, recovered } = openJournal(dataDir);
  const broker = new Broker(journal, recovered);
  const listener = await listenAmqp(broker, { port });
  return {
    async close() {
      await listener.close();
      broker.close();
    },
  };
});
