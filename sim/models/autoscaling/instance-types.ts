/**
 * EC2 instance types the Nomad clients and vm-service instances can be, with their list prices
 * (`fixtures/instance-types.json`: its `source` says where the prices come from and as of when).
 */
import table from '../../../fixtures/instance-types.json' with { type: 'json' };

export interface InstanceType {
  vcpus: number;
  memory_gb: number;
  hour_usd: number;
}

export const INSTANCE_TYPES: Readonly<Record<string, InstanceType>> = table.types;
export const INSTANCE_TYPE_NAMES: readonly string[] = Object.keys(table.types);
export const INSTANCE_PRICE_SOURCE: string = table.source;
/** The instance type vm-service launches for `machine` and remote Docker jobs unless the scenario prices it. */
export const VM_SERVICE_DEFAULT_TYPE: string = table.vm_service_default;

/** The type named, or a RangeError naming the known ones. */
export function instanceType(name: string): InstanceType {
  const t = INSTANCE_TYPES[name];
  if (t === undefined) throw new RangeError(`unknown instance type ${name}: known are ${INSTANCE_TYPE_NAMES.join(', ')}`);
  return t;
}

/**
 * The hourly list price of a client of this size: the cheapest listed type with exactly these vCPUs and
 * memory, else the m5 family's price per vCPU (m5.2xlarge's) times the vCPUs. `source` says which.
 */
export function priceForSize(vcpus: number, memoryGb: number): { hourUsd: number; source: string } {
  let best: [string, InstanceType] | undefined;
  for (const entry of Object.entries(INSTANCE_TYPES)) {
    const t = entry[1];
    if (t.vcpus === vcpus && t.memory_gb === memoryGb && (best === undefined || t.hour_usd < best[1].hour_usd)) best = entry;
  }
  if (best !== undefined) return { hourUsd: best[1].hour_usd, source: best[0] };
  const m5 = instanceType('m5.2xlarge');
  return { hourUsd: round6((m5.hour_usd / m5.vcpus) * vcpus), source: `${vcpus} vCPU at m5.2xlarge's price per vCPU` };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
