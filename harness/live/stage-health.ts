import { sendJson, type HttpRoutes } from '../http/index.ts';
import { HttpService } from './pipeline/http-util.ts';

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
    super(`${opts.service} health`, opts.port);
  }

  /** The health endpoint's URL. */
  override get url(): string {
    return `${super.url}${this.opts.path}`;
  }

  protected routes(routes: HttpRoutes): HttpRoutes {
    return routes.get(this.opts.path, async (r) => sendJson(r.res, ...(await this.health())));
  }

  private async health(): Promise<[number, unknown]> {
    const results = await Promise.all(this.opts.checks.map(async (c) => ({ name: c.name, ok: await passes(c) })));
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    const { service } = this.opts;
    return failing.length === 0 ? [200, { service, status: 'ok' }] : [500, { service, status: 'unhealthy', failing }];
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
