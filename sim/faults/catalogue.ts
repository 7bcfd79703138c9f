import { FAULT_ACTIONS, type FaultAction } from '../scenario/schema.ts';

/**
 * The fault catalogue: one row per scenario action saying what it does, which targets it names, what undoes it
 * (`for:`) and what ends it (a later action), and where it runs: in the simulation (`sim/faults/sim-adapter.ts`)
 * and on the live stacks (`harness/live/fault-adapter.ts`). The scenario validator, the simulation's
 * support check, `twin explore`'s fault kinds and invariants and the live replay's support check all read this
 * table; nothing else lists actions. `sim/faults/README.md` shows the table and how to add a row.
 */

/** Which targets of a scenario: every container (`true`) or some (a list), the Nomad clients, the Services machine. */
export interface Targets {
  readonly containers?: true | readonly string[];
  readonly nomadClient?: boolean;
  readonly servicesMachine?: boolean;
}

/** The kinds of target the adapters dispatch on. */
export type TargetKind = 'container' | 'nomad_client' | 'services_machine';

/**
 * The live stack's targets, grouped by how a fault reaches them: real processes take signals and restart on their
 * port and data dir; the twin's pipeline services stop, die and start; the Nomad server is the twin's Nomad API.
 */
export const LIVE_GROUPS = {
  process: ['postgres', 'redis', 'rabbitmq', 'mongo'],
  service: ['frontend', 'dispatcher', 'picard-dispatcher', 'schedulerer', 'output-processor', 'workflows-conductor', 'audit-log-service', 'vm-service', 'contexts-service', 'vault-cci', 'exim', 'slanger', 'federation-service', 'telegraf', 'nomad-metrics', 'tutum/logrotate'],
  nomad_server: ['nomad_server'],
  nomad_client: [],
  services_machine: [],
} as const satisfies Record<string, readonly string[]>;
export type LiveKind = keyof typeof LIVE_GROUPS;

/** Where an action runs in one runtime, and why not elsewhere (the refusal's hint). */
export interface Runs<K extends string> {
  /** The target kinds it runs on (empty: not at all). */
  readonly on: readonly K[];
  /** Containers only these (sim `wipe_state`: the stores whose data the model holds). */
  readonly containers?: readonly string[];
  /** Why it does not run elsewhere, for the refusal. */
  readonly whyNot?: string;
}

export interface FaultEntry {
  readonly action: FaultAction;
  /** What it does, in one line (errors and docs). */
  readonly does: string;
  /** The targets a scenario may name; others are refused with `wrongTargetHint`. */
  readonly targets: Targets;
  readonly wrongTargetHint: string;
  /** The operation that undoes it after `for:` (an action, `undrain` or `free_disk`); absent: `for` is refused. */
  readonly undoneBy?: UndoAction;
  /** Later actions on the same target that end it (explore's healed schedules); empty: only `for` ends it, or nothing. */
  readonly endedBy: readonly FaultAction[];
  /** Brings something back (or records it): no damage of its own. */
  readonly recovery: boolean;
  /** Acts when the Services machine boots (at 0s) only. */
  readonly atStartupOnly: boolean;
  readonly sim: Runs<TargetKind>;
  readonly live: Runs<LiveKind>;
}

/** What `for:` runs at its end: an action of the catalogue, or an operation no scenario names. */
export type UndoAction = FaultAction | 'undrain' | 'free_disk';

const CONTAINER_ACTIONS = { containers: true, servicesMachine: true } as const;
const STATEFUL = ['nomad_server', 'redis', 'mongo', 'postgres', 'rabbitmq', 'vault-cci', 'fileserved'];
const NOT_LIVE = 'the live stack has no counterpart for it yet';
const NOT_SIM = 'the simulation does not model it yet';
/** What `twin run` models of the whole Services machine (the sim refusal of other actions on it names them). */
const MACHINE_IN_SIM = 'of the whole Services machine is not modelled by `twin run` yet';

