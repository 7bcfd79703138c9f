import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { Dispatcher, RunQueueConsumer } from './dispatcher.ts';
import type { GithubEnterprise } from '../github/github-enterprise.ts';
import type { Schedulerer } from './schedulerer.ts';
import type { ContextsService } from './contexts-service.ts';
import type { Broker } from './broker.ts';
import type { Fates } from './fates.ts';
import type { SampleSet } from '../../metrics/percentiles.ts';
import { NEEDS } from './dependencies.ts';
import { TIMINGS } from '../timings.ts';
import type { JobTemplate } from '../workload/types.ts';
import { splitJob, type TaskSplit } from '../../domain/task-split.ts';
import { REASONS } from '../../domain/fates.ts';
import { METRICS } from '../../metrics/metric-names.ts';

/**
 * picard-dispatcher: takes builds from the run queue ("taking build=…"), fetches and parses
 * `.circleci/config.yml` from GitHub Enterprise, picks the resource class, computes one task per unit of
 * parallelism, and hands them to schedulerer. A build it has taken stays unacknowledged until handed on, so
 * when picard-dispatcher dies RabbitMQ redelivers it: "the run queue will increase in size but there should
 * be no meaningful loss of data".
 */
export class PicardDispatcher implements RunQueueConsumer {
  /**
   * Builds taken and not yet handed on (unacknowledged messages), one per busy worker, with the token of that
   * take at the same index. A small array rather than a Map: it holds at most `picardWorkers` builds.
   */
  private readonly working: Build[] = [];
  private readonly tokens: number[] = [];
  /** The split of each job template (its config never changes), or why it cannot be split. */
  private readonly splits = new Map<JobTemplate, TaskSplit | string>();

  constructor(
    private readonly world: World,
    private readonly dispatcher: Dispatcher,
    private readonly broker: Broker,
    private readonly github: GithubEnterprise,
    private readonly contexts: ContextsService,
    private readonly schedulerer: Schedulerer,
    private readonly fates: Fates,
    private readonly runQueueLatency: SampleSet,
  ) {
    world.services.onChange('picard-dispatcher', (_n, state) => {
      if (state === 'running') this.poke();
      else if (state !== 'paused') this.redeliverUnacked();
    });
    world.services.onChange('rabbitmq', (_n, state) => {
      if (state === 'running') this.poke();
    });
  }

  get inFlight(): number {
    return this.working.length;
  }

  poke(): void {
    const { services, sim, telegraf } = this.world;
    if (!services.isUp('picard-dispatcher') || !this.broker.deliverable) return;
    const queue = this.dispatcher.runQueue;
    while (this.working.length < TIMINGS.picardWorkers && queue.length > 0) {
      const build = queue.shift()!;
      this.working.push(build);
      this.tokens.push(++build.token);
      build.stage = 'dispatching';
      if (build.acceptedAtMs < 0) {
        build.acceptedAtMs = sim.nowMs;
        const latency = sim.nowMs - build.enteredRunQueueMs;
        this.runQueueLatency.add(latency);
        telegraf.timing(METRICS.runQueueLatency, latency);
      }
      sim.schedule(this.github.configFetchMs() + TIMINGS.taskComputeMs, this.configFetched, build);
    }
  }

  /** picard-dispatcher died: RabbitMQ puts its unacknowledged builds back at the head of the run queue. */
  private redeliverUnacked(): void {
    const builds = [...this.working].sort((a, b) => b.id - a.id);
    this.working.length = 0;
    this.tokens.length = 0;
    for (const b of builds) {
      b.token++;
      b.stage = 'run-queue';
      if (this.broker.deliverable) this.dispatcher.runQueue.requeueFront(b);
      else this.fates.lose(b, REASONS.unackedLostWithRabbit);
    }
  }

  private readonly configFetched = (build: Build): void => {
    const k = this.working.indexOf(build);
    if (k < 0 || this.tokens[k] !== build.token) return; // taken by a worker that has since died
    // The worker is free again: move the last busy one into its place.
    this.working[k] = this.working[this.working.length - 1]!;
    this.tokens[k] = this.tokens[this.tokens.length - 1]!;
    this.working.pop();
    this.tokens.pop();
    this.dispatch(build);
    this.poke();
  };

  /** Reads the fetched config: the build fails when GitHub could not be asked or its class is unknown. */
  private dispatch(build: Build): void {
    const down = this.world.services.firstDown(NEEDS.githubApi);
    if (down !== undefined) return this.fates.fail(build, REASONS.configFetchFailed(down));
    const split = this.splitOf(build.template);
    if (typeof split === 'string') return this.fates.fail(build, split);
    build.assignTasks(split);
    if (build.template.usesContexts) this.contexts.fetch(build, this.handOn);
    else this.handOn(build);
  }

  /** The same split the live picard-dispatcher makes of the config it reads (`splitJob`), once per template. */
  private splitOf(template: JobTemplate): TaskSplit | string {
    let split = this.splits.get(template);
    if (split === undefined) {
      split = splitJob(template, this.world.scenario.topology.resourceClasses);
      this.splits.set(template, split);
    }
    return split;
  }

  private readonly handOn = (build: Build): void => {
    if (build.fate !== undefined) return;
    build.stage = 'scheduling';
    this.schedulerer.submit(build);
  };
}
