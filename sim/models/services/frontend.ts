import type { World } from '../world.ts';
import type { Webhook } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';
import type { Broker } from './broker.ts';
import { NEEDS } from './dependencies.ts';
import { TIMINGS } from '../timings.ts';
import { METRICS } from '../../metrics/metric-names.ts';

/**
 * frontend (the CircleCI web app and www-api proxy): receives GitHub webhooks and starts workflows.
 * While it, or a store it needs, is down the webhook gets an error and is dropped: "no jobs will be
 * triggered by GitHub/Enterprise", and GitHub Enterprise does not reliably redeliver.
 */
export class Frontend {
  received = 0;
  accepted = 0;
  dropped = 0;

  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
    private readonly broker: Broker,
  ) {}

  /** The webhook endpoint. */
  readonly receiveWebhook = (webhook: Webhook): void => {
    const { services, ledger, telegraf, sim } = this.world;
    this.received++;
    const down = services.firstDown(NEEDS.webhook);
    // A publish blocked by RabbitMQ's disk alarm hangs the request until GitHub's delivery times out.
    const blocked = down !== undefined ? undefined : this.broker.diskAlarm ? 'rabbitmq disk alarm: the request hung until GitHub timed out' : undefined;
    this.world.trace?.(`${sim.nowMs} webhook ${webhook.id} received by frontend${down ? ` (${down} down)` : ''}`);
    if (down !== undefined || blocked !== undefined) {
      this.dropped++;
      ledger.notTriggered(`webhook ${webhook.id}`, `${down !== undefined ? `${down} down` : blocked}: webhook dropped (GitHub does not redeliver)`, sim.nowMs);
      return;
    }
    telegraf.count(METRICS.httpRequest);
    this.accepted++;
    // frontend's handling and workflows-conductor's creation of the workflow and its first build, in one hop.
    sim.schedule(TIMINGS.frontendHandleMs + TIMINGS.workflowStartMs, this.conductor.startWorkflow, webhook);
  };
}
