import { connect } from 'node:net';
import { waitForPort, type ManagedProcess } from './process.ts';
import { ProviderError } from './types.ts';

/** What a wait strategy knows: which server, where it should answer, until when, and its process if we own it. */
export interface WaitContext {
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** Epoch milliseconds after which the wait fails with START_TIMEOUT. */
  readonly deadline: number;
  readonly process?: ManagedProcess;
}

/** How to tell that a started server is ready: a value, so each component declares its own (testcontainers style). */
export interface WaitStrategy {
  /** For error messages: "port open, then SELECT 1". */
  readonly description: string;
  waitUntilReady(ctx: WaitContext): Promise<void>;
}

/** A probe that throws until the server is ready (a query, a PING, an AMQP handshake). */
export type ReadinessProbe = (ctx: WaitContext) => Promise<void>;

/** The pause between two probes; short, because the servers here boot in a few hundred milliseconds to seconds. */
const PROBE_INTERVAL_MS = 150;

export const Wait = {
  /** The TCP port accepts connections. */
  forListeningPort(): WaitStrategy {
    return {
      description: 'port open',
      async waitUntilReady(ctx) {
        const opts = ctx.process ? { timeoutMs: remaining(ctx), label: ctx.label, process: ctx.process } : { timeoutMs: remaining(ctx), label: ctx.label };
        await waitForPort(ctx.host, ctx.port, opts);
      },
    };
  },

  /**
   * The probe succeeds; retried until the deadline, failing early if the process exits or the error is one that
   * retrying cannot cure (`isFatal`: a wrong password, a missing database).
   */
  forProbe(description: string, probe: ReadinessProbe, isFatal: (err: unknown) => boolean = () => false): WaitStrategy {
    return {
      description,
      async waitUntilReady(ctx) {
        let lastError = 'never tried';
        for (let attempt = 0; attempt < 10_000; attempt++) {
          exitedEarly(ctx);
          try {
            await probe(ctx);
            return;
          } catch (err) {
            lastError = err instanceof Error ? err.message : String(err);
            if (isFatal(err)) throw new ProviderError('START_FAILED', `${ctx.label}: ${description} failed on ${ctx.host}:${ctx.port}: ${lastError}`);
          }
          if (Date.now() > ctx.deadline) break;
          await sleep(PROBE_INTERVAL_MS);
        }
        throw new ProviderError('START_TIMEOUT', `${ctx.label}: ${description} did not succeed on ${ctx.host}:${ctx.port} before the deadline; last error: ${lastError}${tailOf(ctx)}`);
      },
    };
  },

  /** Each strategy in turn. */
  forAll(...strategies: WaitStrategy[]): WaitStrategy {
    return {
      description: strategies.map((s) => s.description).join(', then '),
      async waitUntilReady(ctx) {
        for (const s of strategies) await s.waitUntilReady(ctx);
      },
    };
  },
};

/** Resolves once nothing accepts connections on host:port any more (after a kill); false if it still does at the deadline. */
export async function waitForPortClosed(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    if (!(await isPortOpen(host, port))) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return false;
}

/** Whether a TCP connection to host:port succeeds right now. */
export function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function remaining(ctx: WaitContext): number {
  return Math.max(0, ctx.deadline - Date.now());
}

function exitedEarly(ctx: WaitContext): void {
  const child = ctx.process?.child;
  if (child && (child.exitCode !== null || child.signalCode !== null)) {
    throw new ProviderError('START_FAILED', `${ctx.label} exited (${child.exitCode ?? child.signalCode}) before it was ready${tailOf(ctx)}`);
  }
}

function tailOf(ctx: WaitContext): string {
  const tail = ctx.process?.tail(15);
  return tail ? `:\n${tail}` : '';
}
