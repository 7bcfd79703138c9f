import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveDisasterKind, LiveKindContext } from './types.ts';

/** What the corrupted blocks read as: a fixed pattern (the same corruption every run). */
const GARBAGE = Buffer.alloc(1 << 16, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
/** A WAL segment's file name: timeline, log and segment numbers, 8 hex digits each. */
const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/** What was garbled. */
export interface Garbled {
  files: number;
  bytes: number;
}

/**
 * Overwrites every WAL segment of a PostgreSQL data dir with `GARBAGE`, in place (sizes kept, as corrupted blocks
 * are): the checkpoint record crash recovery starts from can no longer be read.
 */
export function garbleWal(dataDir: string): Garbled {
  const dir = join(dataDir, 'pg_wal');
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir).filter((n) => WAL_SEGMENT.test(n)).sort()) {
    const path = join(dir, name);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    try {
      for (let at = 0; at < size; at += GARBAGE.length) writeSync(fd, GARBAGE, 0, Math.min(GARBAGE.length, size - at), at);
    } finally {
      closeSync(fd);
    }
    files++;
    bytes += size;
  }
  return { files, bytes };
}

/**
 * The line of PostgreSQL's log that says why it did not start: its PANIC, else its last FATAL (a probe's "the
 * database system is starting up" comes before the real one), else the error's first line.
 */
export function startFailure(message: string): string {
  return (/\bPANIC: +.*/.exec(message) ?? [...message.matchAll(/\bFATAL: +.*/g)].at(-1))?.[0].trim() ?? message.split('\n')[0]!;
}

/**
 * `ebs_corruption`, live: the Services machine's volume goes bad under the running stack. Every process of the
 * machine dies (the stores' I/O fails; `ServicesMachine.lose`: the instance runs on and keeps its private IP), the
 * blocks of PostgreSQL's write-ahead log on the volume read back as garbage, and PostgreSQL is started again on
 * them as Replicated restarts a container: its real crash recovery cannot find a valid checkpoint record and it
 * refuses to start (PANIC). Nothing on this volume comes back; the runbook restores the last snapshot on a new
 * instance, at a new address while the corrupted one holds the old (the simulation's `ebs_corruption`).
 */
export class LiveEbsCorruption implements LiveDisasterKind {
  readonly keepsInstance = true;
  readonly holderWhy = 'the instance with the corrupted volume';
  /** Why PostgreSQL did not come back on the corrupted volume (its log's PANIC), or undefined if it did. */
  recoveryFailure: string | undefined;

  async strike(ctx: LiveKindContext): Promise<void> {
    const { stack, machine } = ctx;
    const pg = stack.components.get('postgres');
    if (pg?.dataDir === undefined) throw new Error('ebs_corruption live needs a PostgreSQL the twin started (its data dir on the Services volume), not an external one: unset TWIN_POSTGRES_URL');
    const ip = machine.privateIp;
    await machine.lose(`disaster: ebs_corruption: ${machine.instanceId}'s root volume returns I/O errors; every process of the Services machine died (the instance runs on, keeping ${ip})`);
    const g = garbleWal(pg.dataDir);
    ctx.note(`the volume's blocks read back corrupted: ${g.files} WAL segments of PostgreSQL (${(g.bytes / 1048576).toFixed(0)} MiB) garbled`);
    try {
      await stack.start('postgres');
      ctx.note('PostgreSQL started again on the corrupted volume: its crash recovery did not reach the garbled blocks');
      await stack.kill('postgres');
    } catch (e) {
      this.recoveryFailure = startFailure(e instanceof Error ? e.message : String(e));
      ctx.note(`PostgreSQL restarted on the corrupted volume: crash recovery failed: ${this.recoveryFailure}`);
    }
  }
}
