import { STATUS_CODES } from 'node:http';

/** What an `HttpError` may carry besides its status, code and message. */
export interface HttpErrorOptions {
  /** Headers the answer must carry (`Allow` on a 405, `Retry-After`, rate-limit headers). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Fields a JSON error body adds beside its message (GitHub's `errors`, fileserved's `hint`). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * The one typed HTTP error of the twin's servers: thrown by a handler (or by the layer: 404, 405, 400, 413) and
 * turned into the answer by the server's error mapper, so every server words its errors its own way (AWS XML,
 * GitHub JSON, Nomad plain text) from the same fields. `code` is what a client or a test matches on.
 */
export class HttpError extends Error {
  readonly headers: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`an HTTP error status is 400..599, got ${status}`);
    this.name = 'HttpError';
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
  }

  /** An error whose code is its status's reason phrase (`404` → `NOT_FOUND`), for servers that need no codes of their own. */
  static of(status: number, message: string, options: HttpErrorOptions = {}): HttpError {
    return new HttpError(status, statusCode(status), message, options);
  }
}

/** `404` → `NOT_FOUND`, `413` → `PAYLOAD_TOO_LARGE`: Node's reason phrase as a constant. */
export function statusCode(status: number): string {
  return (STATUS_CODES[status] ?? `HTTP_${status}`).toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}
