import http from 'node:http';
import type { AddressInfo } from 'node:net';

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A small HTTP server with start/stop/kill on 127.0.0.1 (port 0: a free one). */
export class HttpStage {
  private server: http.Server | null = null;
  port: number;

  constructor(
    private readonly handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
    port = 0,
  ) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handler(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    // Keep the port across restarts, so the hook URL stays valid.
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
    });
  }

  kill(): void {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.close();
    s.closeAllConnections();
  }
}

/** A stage that is an HTTP server and nothing more: its start, stop and kill are its server's. */
export abstract class HttpService {
  private readonly http: HttpStage;

  constructor(port = 0) {
    this.http = new HttpStage((req, res) => this.route(req, res), port);
  }

  get url(): string {
    return this.http.url;
  }

  get port(): number {
    return this.http.port;
  }

  /** Listens; rejects with the listen error (`EADDRINUSE`) when the port is taken. */
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

  protected abstract route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
}