/** The catalogue, in the schema's order of actions. */
export const FAULT_CATALOGUE: readonly FaultEntry[] = [
  {
    action: 'kill',
    does: 'ends the process abruptly: its in-memory state is gone, nothing in flight is acknowledged',
    targets: { ...CONTAINER_ACTIONS, nomadClient: true },
    wrongTargetHint: 'kill a container or Nomad clients',
    undoneBy: 'start',
    endedBy: ['restart', 'start'],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['container', 'nomad_client'] },
    live: { on: ['process', 'service', 'nomad_server', 'nomad_client'] },
  },
  {
    action: 'stop',
    does: 'stops the process gracefully: work in hand is handed back first (the Services machine: `replicatedctl app stop`, every container)',
    targets: { ...CONTAINER_ACTIONS, nomadClient: true },
    wrongTargetHint: 'stop a container or Nomad clients',
    undoneBy: 'start',
    endedBy: ['start', 'restart'],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['container', 'nomad_client', 'services_machine'] },
    live: { on: ['process', 'service', 'nomad_server', 'nomad_client'] },
  },
  {
    action: 'restart',
    does: 'stops and starts the process again (on its data): it comes back empty of in-memory state',
    targets: { ...CONTAINER_ACTIONS, nomadClient: true },
    wrongTargetHint: 'restart a container or Nomad clients',
    endedBy: [],
    recovery: true,
    atStartupOnly: false,
    sim: { on: ['container', 'nomad_client'] },
    live: { on: ['process', 'service', 'nomad_server', 'nomad_client'] },
  },
  {
    action: 'start',
    does: 'starts a stopped or killed process again on its data (the Services machine: `replicatedctl app start`)',
    targets: { ...CONTAINER_ACTIONS, nomadClient: true },
    wrongTargetHint: 'start a container or Nomad clients',
    endedBy: [],
    recovery: true,
    atStartupOnly: false,
    sim: { on: ['container', 'nomad_client', 'services_machine'] },
    live: { on: ['process', 'service', 'nomad_server', 'nomad_client'] },
  },
  {
    action: 'pause',
    does: 'hangs the process: its sockets stay open and nothing answers',
    targets: CONTAINER_ACTIONS,
    wrongTargetHint: 'pause a container',
    undoneBy: 'unpause',
    endedBy: ['unpause', 'restart'],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['container'] },
    live: { on: ['process', 'service'] },
  },
  {
    action: 'unpause',
    does: 'lets a hung process run again: what it held is answered',
    targets: CONTAINER_ACTIONS,
    wrongTargetHint: 'unpause a container',
    endedBy: [],
    recovery: true,
    atStartupOnly: false,
    sim: { on: ['container'] },
    live: { on: ['process', 'service'] },
  },
  {
    action: 'fail_at_startup',
    does: 'the container does not come up when the Services machine boots',
    targets: { containers: true },
    wrongTargetHint: '`fail_at_startup` names a container',
    endedBy: ['start', 'restart'],
    recovery: false,
    atStartupOnly: true,
    sim: { on: ['container'] },
    live: { on: [], whyNot: NOT_LIVE },
  },
  {
    action: 'wipe_state',
    does: 'deletes the store\u2019s data directory (the seeds\u2019 `rm -rf /opt/nomad`); the store keeps running, empty',
    targets: { containers: STATEFUL },
    wrongTargetHint: `stateful targets: ${STATEFUL.join(', ')}`,
    endedBy: [],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['container'], containers: ['nomad_server', 'mongo', 'postgres', 'redis', 'rabbitmq'], whyNot: NOT_SIM },
    live: { on: ['nomad_server'] },
  },
  {
    action: 'disk_fill',
    does: 'fills the Services machine\u2019s disk: the stores that write to it stop',
    targets: { servicesMachine: true },
    wrongTargetHint: '`disk_fill` fills the Services machine disk: target `services_machine`',
    undoneBy: 'free_disk',
    endedBy: ['restart'],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['services_machine'] },
    live: { on: [], whyNot: NOT_LIVE },
  },
  {
    action: 'partition',
    does: 'cuts the network between the Services machine and the Nomad clients',
    targets: { nomadClient: true, servicesMachine: true },
    wrongTargetHint: 'target `services_machine` or `nomad_client`',
    undoneBy: 'heal',
    endedBy: ['heal'],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['nomad_client', 'services_machine'] },
    live: { on: ['nomad_client', 'services_machine'] },
  },
  {
    action: 'heal',
    does: 'restores the network between the Services machine and the Nomad clients',
    targets: { nomadClient: true, servicesMachine: true },
    wrongTargetHint: 'target `services_machine` or `nomad_client`',
    endedBy: [],
    recovery: true,
    atStartupOnly: false,
    sim: { on: ['nomad_client', 'services_machine'] },
    live: { on: ['nomad_client', 'services_machine'] },
  },
  {
    action: 'terminate_instance',
    does: 'terminates the instance: everything on it dies and its root volume is deleted',
    targets: { nomadClient: true, servicesMachine: true },
    wrongTargetHint: 'use `kill` for a container',
    endedBy: [],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['nomad_client', 'services_machine'] },
    live: { on: ['nomad_client'], whyNot: NOT_LIVE },
  },
  {
    action: 'drain',
    does: 'drains Nomad clients: running allocations finish, nothing new is placed there',
    targets: { nomadClient: true },
    wrongTargetHint: 'drain Nomad clients; stop a container instead',
    undoneBy: 'undrain',
    endedBy: [],
    recovery: false,
    atStartupOnly: false,
    sim: { on: ['nomad_client'] },
    live: { on: ['nomad_client'] },
  },
  {
    action: 'snapshot',
    does: 'snapshots the Services machine\u2019s volume',
    targets: { servicesMachine: true },
    wrongTargetHint: 'snapshots are of the Services machine volume',
    endedBy: [],
    recovery: true,
    atStartupOnly: false,
    sim: { on: [], whyNot: 'use `backups:` in a disaster-recovery scenario (`twin dr`)' },
    live: { on: [], whyNot: NOT_LIVE },
  },
  {
    action: 'restore',
    does: 'restores the Services machine\u2019s volume from a snapshot',
    targets: { servicesMachine: true },
    wrongTargetHint: 'snapshots are of the Services machine volume',
    endedBy: [],
    recovery: false,
    atStartupOnly: false,
    sim: { on: [], whyNot: 'use `recovery:` in a disaster-recovery scenario (`twin dr`)' },
    live: { on: [], whyNot: NOT_LIVE },
  },
];

