import type { Rng } from '../../engine/rng.ts';
import type { World } from '../world.ts';
import type { Webhook } from '../build.ts';
import { TIMINGS } from '../timings.ts';
import { createDurationSampler, type DurationSampler } from '../workload/durations.ts';

/**
 * GitHub Enterprise as the Services machine sees it: it sends push webhooks to the frontend and answers API
 * calls (config fetches). A webhook that fails to deliver is not retried by default: the seeds say GHE "may
 * also attempt to redeliver the webhooks, but it's not guaranteed".
 */
export class GithubEnterprise {
  private readonly rng: Rng;
  private readonly configFetch: DurationSampler;
  apiCalls = 0;

  constructor(private readonly world: World) {
    this.rng = world.rng.fork('github');
    this.configFetch = createDurationSampler({ kind: 'lognormal', medianMs: TIMINGS.configFetch.medianMs, p95Ms: TIMINGS.configFetch.p95Ms });
  }

  /** Sends a webhook; `receive` is the frontend's handler. */
  sendWebhook(webhook: Webhook, receive: (w: Webhook) => void): void {
    webhook.attempts++;
    this.world.sim.schedule(TIMINGS.webhookDeliveryMs, receive, webhook);
  }

  /** Time a `.circleci/config.yml` fetch takes; counted as a GitHub API call. */
  configFetchMs(): number {
    this.apiCalls++;
    this.world.telegraf.count('circle.github.api_call');
    return this.configFetch(this.rng);
  }
}
