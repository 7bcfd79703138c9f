import type { World } from '../world.ts';
import type { Webhook } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';
import { TIMINGS } from '../timings.ts';

/**
 * frontend (the CircleCI web app and www-api proxy): receives GitHub webhooks and starts workflows.
 * While it is down, webhooks are dropped: "no jobs will be triggered by GitHub/Enterprise".
 */
export class Frontend {
  received = 0;
  accepted = 0;
  dropped = 0;

  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
  ) {}

  /** The webhook endpoint. */
  readonly receiveWebhook = (webhook: Webhook): void => {
    const { services, ledger, telegraf, sim } = this.world;
    this.received++;
    this.world.trace?.(`${sim.nowMs} webhook ${webhook.id} received by frontend (${services.state('frontend')})`);
    if (!services.isUp('frontend')) {
      this.dropped++;
      ledger.notTriggered(`webhook ${webhook.id}`, 'frontend down: webhook dropped (GitHub does not redeliver)', sim.nowMs);
      return;
    }
    telegraf.count('circle.http.request');
    this.accepted++;
    sim.schedule(TIMINGS.frontendHandleMs, this.conductor.startWorkflow, webhook);
  };
}
