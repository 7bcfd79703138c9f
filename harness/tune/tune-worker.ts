import { parentPort } from 'node:worker_threads';
import { runTuneCell, type TuneCellTask } from './cell.ts';
import { errorMessage, type PoolReply, type PoolRequest } from './pool-messages.ts';

/** A worker thread of the local pool: runs one cell at a time, as the parent asks, and answers with its result. */
const port = parentPort;
if (port === null) throw new Error('tune-worker.ts runs as a worker thread');
port.on('message', (msg: PoolRequest) => {
  void (async () => {
    let reply: PoolReply;
    try {
      reply = { id: msg.id, result: await runTuneCell(msg.task as TuneCellTask) };
    } catch (e) {
      reply = { id: msg.id, error: errorMessage(e) };
    }
    port.postMessage(reply);
  })();
});
port.postMessage({ ready: true });
