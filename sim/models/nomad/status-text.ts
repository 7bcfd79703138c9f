/**
 * The text of the `nomad` CLI commands the seeds' troubleshooting chapter asks an operator to run,
 * rendered from the scheduler's views. Pure functions from data to text.
 *
 * Layout follows the Nomad CLI of the CircleCI Server 2.x era: tables are columnised with two spaces
 * between left-aligned columns (the `columnize` library's default glue), key/value blocks as
 * `Key = value`, ids shortened to 8 characters, lists sorted by id as Nomad's state store returns
 * them. Timestamps are left out: the scheduler knows no time.
 */
import {
  CPU_MHZ_PER_CORE,
  DEFAULT_DATACENTER,
  TASK_GROUP_NAME,
  shortId,
  type AllocView,
  type EvalView,
  type JobView,
  type NodeView,
  type PlacementFailure,
} from './cluster-state.ts';

/** Aligns rows into columns separated by two spaces; the last column is not padded. */
export function columnize(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (let c = 0; c < row.length - 1; c++) widths[c] = Math.max(widths[c] ?? 0, row[c]!.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c < row.length - 1 ? cell.padEnd(widths[c]!) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A `Key = value` block with the `=` signs aligned. */
export function formatKv(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)} = ${v}`).join('\n');
}

/** Byte counts as go-humanize's `IBytes` prints them ("256 MiB", "2.0 GiB", "28 GiB"). */
export function humanizeIBytes(bytes: number): string {
  if (bytes < 10) return `${bytes} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  const e = Math.min(units.length - 1, Math.floor(Math.log(bytes) / Math.log(1024)));
  const val = Math.floor((bytes / 1024 ** e) * 10 + 0.5) / 10;
  return `${val >= 10 ? val.toFixed(0) : val.toFixed(1)} ${units[e]!}`;
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** `nomad status`: every job with its type, priority and status. */
export function renderJobList(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return 'No running jobs';
  const rows = [...jobs].sort(byId).map((j) => [j.id, j.type, String(j.priority), j.status]);
  return columnize([['ID', 'Type', 'Priority', 'Status'], ...rows]);
}

/** The lines Nomad prints under "Placement Failure" for a task group (its `formatAllocMetrics`). */
export function renderPlacementFailure(f: PlacementFailure): string[] {
  const lines: string[] = [];
  if (f.nodesEvaluated === 0) lines.push('* No nodes were eligible for evaluation');
  if (f.constraint !== null && f.nodesFiltered > 0) {
    lines.push(`* Constraint "${f.constraint}" filtered ${f.nodesFiltered} nodes`);
  }
  if (f.nodesExhausted > 0) lines.push(`* Resources exhausted on ${f.nodesExhausted} nodes`);
  if (f.dimensionExhausted.cpu > 0) lines.push(`* Dimension "cpu" exhausted on ${f.dimensionExhausted.cpu} nodes`);
  if (f.dimensionExhausted.memory > 0) {
    lines.push(`* Dimension "memory" exhausted on ${f.dimensionExhausted.memory} nodes`);
  }
  return lines;
}

/**
 * `nomad status <job>`: the job, its task-group summary, why it is not placed (when a blocked
 * evaluation holds it) and its allocations, newest first.
 */
export function renderJobStatus(job: JobView, allocs: readonly AllocView[], blockedEval?: EvalView): string {
  const parts: string[] = [];
  parts.push(
    formatKv([
      ['ID', job.id],
      ['Name', job.id],
      ['Type', job.type],
      ['Priority', String(job.priority)],
      ['Datacenters', job.datacenter ?? DEFAULT_DATACENTER],
      ['Status', job.status],
      ['Periodic', 'false'],
      ['Parameterized', 'false'],
    ]),
  );
  const s = job.summary;
  parts.push(
    'Summary\n' +
      columnize([
        ['Task Group', 'Queued', 'Starting', 'Running', 'Failed', 'Complete', 'Lost'],
        [TASK_GROUP_NAME, ...[s.queued, s.starting, s.running, s.failed, s.complete, s.lost].map(String)],
      ]),
  );
  const failure = blockedEval?.failedTgAllocs ?? null;
  if (failure !== null && blockedEval?.status === 'blocked') {
    const lines = renderPlacementFailure(failure).map((l) => `  ${l}`);
    parts.push(['Placement Failure', `Task Group "${TASK_GROUP_NAME}":`, ...lines].join('\n'));
  }
  if (allocs.length === 0) {
    parts.push('Allocations\nNo allocations placed');
  } else {
    const rows = [...allocs]
      .reverse()
      .map((a) => [shortId(a.allocId), shortId(a.evalId), shortId(a.nodeId), TASK_GROUP_NAME, a.desiredStatus, a.clientStatus]);
    parts.push('Allocations\n' + columnize([['ID', 'Eval ID', 'Node ID', 'Task Group', 'Desired', 'Status'], ...rows]));
  }
  return parts.join('\n\n');
}

/** `nomad node-status -allocs`: the seed's table, ID DC Name Class Drain Status Running Allocs. */
export function renderNodeStatusAllocs(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return '';
  const rows = [...nodes]
    .sort(byId)
    .map((n) => [shortId(n.id), n.datacenter, n.name, n.nodeClass, String(n.drain), n.status, String(n.runningAllocs)]);
  return columnize([['ID', 'DC', 'Name', 'Class', 'Drain', 'Status', 'Running Allocs'], ...rows]);
}

/**
 * `nomad node-status -self` (or `nomad node-status <id>`): one node, its allocated resources against
 * what it can offer after the reservation, and its non-terminal allocations.
 */
export function renderNodeStatusSelf(node: NodeView, allocs: readonly AllocView[]): string {
  const mhz = CPU_MHZ_PER_CORE / 1000;
  const usableCpuMhz = Math.max(0, node.totalCpuMilli - node.reservedCpuMilli) * mhz;
  const usableMemMb = Math.max(0, node.totalMemoryMb - node.reservedMemoryMb);
  const mib = 1024 * 1024;
  const parts: string[] = [
    formatKv([
      ['ID', shortId(node.id)],
      ['Name', node.name],
      ['Class', node.nodeClass],
      ['DC', node.datacenter],
      ['Drain', String(node.drain)],
      ['Eligibility', node.eligibility],
      ['Status', node.status],
    ]),
    'Allocated Resources\n' +
      columnize([
        ['CPU', 'Memory'],
        [
          `${node.usedCpuMilli * mhz}/${usableCpuMhz} MHz`,
          `${humanizeIBytes(node.usedMemoryMb * mib)}/${humanizeIBytes(usableMemMb * mib)}`,
        ],
      ]),
  ];
  if (allocs.length > 0) {
    const rows = allocs.map((a) => [shortId(a.allocId), shortId(a.evalId), a.jobId, TASK_GROUP_NAME, a.desiredStatus, a.clientStatus]);
    parts.push(
      'Allocations\n' +
        columnize([['ID', 'Eval ID', 'Job ID', 'Task Group', 'Desired Status', 'Client Status'], ...rows]),
    );
  }
  return parts.join('\n\n');
}
