// A pipeline stage's worker thread: registers tsx's loader in this thread (workers do not inherit the parent's
// loader, and Node 20 does not apply `--import` hooks to a worker's entry), then runs the TypeScript stage.
import { register } from 'tsx/esm/api';

register();
await import('./stage-worker.ts');
