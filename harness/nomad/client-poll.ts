import { clientPollLines, type ClientPoll } from '../../sim/metrics/client-agent.ts';

/** How long one poll of the Nomad API may take: below the 10 s statsd interval. */
const POLL_TIMEOUT_MS = 2_000;
/** The most nodes one poll reads (each costs two requests); a CircleCI Server fleet is far smaller. */
export const MAX_POLLED_NODES = 500;

interface NodeResourcesJson {
  CPU?: number;
  MemoryMB?: number;
  DiskMB?: number;
}

interface NodeJson {
  ID: string;
  Name: string;
  Status: string;
  Drain: boolean;
  Resources?: NodeResourcesJson | null;
  Reserved?: NodeResourcesJson | null;
}

interface AllocJson {
  ClientStatus: string;
  DesiredStatus: string;
  Resources?: NodeResourcesJson | null;
  AllocatedResources?: {
    Tasks?: Record<string, { Cpu?: { CpuShares?: number }; Memory?: { MemoryMB?: number } }> | null;
    Shared?: { DiskMB?: number } | null;
  } | null;
}

/** Whether Nomad counts an allocation as done (`structs.Allocation.TerminalStatus`): it holds no resources. */
function isTerminal(a: AllocJson): boolean {
  return a.DesiredStatus === 'stop' || a.DesiredStatus === 'evict' || a.ClientStatus === 'complete' || a.ClientStatus === 'failed' || a.ClientStatus === 'lost';
}

/** What one allocation holds: 0.9's `AllocatedResources` (tasks plus shared disk), else the older `Resources`. */
function held(a: AllocJson): { cpu: number; memory: number; disk: number } {
  const ar = a.AllocatedResources;
  if (ar?.Tasks) {
    let cpu = 0;
    let memory = 0;
    for (const t of Object.values(ar.Tasks)) {
      cpu += t.Cpu?.CpuShares ?? 0;
      memory += t.Memory?.MemoryMB ?? 0;
    }
    return { cpu, memory, disk: ar.Shared?.DiskMB ?? 0 };
  }
  return { cpu: a.Resources?.CPU ?? 0, memory: a.Resources?.MemoryMB ?? 0, disk: a.Resources?.DiskMB ?? 0 };
}

/** One node and its allocations as nomad-metrics `--client` reads them (pure: the Nomad API's JSON in). */
export function clientPollOf(node: NodeJson, allocs: readonly AllocJson[]): ClientPoll {
  let cpu = 0;
  let memory = 0;
  let disk = 0;
  for (const a of allocs) {
    if (isTerminal(a)) continue;
    const h = held(a);
    cpu += h.cpu;
    memory += h.memory;
    disk += h.disk;
  }
  const total = node.Resources ?? {};
  const reserved = node.Reserved ?? {};
  return {
    host: node.Name,
    status: node.Status,
    drain: node.Drain,
    cpuTotalMhz: total.CPU ?? 0,
    cpuReservedMhz: reserved.CPU ?? 0,
    cpuUsedMhz: cpu,
    memoryTotalMb: total.MemoryMB ?? 0,
    memoryReservedMb: reserved.MemoryMB ?? 0,
    memoryUsedMb: memory,
    diskTotalMb: total.DiskMB ?? 0,
    diskReservedMb: reserved.DiskMB ?? 0,
    diskUsedMb: disk,
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(POLL_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The `--client` side of nomad-metrics for every client of the Nomad server at `nomadUrl`: one poll's
 * DogStatsD lines, as each client's own nomad-metrics would send them. A down node's agent does not answer
 * (`poll_failure:1` for it); with the server unreachable every client known from an earlier poll (`known`,
 * updated in place) fails its poll.
 */
export async function pollClientLines(nomadUrl: string, known: Set<string>): Promise<string[]> {
  let nodes: NodeJson[];
  try {
    const stubs = await getJson<{ ID: string }[]>(`${nomadUrl}/v1/nodes`);
    nodes = await Promise.all(stubs.slice(0, MAX_POLLED_NODES).map((s) => getJson<NodeJson>(`${nomadUrl}/v1/node/${s.ID}`)));
  } catch {
    return [...known].sort().flatMap((host) => clientPollLines(host, undefined));
  }
  const lines: string[] = [];
  for (const n of nodes) {
    known.add(n.Name);
    if (n.Status === 'down') {
      lines.push(...clientPollLines(n.Name, undefined));
      continue;
    }
    try {
      const allocs = await getJson<AllocJson[]>(`${nomadUrl}/v1/node/${n.ID}/allocations`);
      lines.push(...clientPollLines(n.Name, clientPollOf(n, allocs)));
    } catch {
      lines.push(...clientPollLines(n.Name, undefined));
    }
  }
  return lines;
}
