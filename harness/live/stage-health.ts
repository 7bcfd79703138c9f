import type http from 'node:http';
import { HttpService, send } from './pipeline/http-util.ts';

/** Something a stage cannot work without, and whether it answers now. */
export interface HealthCheck {
  /** The container's name, as a 500 names it. */
  name: string;
  ok(): Promise<boolean>;
}

/** How long one check may take: under the 1 s ready-agent gives a health endpoint, so a hung dependency is a 500. */
export const CHECK_TIMEOUT_MS = 750;

/**
 * The health endpoint of a pipeline stage with no HTTP server of its own (the AMQP consumers): 200 while every
 * check passes, else 500 naming those that fail, in the shape the worker services answer ("200 indicates basic
 * health, 500 indicates bad configuration"), so ready-agent and the services that depend on it read it alike.
 */
export class StageHealth extends HttpService {
  constructor(private readonly opts: { service: string; path: string; port: number; checks: readonly HealthCheck[] }) {
    super(opts.port);
  }

  /** The health endpoint's URL. */
  override get url(): string {
    return `${super.url}${this.opts.path}`;
  }

  protected async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== this.opts.path && path !== `${this.opts.path}/`)) return send(res, 404, { message: 'Not Found' });
    const results = await Promise.all(this.opts.checks.map(async (c) => ({ name: c.name, ok: await passes(c) })));
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    const { service } = this.opts;
    send(res, failing.length === 0 ? 200 : 500, failing.length === 0 ? { service, status: 'ok' } : { service, status: 'unhealthy', failing });
  }
}

/** A check that throws, or takes longer than `CHECK_TIMEOUT_MS`, fails. */
function passes(check: HealthCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
    check.ok().then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
