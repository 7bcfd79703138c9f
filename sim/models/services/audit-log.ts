import type { World } from '../world.ts';
import type { Broker } from './broker.ts';

/**
 * audit-log-service: services fire audit events (the seeds' action types, e.g. `workflow.job.start`) into a
 * durable RabbitMQ queue; the service writes them in hourly files under `audit-logs/audit_log/v1` in object
 * storage and acknowledges them once written. While it is down events wait in the queue; an event fired
 * while RabbitMQ cannot take it is never recorded ("some events may not be recorded").
 */
export class AuditLog {
  private readonly known: ReadonlySet<string>;
  /**
   * Actions already checked against `known`. The profile's names come from YAML, so a lookup in `known` compares
   * whole strings, while the model records the same few literal actions (one interned string each) half a
   * million times a week: checking each once is enough.
   */
  private readonly checked = new Set<string>();
  /** Events waiting in the durable queue (a count: durable queues lose nothing, so no items are kept). */
  buffered = 0;
  persisted = 0;
  files = 0;

  constructor(
    private readonly world: World,
    private readonly broker: Broker,
  ) {
    this.known = new Set(world.profile.audit_actions.map((a) => a.action));
    broker.onWipe(() => {
      world.ledger.lose('audit_events', this.buffered);
      this.buffered = 0;
    });
  }

  record(action: string): void {
    if (!this.checked.has(action)) {
      if (this.known.size > 0 && !this.known.has(action)) throw new Error(`audit action ${action} is not documented for ${this.world.profile.version}`);
      this.checked.add(action);
    }
    if (this.broker.publishRefused() !== undefined) {
      this.world.ledger.lose('audit_events');
      return;
    }
    this.buffered++;
  }

  /** How often waiting events are written to object storage: one file an hour. */
  static readonly persistIntervalMs = 3_600_000;

  /** The hourly write of waiting events to object storage. */
  readonly persist = (): void => {
    if (this.buffered === 0 || !this.broker.deliverable) return;
    if (!this.world.services.isUp('audit-log-service')) return;
    this.persisted += this.buffered;
    this.buffered = 0;
    this.files++;
  };
}
