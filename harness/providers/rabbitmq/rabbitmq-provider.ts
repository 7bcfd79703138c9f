import { ProviderBuilder } from '../provider-builder.ts';
import { drivers } from '../drivers.ts';
import { chooseBackend, type BackendDecision } from '../choose-backend.ts';
import { IMAGES } from '../images.ts';
import { detectContainerRuntime } from '../runtime.ts';
import type { BackendRunner } from '../runner.ts';
import type { BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { startContainerRabbitMQ } from './container-rabbitmq.ts';
import { startEmbeddedRabbitMQ } from './embedded/embedded-rabbitmq.ts';
import { findRabbitMQServer, localRabbitMQAvailability, startLocalRabbitMQ, type RabbitCtl, type RabbitMQBinary, type RabbitRpc } from './local-rabbitmq.ts';
import { RABBITMQ_URL_EXAMPLE, parseRabbitMQUrl, type RabbitMQUrl } from './rabbitmq-url.ts';
import { StartedRabbitMQ } from './started-rabbitmq.ts';

/** What a caller may set; defaults are applied once, in `settleRabbitMQOptions`. */
export interface RabbitMQProviderOptions {
  backend?: BackendChoice;
  url?: string;
  /** The directory holding the rabbitmq-server start script. */
  binDir?: string;
  image?: string;
  startTimeoutMs?: number;
}

export interface SettledRabbitMQOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  readonly binDir: string | undefined;
  readonly image: string;
  readonly startTimeoutMs: number;
}

export function settleRabbitMQOptions(o: RabbitMQProviderOptions): SettledRabbitMQOptions {
  return { backend: o.backend ?? 'auto', url: o.url, binDir: o.binDir, image: o.image ?? IMAGES.rabbitmq, startTimeoutMs: o.startTimeoutMs ?? 60_000 };
}

/** Always there: the broker is the twin's own code, run as a child Node process. */
const EMBEDDED = { available: true, detail: "the twin's embedded AMQP 0-9-1 broker (a child Node process)" };

/**
 * RabbitMQ for the live stack: a private node of the local broker, a container, an external broker, or the twin's
 * embedded AMQP broker (`auto` picks it only when there is neither a local node nor a container runtime).
 *
 * ```ts
 * await using mq = await new RabbitMQProvider().start();
 * const conn = await mq.connect();
 * ```
 */
export class RabbitMQProvider extends ProviderBuilder<RabbitMQProviderOptions, StartedRabbitMQ> {
  /** The directory holding the binaries, when they are not on PATH. */
  withBinDir(binDir: string): this {
    return this.with({ binDir });
  }

  async start(): Promise<StartedRabbitMQ> {
    const o = settleRabbitMQOptions(this.opts);
    const external = o.url !== undefined ? parseRabbitMQUrl(o.url) : undefined;
    let bin: RabbitMQBinary | undefined | null = null;
    const findBin = () => (bin === null ? (bin = findRabbitMQServer(o.binDir)) : bin);
    const decision = await chooseBackend({
      component: 'rabbitmq',
      choice: o.backend,
      url: o.url,
      urlExample: RABBITMQ_URL_EXAMPLE,
      local: () => localRabbitMQAvailability(findBin()),
      localHint: 'install RabbitMQ (Debian: apt-get install rabbitmq-server), or give the directory of its start script with withBinDir()',
      runtime: detectContainerRuntime,
      embedded: EMBEDDED,
    });
    const s = await startBackend(decision, o, findBin, external);
    return new StartedRabbitMQ({ name: 'rabbitmq', backend: decision.kind, backendDetail: `${s.detail} (${decision.reason})`, url: s.url, host: s.host, port: s.port }, s.runner, { nodeName: s.nodeName, ...(s.ctl ? { ctl: s.ctl } : {}), ...(s.rpc ? { rpc: s.rpc } : {}) });
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly nodeName: string | undefined;
  readonly detail: string;
  /** rabbitmqctl against the node: a private local node only. */
  readonly ctl?: RabbitCtl;
  readonly rpc?: RabbitRpc;
}

async function startBackend(decision: BackendDecision, o: SettledRabbitMQOptions, findBin: () => RabbitMQBinary | undefined, external: RabbitMQUrl | undefined): Promise<BackendStart> {
  switch (decision.kind) {
    case 'local': {
      const local = await startLocalRabbitMQ({ bin: findBin()!, startTimeoutMs: o.startTimeoutMs });
      return { runner: local.runner, url: `amqp://guest:guest@127.0.0.1:${local.port}`, host: '127.0.0.1', port: local.port, nodeName: local.nodeName, detail: local.detail, ctl: local.ctl, rpc: local.rpc };
    }
    case 'testcontainers': {
      const c = await startContainerRabbitMQ({ image: o.image, startTimeoutMs: o.startTimeoutMs });
      return { runner: c.runner, url: `amqp://guest:guest@${c.host}:${c.port}`, host: c.host, port: c.port, nodeName: undefined, detail: `container ${o.image} on ${c.host}:${c.port}` };
    }
    case 'external': {
      const e = external!;
      await Wait.forProbe(
        'AMQP connection',
        async () => {
          const conn = await drivers.amqplib().connect(e.raw, { timeout: 2_000 });
          conn.on('error', () => undefined);
          await conn.close();
        },
        (err) => err instanceof Error && /ACCESS_REFUSED|403|NOT_ALLOWED|530/.test(err.message),
      ).waitUntilReady({ label: 'rabbitmq', host: e.host, port: e.port, deadline: Date.now() + o.startTimeoutMs });
      return { runner: { pid: undefined, dataDir: undefined, stop: async () => undefined }, url: e.raw, host: e.host, port: e.port, nodeName: undefined, detail: `external RabbitMQ at ${e.redacted}` };
    }
    case 'embedded': {
      const e = await startEmbeddedRabbitMQ({ startTimeoutMs: o.startTimeoutMs });
      return { runner: e.runner, url: `amqp://guest:guest@127.0.0.1:${e.port}`, host: '127.0.0.1', port: e.port, nodeName: e.nodeName, detail: e.detail };
    }
  }
}
