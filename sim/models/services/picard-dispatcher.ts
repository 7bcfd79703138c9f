import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { Dispatcher, RunQueueConsumer } from './dispatcher.ts';
import type { GithubEnterprise } from '../github/github-enterprise.ts';
import type { Schedulerer } from './schedulerer.ts';
import type { ContextsService } from './contexts-service.ts';
import type { SampleSet } from '../../metrics/percentiles.ts';
import { TIMINGS } from '../timings.ts';

/**
 * picard-dispatcher: takes builds from the run queue ("taking build=…"), fetches and parses
 * `.circleci/config.yml` from GitHub Enterprise, picks the resource class, computes one task per unit of
 * parallelism, and hands them to schedulerer. While it is down the run queue grows and nothing is lost.
 */
export class PicardDispatcher implements RunQueueConsumer {
  private busyWorkers = 0;
  /** Builds a worker has taken and not yet handed on (unacknowledged messages). */
  private readonly working = new Set<Build>();

  constructor(
    private readonly world: World,
    private readonly dispatcher: Dispatcher,
    private readonly github: GithubEnterprise,
    private readonly contexts: ContextsService,
    private readonly schedulerer: Schedulerer,
    private readonly runQueueLatency: SampleSet,
  ) {
    world.services.onChange('picard-dispatcher', (_n, state) => {
      if (state === 'running') this.poke();
    });
  }

  get inFlight(): number {
    return this.working.size;
  }

  poke(): void {
    const { services, sim, telegraf } = this.world;
    if (!services.isUp('picard-dispatcher')) return;
    const queue = this.dispatcher.runQueue;
    while (this.busyWorkers < TIMINGS.picardWorkers && queue.length > 0) {
      const build = queue.shift()!;
      this.busyWorkers++;
      this.working.add(build);
      build.stage = 'dispatching';
      if (build.acceptedAtMs < 0) {
        build.acceptedAtMs = sim.nowMs;
        const latency = sim.nowMs - build.enteredRunQueueMs;
        this.runQueueLatency.add(latency);
        telegraf.timing('circle.run-queue.latency', latency);
      }
      sim.schedule(this.github.configFetchMs() + TIMINGS.taskComputeMs, this.configFetched, build);
    }
  }

  private readonly configFetched = (build: Build): void => {
    this.working.delete(build);
    this.busyWorkers--;
    if (build.template.usesContexts) this.contexts.fetch(build, this.handOn);
    else this.handOn(build);
    this.poke();
  };

  private readonly handOn = (build: Build): void => {
    if (build.infraFailure !== undefined) return;
    build.stage = 'scheduling';
    this.schedulerer.submit(build);
  };
}
