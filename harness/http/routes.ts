import Router from 'find-my-way';
import type { HTTPMethod } from 'find-my-way';

export type { HTTPMethod as HttpMethod } from 'find-my-way';
import type { HttpRequest } from './http-server.ts';
import { LAYER_ERROR_CODES } from './body.ts';
import { HttpError } from './http-error.ts';

/** A route's handler: it answers through `request.res` (see `sendJson`, `sendText`) or throws an `HttpError`. */
export type HttpHandler = (request: HttpRequest) => Promise<void> | void;

/** What a path and method resolve to: the handler and the path's parameters (percent-decoded). */
export interface RouteMatch {
  readonly handler: HttpHandler;
  readonly params: Readonly<Record<string, string>>;
}

/** The longest path parameter taken (find-my-way's default of 100 is short for file paths and object keys). */
const MAX_PARAM_LENGTH = 2048;

/**
 * A server's route table on find-my-way (fastify's router): `:name` parameters, a trailing `*` for the rest of
 * the path (`params['*']`), trailing slashes ignored. A path that exists for other methods is a 405 naming them in
 * `Allow`; any other path a 404. HEAD falls back to the GET route (Node sends no body for HEAD).
 *
 * ```ts
 * const routes = new HttpRoutes().get('/health', health).post('/builds/:id/finish', finish);
 * ```
 */
export class HttpRoutes {
  // A path that is not valid percent-encoding matches no route: onBadUrl marks it, so that it is a 400, not a 404.
  private readonly router = Router({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH, onBadUrl: () => undefined });
  private readonly methods = new Set<HTTPMethod>();

  on(methods: HTTPMethod | readonly HTTPMethod[], path: string, handler: HttpHandler): this {
    const list = typeof methods === 'string' ? [methods] : [...methods];
    if (list.length === 0) throw new RangeError(`route ${path}: no method`);
    for (const m of list) this.methods.add(m);
    // find-my-way throws on a route defined twice, which is what a programmer error here should do.
    this.router.on(list, path, () => undefined, handler);
    return this;
  }

  get(path: string, handler: HttpHandler): this {
    return this.on('GET', path, handler);
  }

  post(path: string, handler: HttpHandler): this {
    return this.on('POST', path, handler);
  }

  put(path: string, handler: HttpHandler): this {
    return this.on('PUT', path, handler);
  }

  delete(path: string, handler: HttpHandler): this {
    return this.on('DELETE', path, handler);
  }

  /** The route of `method` and `url` (a path, with or without its query), or the 404 / 405 to answer. */
  match(method: string, rawUrl: string): RouteMatch {
    const url = trimTrailingSlashes(rawUrl);
    const found = this.find(method, url) ?? (method === 'HEAD' ? this.find('GET', url) : undefined);
    if (found !== undefined) return found;
    const allowed = [...this.methods].filter((m) => this.find(m, url) !== undefined);
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    if (allowed.length === 0) throw new HttpError(404, LAYER_ERROR_CODES.notFound, `no route for ${method} ${pathOf(url)}`);
    const allow = allowed.sort().join(', ');
    throw new HttpError(405, LAYER_ERROR_CODES.methodNotAllowed, `${method} is not allowed on ${pathOf(url)}; allowed: ${allow}`, { headers: { allow } });
  }

  private find(method: string, url: string): RouteMatch | undefined {
    if (!this.methods.has(method as HTTPMethod)) return undefined;
    const found = this.router.find(method as HTTPMethod, url);
    if (found === null) return undefined;
    if (found.store === null) throw new HttpError(400, LAYER_ERROR_CODES.badUrl, `the path ${pathOf(url)} is not valid percent-encoding`);
    return { handler: found.store as HttpHandler, params: found.params as Record<string, string> };
  }
}

/** `/a/b//?q` → `/a/b?q`: any run of trailing slashes is ignored, as the fake GitHub always has. */
function trimTrailingSlashes(url: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.length <= 1 || path.charCodeAt(path.length - 1) !== 47) return url;
  const trimmed = path.replace(/\/+$/, '') || '/';
  return q === -1 ? trimmed : trimmed + url.slice(q);
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
