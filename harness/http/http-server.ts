import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_MAX_BODY_BYTES, LAYER_ERROR_CODES, parseJsonBody, readBody } from './body.ts';
import { HttpError } from './http-error.ts';
import type { HttpRoutes } from './routes.ts';

/** One request as a handler sees it: the raw request and response, the route's parameters, the query, the body. */
export interface HttpRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path as sent (percent-encoded, without the query). */
  readonly path: string;
  /** The route's parameters, percent-decoded (`*` holds the rest of the path for a wildcard route). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The body, read once, at most `limitBytes` (the server's `maxBodyBytes` by default), else a 413. */
  buffer(limitBytes?: number): Promise<Buffer>;
  /** The body as UTF-8. */
  text(): Promise<string>;
  /** The body as JSON (`undefined` when empty); malformed JSON is a 400 naming the line and column. */
  json(): Promise<unknown>;
}

/** An error's answer in the server's own words: the body and its content type. */
export interface ErrorAnswer {
  readonly contentType: string;
  readonly body: string;
}

/** Words an `HttpError` the way one server's clients expect (AWS XML, GitHub JSON, Nomad text, the stages' JSON). */
export type HttpErrorMapper = (error: HttpError, request: { readonly method: string; readonly path: string }) => ErrorAnswer;

/** The settled options of one server; `listenHttp` applies the defaults. */
export interface HttpServerOptions {
  /** Names the server in errors (`ec2`, `fileserved`, `frontend`). */
  readonly name: string;
  readonly routes: HttpRoutes;
  readonly errors: HttpErrorMapper;
  /** 127.0.0.1 unless given; only loopback addresses are allowed: the twin's servers are never exposed. */
  readonly host?: string;
  /** 0 (the default): a free one. */
  readonly port?: number;
  /** Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Turns a server's own error types into `HttpError`s (fileserved's `ObjectStoreError`); others are 500s. */
  readonly translate?: (err: unknown) => HttpError | undefined;
  /** Told of every error that is not an `HttpError` (a bug, or a store that failed), before the 500 is sent. */
  readonly onUnexpectedError?: (err: unknown, request: { readonly method: string; readonly path: string }) => void;
  /**
   * How long an idle keep-alive connection stays open. A minute, as AWS's endpoints keep them: a client that
   * reuses a pooled socket without knowing the server's timeout (the AWS SDK) could otherwise race the close.
   */
  readonly keepAliveTimeoutMs?: number;
  /** How long `close()` lets requests in flight finish before their connections are cut. Default 2 s. */
  readonly closeGraceMs?: number;
}

/** A port that could not be listened on: `code` is the system's (`EADDRINUSE`, `EACCES`). */
export class HttpListenError extends Error {
  constructor(
    readonly code: string,
    readonly host: string,
    readonly port: number,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'HttpListenError';
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
const DEFAULT_CLOSE_GRACE_MS = 2_000;

/** Starts a server on a loopback address; resolves once it listens, or rejects with an `HttpListenError`. */
export async function listenHttp(options: HttpServerOptions): Promise<ListeningHttp> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!LOOPBACK.test(host)) throw new RangeError(`${options.name}: the twin's servers listen on loopback only, not on ${host}`);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`${options.name}: port must be 0..65535, got ${port}`);
  const handle = requestHandler(options);
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = server.keepAliveTimeout + 1_000;
  const listening = new ListeningHttp(server, host, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'LISTEN_FAILED';
      reject(new HttpListenError(code, host, port, `${options.name}: could not listen on ${host}:${port}: ${code}`, 'choose another port, or 0 for a free one'));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return listening;
}

/** A listening server: where, and how to stop it gently (`close`) or at once (`kill`). */
export class ListeningHttp {
  private boundPort = 0;
  private readonly sockets = new Set<Socket>();
  /** Sockets with a request in flight. */
  private readonly busy = new Set<Socket>();
  private closing: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly server: Server,
    readonly host: string,
    private readonly closeGraceMs: number,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
        if (this.sockets.size === 0) this.onDrained?.();
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.busy.add(req.socket);
      res.once('finish', () => {
        this.busy.delete(req.socket);
        // Once closing, a connection ends with the answer in flight instead of waiting for another request.
        if (this.closing !== undefined) req.socket.end();
      });
    });
    server.once('listening', () => {
      this.boundPort = (server.address() as AddressInfo).port;
    });
  }

  /** The port it listens on (kept after close, so a restart can take the same one). */
  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Open connections (for tests and `twin status`). */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Stops accepting connections, ends idle ones at once, lets requests in flight finish and cuts what is still
   * open after the grace period: a stop is bounded. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.destroyAll(), this.closeGraceMs);
      timer.unref();
      // The server reports itself closed a moment before its last socket's own 'close': wait for both.
      this.server.close(() => {
        clearTimeout(timer);
        if (this.sockets.size === 0) resolve();
        else this.onDrained = resolve;
      });
      for (const s of this.sockets) if (!this.busy.has(s)) s.end();
    });
    return this.closing;
  }

  /** Stops answering at once: the listener and every connection are closed, requests in flight are cut. */
  kill(): void {
    this.closing ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.destroyAll();
  }

  private destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}

function requestHandler(options: HttpServerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    try {
      const route = options.routes.match(method, url);
      let body: Promise<Buffer> | undefined;
      let query: URLSearchParams | undefined;
      const buffer = (limitBytes = maxBodyBytes) => (body ??= readBody(req, limitBytes));
      const request: HttpRequest = {
        req,
        res,
        method,
        path,
        params: route.params,
        get query() {
          return (query ??= new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
        },
        buffer,
        text: async () => (await buffer()).toString('utf8'),
        json: async () => parseJsonBody((await buffer()).toString('utf8')),
      };
      await route.handler(request);
      if (!res.headersSent) throw new Error(`${options.name}: the handler of ${method} ${path} returned without answering`);
    } catch (err) {
      answerError(options, err, res, { method, path });
    }
  };
}

function answerError(options: HttpServerOptions, err: unknown, res: ServerResponse, request: { method: string; path: string }): void {
  const error = err instanceof HttpError ? err : options.translate?.(err);
  if (error === undefined) options.onUnexpectedError?.(err, request);
  // Half an answer cannot be taken back: the client sees the connection cut, not a wrong status.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = error ?? new HttpError(500, LAYER_ERROR_CODES.internal, err instanceof Error ? err.message : String(err), { cause: err });
  const { contentType, body } = options.errors(answer, request);
  sendText(res, answer.status, body, contentType, answer.headers);
}

/** A JSON answer with its length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  sendText(res, status, JSON.stringify(body), contentType);
}

/** A text answer (XML, a form, HTML) with its length and any further headers. */
export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8', headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The stages' and fileserved's errors: `{ "code", "error": message, ...details }` (the shape their clients read). */
export const jsonErrors: HttpErrorMapper = (error) => ({
  contentType: 'application/json',
  body: JSON.stringify({ code: error.code, error: error.message, ...error.details }),
});

/** Nomad's errors: the message as plain text (`Unexpected response code: 404 (…)` is how its clients show them). */
export const plainTextErrors: HttpErrorMapper = (error) => ({ contentType: 'text/plain; charset=utf-8', body: `${error.message}\n` });
