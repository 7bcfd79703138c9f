// The embedded S3's worker thread from the sources: registers tsx's loader in this thread (workers do not inherit the
// parent's loader), then runs the TypeScript worker. From the live bundle the prebuilt worker runs instead.
import { register } from 'tsx/esm/api';

register();
await import('./s3rver-worker.ts');
