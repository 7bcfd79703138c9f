import type { Rng } from '../../engine/rng.ts';
import type { World } from '../world.ts';
import { TIMINGS } from '../timings.ts';
import { createDurationSampler, type DurationSampler } from '../workload/durations.ts';
import { METRICS } from '../../metrics/metric-names.ts';

/**
 * GitHub Enterprise as the Services machine sees it: it answers API calls (config fetches); its push webhooks
 * reach the frontend one delivery hop after the push (the twin folds that hop into the arrival event). A webhook that fails to deliver is not retried by default: the seeds say GHE "may
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

  /** Time a `.circleci/config.yml` fetch takes; counted as a GitHub API call. */
  configFetchMs(): number {
    this.apiCalls++;
    this.world.telegraf.count(METRICS.githubApiCall);
    return this.configFetch(this.rng);
  }
}
