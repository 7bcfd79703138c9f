import { runEmbeddedMain } from '../../embedded/embedded-main.ts';
import { MongoEngine } from './commands.ts';
import { FileJournal } from './persistence.ts';
import { serveWire } from './wire.ts';

// The child process of the embedded MongoDB backend (started by `embedded-mongo.ts`): the journal in the data dir
// is replayed, then the wire server answers on 127.0.0.1. A journal that cannot be written ends the process, as
// mongod stops when it cannot write its journal: acknowledging a write it could not keep would be worse.
await runEmbeddedMain('embedded mongo', async ({ port, dataDir }) => {
  const { journal, data, replayed } = FileJournal.open(dataDir);
  const engine = await MongoEngine.open({ journal, data });
  const server = await serveWire({
    host: '127.0.0.1',
    port,
    handle: (c) =>
      engine.run(c.db, c.command, c.connectionId).catch((err: unknown) => {
        console.error(`embedded mongo: the journal in ${dataDir} could not be written (${err instanceof Error ? err.message : String(err)}): stopping`);
        process.exit(1);
      }),
  });
  console.log(`embedded mongo: replayed ${replayed} journal entries from ${dataDir}`);
  return {
    async close() {
      await server.close();
      journal.close();
    },
  };
});
