import type { World } from '../world.ts';

/**
 * audit-log-service: services fire audit events (the seeds' action types, e.g. `workflow.job.start`); the
 * service buffers them and persists one file per hour under `audit-logs/audit_log/v1` in object storage.
 */
export class AuditLog {
  private readonly known: ReadonlySet<string>;
  /** Events fired and not yet persisted. */
  buffered = 0;
  persisted = 0;
  files = 0;
  readonly byAction = new Map<string, number>();

  constructor(private readonly world: World) {
    this.known = new Set(world.profile.audit_actions.map((a) => a.action));
  }

  record(action: string): void {
    if (this.known.size > 0 && !this.known.has(action)) throw new Error(`audit action ${action} is not documented for ${this.world.profile.version}`);
    this.byAction.set(action, (this.byAction.get(action) ?? 0) + 1);
    this.buffered++;
  }

  /** The hourly write of buffered events to object storage. */
  readonly persist = (): void => {
    if (this.buffered === 0) return;
    if (!this.world.services.isUp('audit-log-service')) return;
    this.persisted += this.buffered;
    this.buffered = 0;
    this.files++;
  };
}
