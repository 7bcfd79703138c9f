import type { EC2Client } from '@aws-sdk/client-ec2';
import type { BackupRecord } from '../../../sim/models/dr/dr-rehearsal.ts';
import type { RunbookStep } from '../../../sim/models/dr/runbook.ts';
import type { ServicesMachine } from '../services-machine.ts';

/** What the rehearsal lends a fail-over: the EC2 client, the machine, its timeline, its counted calls and bounded waits. */
export interface FailoverContext {
  ec2: EC2Client;
  machine: ServicesMachine;
  /** The endpoint's availability zones (its configuration). */
  zones: readonly string[];
  note: (event: string) => void;
  call: <T>(request: Promise<T>) => Promise<T>;
  until: <T>(what: string, probe: () => Promise<T | undefined>) => Promise<T>;
}

/**
 * What a fail-over to a standby (the replica of `az_outage`, `az-outage.ts`) changes in a live rehearsal: the backup it
 * takes, what follows the disaster, its own steps. The disasters done on the machine itself are `types.ts`'s
 * `LiveDisasterKind`.
 */
export interface LiveFailover {
  /**
   * The standby the installation fails over to (what the typed rehearsal's names stand for: `live-interactive.ts`);
   * none when the machine is restored elsewhere instead (a region outage's copy).
   */
  readonly standby?: { instanceId: string; privateIp: string; eni: string };
  /** Takes the backup due at scenario instant `atMs` (one of the plan's `backupsAtMs`); its id and wall instant. */
  backup(atMs: number): Promise<{ id: string; wallMs: number }>;
  /** After the disaster's kills and the volume's deletion. */
  afterDisaster(): Promise<void>;
  /** Carries out a step itself; undefined leaves it to the rehearsal's common steps. */
  apply(step: RunbookStep, at: { oldIp: string; oldInstanceId: string }): Promise<string | undefined>;
  /** RPO in the scenario's time, when the kind fixes it (else snapshot to disaster in wall time × time scale). */
  rpoMs(plan: { snapshotAtMs: number; disasterAtMs: number }): number | null;
  /** Whether the installation came back on the kind's backup (the report's `restored_from_ms`). */
  restored(): boolean;
  /** Builders that reached the machine again without being rotated. */
  buildersReconnected(): number;
  measures(): Record<string, unknown>;
  /** The EC2 client the runbook's steps talk to after the disaster (another region's), when not the rehearsal's own. */
  recoveryClient?(): EC2Client;
  /** The snapshot `register_image` restores (its id, wall and scenario instants), or why there is none; undefined: the rehearsal's last. */
  restoreSource?(): { id: string; wallMs: number; atMs: number } | string;
  /** The backups as the report lists them (`dr.backups.list`), when the kind keeps several. */
  backupRecords?(): BackupRecord[];
  dispose(): Promise<void>;
}
