import type { World } from '../world.ts';
import type { Webhook } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';
import type { Broker } from './broker.ts';
import type { ScheduledWorkflow } from '../workload/types.ts';
import { NEEDS } from './dependencies.ts';
import { SCHEDULED_WORKFLOW_BASE } from '../../domain/build-draws.ts';

/**
 * cron-service: triggers scheduled workflows. While it (or postgres, where schedules live, or RabbitMQ,
 * which carries the trigger) is down, a schedule that comes due is skipped: "Scheduled workflows will not run".
 */
export class CronService {
  /** Scheduled workflows handed to workflows-conductor. */
  triggered = 0;
  skipped = 0;
  private nextId = SCHEDULED_WORKFLOW_BASE;

  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
    private readonly broker: Broker,
  ) {}

  schedule(schedules: readonly ScheduledWorkflow[], untilMs: number): void {
    for (const s of schedules) {
      const fire = (): void => {
        this.fire(s);
        const next = this.world.sim.nowMs + s.everyMs;
        if (next < untilMs) this.world.sim.scheduleAt(next, fire);
      };
      if (s.firstAtMs < untilMs) this.world.sim.scheduleAt(s.firstAtMs, fire);
    }
  }

  private fire(s: ScheduledWorkflow): void {
    const { services, ledger, sim } = this.world;
    const id = this.nextId++;
    const downService = services.firstDown(NEEDS.cron);
    const down = downService !== undefined ? `${downService} down` : this.broker.publishRefused();
    if (down !== undefined) {
      this.skipped++;
      ledger.notTriggered(`scheduled workflow ${id}`, `${down}: the scheduled workflow did not run`, sim.nowMs);
      return;
    }
    this.triggered++;
    const webhook: Webhook = { id, template: s.job, sentAtMs: sim.nowMs, attempts: 0 };
    this.conductor.startWorkflow(webhook);
  }
}
