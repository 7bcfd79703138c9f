/**
 * telegraf's `[[outputs.cloudwatch]]` for the stack's gauges: what one flush of telegraf's statsd series (the last
 * value of each gauge series it received since the flush before, `name` or `name#tags`: harness/live/health-host.ts)
 * puts to CloudWatch under `GAUGE_NAMESPACE`, by the names the alarms read (no dimensions):
 * - `circle.nomad.server_agent.jobs.pending`: nomad-metrics' untagged gauge, as received;
 * - `circle.nomad.client_agent.resources.available.cpu`: the sum of the per-client series (each client's
 *   nomad-metrics tags them `drain,host,status`) of the clients ready and not draining, the MHz free in service
 *   (Nomad's eligibility is not among the tags: an ineligible client still counts). 0 when the flush has client
 *   series but none in service; no datum when it has no client series at all.
 * A gauge the flush did not carry (nomad-metrics down, its poll failed) has no datum; no flush (telegraf killed or
 * hung) puts nothing: the gap `get-metric-statistics` then shows and the alarms read as missing data. Pure.
 */
import { METRICS } from '../../sim/metrics/metric-names.ts';
import { AVAILABLE_CPU, GAUGE_NAMESPACE, PENDING_JOBS } from './nomad-clients.ts';
import type { Ec2State } from './state.ts';

export interface OutputDatum {
  readonly metricName: string;
  readonly unit: string;
  readonly value: number;
}

/** The tags of a DogStatsD series key `name#k:v,k:v`, by key. */
function tagsOf(key: string): Map<string, string> {
  const at = key.indexOf('#');
  const tags = new Map<string, string>();
  if (at < 0) return tags;
  for (const t of key.slice(at + 1).split(',')) {
    const colon = t.indexOf(':');
    if (colon > 0) tags.set(t.slice(0, colon), t.slice(colon + 1));
  }
  return tags;
}

const nameOf = (key: string) => (key.includes('#') ? key.slice(0, key.indexOf('#')) : key);

export function cloudwatchOutput(values: Readonly<Record<string, number>>): OutputDatum[] {
  const out: OutputDatum[] = [];
  const pending = values[METRICS.jobsPending];
  if (pending !== undefined && Number.isFinite(pending)) out.push({ metricName: PENDING_JOBS, unit: 'Count', value: pending });
  let clientSeries = 0;
  let free = 0;
  for (const [key, value] of Object.entries(values)) {
    if (nameOf(key) !== METRICS.clientCpuAvailable || !Number.isFinite(value)) continue;
    clientSeries++;
    const tags = tagsOf(key);
    if (tags.get('status') === 'ready' && tags.get('drain') === 'false') free += value;
  }
  if (clientSeries > 0) out.push({ metricName: AVAILABLE_CPU, unit: 'None', value: free });
  return out;
}

/**
 * One flush of telegraf's put to the endpoint's CloudWatch (its model brought up to the wall clock first, so the
 * datum lands in the minute the flush was written); returns what was put.
 */
export function publishFlush(ec2: Ec2State, values: Readonly<Record<string, number>>): OutputDatum[] {
  const data = cloudwatchOutput(values);
  if (data.length === 0) return data;
  ec2.sync();
  ec2.cloudwatch.put(
    GAUGE_NAMESPACE,
    data.map((d) => ({ ...d, dimensions: [], timestampMs: undefined })),
  );
  return data;
}
