// A task thread of `twin worker`: registers tsx's loader in this thread (workers do not inherit the parent's
// loader, and Node 20 does not apply `--import` hooks to a worker's entry), then runs the TypeScript executor host.
import { register } from 'tsx/esm/api';

register();
await import('./task-thread-main.ts');
