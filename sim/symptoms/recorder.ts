import type { Build } from '../models/build.ts';
import type { Fate } from '../ledger.ts';

/** What the symptom views know of one build: the model's own record, and its fate as the ledger settled it. */
export interface ObservedBuild {
  readonly id: number;
  /** `gh/acme/repo-1/38` */
  readonly name: string;
  readonly createdAtMs: number;
  /** The model's build (timestamps of each stage); undefined until it is resolved after its creation. */
  build: Build | undefined;
  fate?: Fate;
  fateAtMs?: number;
  reason?: string;
}

/** One allocation of a build's task on a Nomad client. */
export interface ObservedAlloc {
  readonly allocId: string;
  readonly buildName: string;
  readonly nodeId: string;
  readonly placedAtMs: number;
  endedAtMs?: number;
  outcome?: 'complete' | 'failed';
}

/** Builds and allocations a recorder keeps (the oldest are dropped past it); a session's views need minutes, not days. */
export const MAX_OBSERVED_BUILDS = 20_000;
export const MAX_OBSERVED_ALLOCS = 20_000;

const CREATED = /^(\d+) build (\S+) created /;
const FATE = /^(\d+) build (\S+) (succeeded|failed|lost|stuck)(?:: (.*))?$/;
const PLACED = /^(\d+) alloc (\S+) of (\S+) task \d+ placed on (\S+)$/;
const ENDED = /^(\d+) alloc (\S+) of \S+ ended (complete|failed)$/;
const ALARM = /^(\d+) rabbitmq disk alarm (set|cleared)$/;
const NOT_TRIGGERED = /^(\d+) (.+) not triggered: (.*)$/;

/** A moment the model announced without a build: RabbitMQ's disk alarm, a webhook that never became a build. */
export interface ObservedEvent {
  readonly atMs: number;
  readonly what: string;
  readonly detail: string;
}

/** Events a recorder keeps (the oldest are dropped past it). */
export const MAX_OBSERVED_EVENTS = 20_000;

/**
 * Turns the run's event log (the twin's `trace` lines) into the records the symptom views read: builds with their
 * fates, allocations with their nodes. It only reads what the model already announces, so attaching it changes
 * nothing in the run. A build's object is looked up by number (`resolve`) after the line that created it, since
 * the model registers it just after announcing it.
 */
export class SymptomRecorder {
  readonly builds = new Map<number, ObservedBuild>();
  readonly allocs = new Map<string, ObservedAlloc>();
  /** RabbitMQ's disk alarm set and cleared (`what`: `disk-alarm`, `detail`: set | cleared), webhooks refused (`not-triggered`). */
  readonly events: ObservedEvent[] = [];
  private readonly unresolved: number[] = [];
  private lookup: ((id: number) => Build | undefined) | undefined;

  /** Where to find a build's object by number (the workflows-conductor's in-flight table). */
  attach(lookup: (id: number) => Build | undefined): void {
    this.lookup = lookup;
  }

  /** The twin's trace callback. */
  readonly onTrace = (line: string): void => {
    this.resolve();
    let m = CREATED.exec(line);
    if (m) {
      const id = idOf(m[2]!);
      this.builds.set(id, { id, name: m[2]!, createdAtMs: Number(m[1]), build: undefined });
      this.unresolved.push(id);
      bound(this.builds, MAX_OBSERVED_BUILDS);
      return;
    }
    m = FATE.exec(line);
    if (m) {
      const b = this.builds.get(idOf(m[2]!));
      if (b === undefined) return;
      b.fate = m[3] as Fate;
      b.fateAtMs = Number(m[1]);
      if (m[4] !== undefined) b.reason = m[4];
      return;
    }
    m = PLACED.exec(line);
    if (m) {
      this.allocs.set(m[2]!, { allocId: m[2]!, buildName: m[3]!, nodeId: m[4]!, placedAtMs: Number(m[1]) });
      bound(this.allocs, MAX_OBSERVED_ALLOCS);
      return;
    }
    m = ENDED.exec(line);
    if (m) {
      const a = this.allocs.get(m[2]!);
      if (a === undefined) return;
      a.endedAtMs = Number(m[1]);
      a.outcome = m[3] as 'complete' | 'failed';
      return;
    }
    m = ALARM.exec(line) ?? NOT_TRIGGERED.exec(line);
    if (m) {
      this.events.push(m.length === 3 ? { atMs: Number(m[1]), what: 'disk-alarm', detail: m[2]! } : { atMs: Number(m[1]), what: 'not-triggered', detail: `${m[2]}: ${m[3]}` });
      if (this.events.length > MAX_OBSERVED_EVENTS) this.events.splice(0, this.events.length - MAX_OBSERVED_EVENTS);
    }
  };

  /** Looks up the objects of builds announced since the last call. */
  resolve(): void {
    if (this.lookup === undefined) return;
    while (this.unresolved.length > 0) {
      const id = this.unresolved.pop()!;
      const b = this.builds.get(id);
      if (b !== undefined) b.build ??= this.lookup(id);
    }
  }

  /** Builds in order of number. */
  list(): ObservedBuild[] {
    return [...this.builds.values()].sort((a, b) => a.id - b.id);
  }
}

/** The build number at the end of `gh/acme/repo-1/38`. */
function idOf(name: string): number {
  return Number(name.slice(name.lastIndexOf('/') + 1));
}

/** Drops the oldest entries (insertion order) past `max`. */
function bound<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}
