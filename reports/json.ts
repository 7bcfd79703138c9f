import type { Report } from '../sim/report/types.ts';

/**
 * `report.json`: the report with its keys in a fixed order, 2-space indent and a trailing newline.
 *
 * The order is the contract's (DESIGN.md's example first, then the extensions as `Report` declares them),
 * not whatever order the run happened to build the object in, so the same report always gives the same
 * bytes. Keys the order does not know (a field added later, a `twin dr` extension) keep their own order
 * after the known ones; record keys (`metrics`) are sorted by code unit, never by locale.
 */
export function toJson(report: Report): string {
  return `${JSON.stringify(arrange(report, REPORT_SHAPE, 0), null, 2)}\n`;
}

/** How to lay out one value: its known keys in order, the shapes of its fields, of its items, of its values. */
interface Shape {
  order?: readonly string[];
  fields?: Readonly<Record<string, Shape>>;
  items?: Shape;
  /** A record keyed by names (metrics): keys sorted, every value laid out with this shape. */
  values?: Shape;
}

const PERCENTILES: Shape = { order: ['mean', 'p50', 'p95', 'p99', 'max'] };

const REPORT_ORDER = [
  'scenario',
  'description',
  'version',
  'mode',
  'seed',
  'passed',
  'builds',
  'queue_time_ms',
  'data_loss',
  'faults',
  'observed_severity',
  'expectations',
  'replay',
  'severity_because',
  'duration_ms',
  'ended_at_ms',
  'webhooks',
  'workflows',
  'start_delay_ms',
  'ui',
  'scheduled_workflows',
  'run_queue_latency_ms',
  'throughput',
  'capacity',
  'vm_service',
  'startup',
  'services_machine',
  'test_results',
  'metric_gaps',
  'metrics',
  'ledger',
  'affected_builds',
  'affected_builds_total',
  'engine',
  'autoscaling',
  'cost',
] as const satisfies readonly (keyof Report)[];

const REPORT_SHAPE: Shape = {
  order: REPORT_ORDER,
  fields: {
    builds: { order: ['triggered', 'succeeded', 'failed', 'lost', 'stuck', 'not_triggered', 'retried'] },
    queue_time_ms: PERCENTILES,
    data_loss: { order: ['step_output', 'artifacts', 'test_results', 'audit_events', 'live_step_output', 'build_records', 'workflow_records'] },
    faults: { items: { order: ['at_ms', 'action', 'target', 'for_ms', 'count', 'observed_severity'] } },
    expectations: { items: { order: ['metric', 'op', 'expected', 'actual', 'passed', 'error'] } },
    webhooks: { order: ['received', 'accepted', 'dropped'] },
    workflows: { order: ['started', 'succeeded', 'failed', 'not_started', 'inconsistent'] },
    run_queue_latency_ms: PERCENTILES,
    start_delay_ms: PERCENTILES,
    ui: { order: ['requests', 'failed', 'failed_by_kind'], fields: { failed_by_kind: { values: {} } } },
    scheduled_workflows: { order: ['triggered', 'skipped'] },
    throughput: { order: ['builds_per_hour', 'peak_builds_per_hour', 'tasks_completed'] },
    capacity: {
      order: [
        'nomad_clients',
        'usable_cpu_milli_per_client',
        'usable_memory_mb_per_client',
        'peak_running_tasks',
        'mean_cpu_utilisation',
        'peak_cpu_utilisation',
        'peak_pending_jobs',
        'scheduler',
        'fragmentation',
        'wait_ms',
      ],
      fields: { wait_ms: PERCENTILES },
    },
    vm_service: { order: ['instances_launched', 'instances_terminated', 'preallocated_used', 'mean_wait_ms', 'stale_peak', 'stale_instance_hours', 'instance_hours', 'dlc_jobs', 'dlc_without_cache', 'preallocated_cycled'] },
    startup: { order: ['system_started', 'failed'], fields: { failed: { items: { order: ['name', 'reason'] } } } },
    services_machine: { order: ['min_free_disk_mb', 'disk_full'] },
    test_results: { order: ['parsed', 'peak_backlog'] },
    metrics: { values: { order: ['type', 'samples', 'mean', 'max', 'min', 'last'] } },
    ledger: { order: ['conserved', 'equation'] },
    affected_builds: { items: { order: ['build', 'fate', 'reason', 'at_ms'] } },
    engine: { order: ['events', 'virtual_ms', 'stop_reason'] },
    autoscaling: { order: ['launched', 'terminated', 'actions', 'peak_instances', 'final_desired', 'final_instances'] },
    cost: { order: ['total_per_day', 'machines_per_day', 'vm_service_per_day', 'waiting_per_day'] },
  },
};

/** Reports are a few levels deep; a deeper value is a cycle, which JSON cannot hold anyway. */
const MAX_DEPTH = 32;

/** A copy of `value` whose objects have their keys in the shape's order; undefined fields are dropped. */
function arrange(value: unknown, shape: Shape | undefined, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new RangeError('report nests deeper than 32 levels: is there a cycle?');
  if (Array.isArray(value)) return value.map((item) => arrange(item, shape?.items, depth + 1));
  if (typeof value !== 'object' || value === null) return value;

  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (shape?.values !== undefined) {
    for (const key of Object.keys(source).sort(byCodeUnit)) put(out, key, arrange(source[key], shape.values, depth + 1));
    return out;
  }
  const known = shape?.order ?? [];
  const rest = Object.keys(source).filter((key) => !known.includes(key));
  for (const key of [...known, ...rest]) {
    if (Object.hasOwn(source, key)) put(out, key, arrange(source[key], shape?.fields?.[key], depth + 1));
  }
  return out;
}

/** Defines rather than assigns, so that a key named `__proto__` stays a key. */
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
