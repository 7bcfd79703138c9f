/**
 * The detached supervisor of `twin up -d`, started straight from the live bundle (`dist/live/supervisor.mjs`) with
 * the parent's settled arguments as one JSON argument: it skips the CLI's own bundle and argument parsing, which the
 * parent did already, so the stack starts booting sooner. From the sources the parent runs `twin up --supervise`.
 */
import { upCommand, type UpArgs } from './live-stack.ts';
import { enableCodeCache } from '../../providers/code-cache.ts';

// The packages the stack loads here (pg for the migrations, the providers' clients): their compiled code from the last start.
enableCodeCache();
const args = JSON.parse(process.argv[2] ?? '{}') as Omit<UpArgs, 'detach' | 'supervise'>;
upCommand({ ...args, detach: true, supervise: true }, { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`twin up: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);