const BY_ACTION = new Map(FAULT_CATALOGUE.map((e) => [e.action, e] as const));

/** The catalogue row of an action. Throws for an action the schema does not know (a programmer error). */
export function faultEntry(action: FaultAction): FaultEntry {
  const e = BY_ACTION.get(action);
  if (e === undefined) throw new Error(`fault action ${action} has no catalogue row`);
  return e;
}

/** The kind of a canonical target. */
export function targetKind(target: string): TargetKind {
  return target === 'nomad_client' || target === 'services_machine' ? target : 'container';
}

/** The live kind of a canonical target, or undefined when the live stack has nothing by that name. */
export function liveKind(target: string): LiveKind | undefined {
  if (target === 'nomad_client' || target === 'services_machine') return target;
  return (Object.keys(LIVE_GROUPS) as LiveKind[]).find((k) => (LIVE_GROUPS[k] as readonly string[]).includes(target));
}

function names(t: Targets): string {
  const parts = [...(t.containers === true ? ['a container'] : (t.containers ?? []).map((c) => `\`${c}\``)), ...(t.nomadClient ? ['`nomad_client`'] : []), ...(t.servicesMachine ? ['`services_machine`'] : [])];
  return parts.length <= 1 ? (parts[0] ?? 'nothing') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

function inTargets(t: Targets, target: string): boolean {
  const kind = targetKind(target);
  if (kind === 'nomad_client') return t.nomadClient === true;
  if (kind === 'services_machine') return t.servicesMachine === true;
  return t.containers === true || (t.containers ?? []).includes(target);
}

/** Why a scenario may not name `target` for `action` (the validator's issue), or undefined when it may. */
export function targetProblem(action: FaultAction, target: string): { message: string; hint: string } | undefined {
  const e = faultEntry(action);
  if (inTargets(e.targets, target)) return undefined;
  return { message: `\`${action}\` ${e.does}: it applies to ${names(e.targets)}, not \`${target}\``, hint: e.wrongTargetHint };
}

/** Actions `for:` can undo, and what undoes each. */
export function undoOf(action: FaultAction): UndoAction | undefined {
  return faultEntry(action).undoneBy;
}

/** The actions `for:` applies to, in catalogue order (the validator's hint). */
export const UNDOABLE_ACTIONS: readonly FaultAction[] = FAULT_CATALOGUE.filter((e) => e.undoneBy !== undefined).map((e) => e.action);

/** Whether the simulation carries out `action` on `target` (of any kind). */
function simRuns(e: FaultEntry, target: string): boolean {
  const kind = targetKind(target);
  if (!e.sim.on.includes(kind)) return false;
  return kind !== 'container' || e.sim.containers === undefined || e.sim.containers.includes(target);
}

/** Fault actions the simulation models on some target. */
export const SIM_FAULT_ACTIONS: ReadonlySet<FaultAction> = new Set(FAULT_CATALOGUE.filter((e) => e.sim.on.length > 0).map((e) => e.action));

/**
 * Why the simulation cannot apply this fault (a message for the scenario error), or undefined if it can. Assumes
 * the target is valid for the action (`targetProblem`).
 */
export function simSupport(action: FaultAction, target: string, atMs: number): string | undefined {
  const e = faultEntry(action);
  if (e.sim.on.length === 0) return `fault action \`${action}\` is not modelled by the simulation yet${e.sim.whyNot ? `: ${e.sim.whyNot}` : ''}`;
  if (e.atStartupOnly && atMs !== 0) return `\`${action}\` applies when the Services machine boots, at 0s`;
  if (simRuns(e, target)) return undefined;
  const kind = targetKind(target);
  if (kind === 'services_machine') {
    const modelled = FAULT_CATALOGUE.filter((x) => x.sim.on.includes('services_machine')).map((x) => x.action);
    return `\`${action}\` ${MACHINE_IN_SIM} (modelled: ${modelled.join(', ')})`;
  }
  if (kind === 'container' && e.sim.containers !== undefined) return `\`${action}\` of \`${target}\` is not modelled yet (modelled: ${e.sim.containers.join(', ')})`;
  return `\`${action}\` of \`${target}\`: ${e.sim.whyNot ?? NOT_SIM}`;
}

/** The actions live mode carries out on a canonical target, in catalogue order (empty: none). */
export function liveActionsOn(target: string): FaultAction[] {
  const kind = liveKind(target);
  return kind === undefined ? [] : FAULT_CATALOGUE.filter((e) => e.live.on.includes(kind)).map((e) => e.action);
}

/** Actions that act when the Services machine boots. */
export const STARTUP_ACTIONS: ReadonlySet<FaultAction> = new Set(FAULT_CATALOGUE.filter((e) => e.atStartupOnly).map((e) => e.action));
/** Actions that only bring something back (or record it). */
export const RECOVERY_ACTIONS: ReadonlySet<FaultAction> = new Set(FAULT_CATALOGUE.filter((e) => e.recovery).map((e) => e.action));

// Every schema action has exactly one row (checked once, at load: a missing row is a programmer error).
for (const a of FAULT_ACTIONS) faultEntry(a);
if (FAULT_CATALOGUE.length !== FAULT_ACTIONS.length) throw new Error('the fault catalogue has a row for an action the schema does not know');

function targetsCell(t: Targets): string {
  const parts = [...(t.containers === true ? ['containers'] : (t.containers ?? [])), ...(t.nomadClient ? ['nomad_client (count)'] : []), ...(t.servicesMachine ? ['services_machine'] : [])];
  return parts.join(', ');
}

function runsCell(r: Runs<string>): string {
  if (r.on.length === 0) return `no: ${r.whyNot ?? 'not yet'}`;
  return r.on.map((k) => (k === 'container' && r.containers ? r.containers.join(', ') : k)).join(', ');
}

/** The catalogue as a Markdown table (sim/faults/README.md holds it; `catalogue.test.ts` checks it is current). */
export function catalogueTable(): string {
  const rows = FAULT_CATALOGUE.map((e) =>
    [`\`${e.action}\``, e.does + (e.atStartupOnly ? ' (at 0s only)' : ''), targetsCell(e.targets), e.undoneBy ?? '-', e.endedBy.join(', ') || '-', runsCell(e.sim), runsCell(e.live)].map((c) => c.replaceAll('|', '\\|')).join(' | '),
  );
  return ['| action | does | targets | `for` undoes with | ended by | sim | live |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows.map((r) => `| ${r} |`)].join('\n');
}

// Coverage of the catalogue by an adapter's mechanics table (checked by the sim and live adapters' tests).

/** The operations each catalogue row needs mechanics for, by kind: the action where it runs, and its undo there too. */
export function neededPairs<K extends string>(column: (e: FaultEntry) => readonly K[]): Map<string, Set<K>> {
  const need = new Map<string, Set<K>>();
  const add = (op: string, kinds: readonly K[]) => need.set(op, new Set([...(need.get(op) ?? []), ...kinds]));
  for (const e of FAULT_CATALOGUE) {
    add(e.action, column(e));
    if (e.undoneBy !== undefined) add(e.undoneBy, column(e));
  }
  return need;
}

/** The (operation, kind) pairs a mechanics table has. */
export function providedPairs<K extends string>(table: Readonly<Record<string, Partial<Record<K, unknown>>>>): Map<string, Set<K>> {
  return new Map(Object.entries(table).map(([op, byKind]) => [op, new Set(Object.keys(byKind).filter((k) => byKind[k as K] !== undefined) as K[])]));
}

/** Pairs in `need` missing from `have`, and pairs in `have` that no row asks for, as `op on kind` lines. */
export function mismatches<K extends string>(need: Map<string, Set<K>>, have: Map<string, Set<K>>): string[] {
  const out: string[] = [];
  for (const [op, kinds] of need) for (const k of kinds) if (!have.get(op)?.has(k)) out.push(`missing: ${op} on ${k}`);
  for (const [op, kinds] of have) for (const k of kinds) if (!need.get(op)?.has(k)) out.push(`not in the catalogue: ${op} on ${k}`);
  return out;
}
