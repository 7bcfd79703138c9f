import { runEmbeddedMain } from '../../embedded/embedded-main.ts';
import { startRespServer } from './resp-server.ts';

// The child process of the embedded Redis backend (started by `embedded-redis.ts`). Memory only, like the private
// redis-server (`--save "" --appendonly no`): the data dir is created for the shared lifecycle but never written.
await runEmbeddedMain('embedded redis', ({ port }) => startRespServer({ host: '127.0.0.1', port }));
