import { Agent, request as httpRequest } from 'node:http';
import { HttpRoutes, jsonErrors, listenHttp, type ListeningHttp } from '../../http/index.ts';

/**
 * A stage's HTTP server on the twin's HTTP layer, with start/stop/kill on 127.0.0.1 (port 0: a free one, then kept
 * across restarts so the hook URL stays valid). Errors are the stages' JSON (`{ code, error }`); malformed JSON is
 * a 400, not a 500. The routes are built at the first start, once the stage's own fields are set.
 */
export class HttpStage {
  private server: ListeningHttp | null = null;
  private routes: HttpRoutes | undefined;
  port: number;

  constructor(
    private readonly name: string,
    private readonly defineRoutes: (routes: HttpRoutes) => HttpRoutes,
    port = 0,
  ) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens; rejects with an `HttpListenError` whose `code` is the system's (`EADDRINUSE`) when the port is taken. */
  async start(): Promise<void> {
    this.routes ??= this.defineRoutes(new HttpRoutes());
    this.server = await listenHttp({ name: this.name, port: this.port, routes: this.routes, errors: jsonErrors });
    this.port = this.server.port;
  }

  /** Stops listening and lets requests in flight finish (cut after the layer's grace period). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    await s?.close();
  }

  /** Closes the listener and every open connection: it stops answering at once. */
  kill(): void {
    const s = this.server;
    this.server = null;
    s?.kill();
  }
}

/** A stage that is an HTTP server and nothing more: its start, stop and kill are its server's. */
export abstract class HttpService {
  private readonly http: HttpStage;

  constructor(name: string, port = 0) {
    this.http = new HttpStage(name, (routes) => this.routes(routes), port);
  }

  get url(): string {
    return this.http.url;
  }

  get port(): number {
    return this.http.port;
  }

  /** Listens; rejects with the listen error (`code` `EADDRINUSE`) when the port is taken. */
  start(): Promise<void> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** Closes the listener and every open connection: it stops answering at once. */
  kill(): void {
    this.http.kill();
  }

  /** The stage's routes, registered on the table it is given. */
  protected abstract routes(routes: HttpRoutes): HttpRoutes;
}

/** One keep-alive agent for the build agents' calls: connections to output-processor and vm-service are reused. */
const AGENT = new Agent({ keepAlive: true, keepAliveMsecs: 1_000 });

/** What `requestJson` got: the status and the body as parsed JSON (undefined when it is not JSON). */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/**
 * An HTTP request with a JSON body on a keep-alive connection; rejects on a network error or after `timeoutMs`
 * without an answer. Used instead of `fetch` by the build agents, which run in the stack's main thread beside the
 * Nomad API and GitHub Enterprise: fetch's streams and abort signals cost that thread about twice the CPU a call
 * (see harness/live/replay/README.md, "Where the queue time went").
 */
export function requestJson(method: string, url: string, body: unknown, timeoutMs: number): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest(url, { method, agent: AGENT, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
    function fail(err: Error) {
      clearTimeout(timer);
      reject(err);
    }
    req.on('error', fail);
    req.end(payload);
  });
}
