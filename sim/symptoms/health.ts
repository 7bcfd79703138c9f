import type { Container } from '../../fixtures/schema.ts';
import type { ServiceState } from '../models/services/registry.ts';

/** What `curl` printed and its exit code (curl's own: 7 refused, 28 timed out, 3 a URL it cannot parse). */
export interface CurlAnswer {
  readonly output: string;
  readonly exit: number;
  /** The HTTP status when one came back. */
  readonly status?: number;
}

/** Container ports of the stores and agents, which do not speak HTTP. */
const NOT_HTTP: ReadonlySet<number> = new Set([5432, 6379, 27017, 5672, 5671, 4369, 25672, 4647, 4648]);

/** How long curl waits on a hung service before giving up (its `--max-time` the seeds' checks would use). */
export const CURL_TIMEOUT_MS = 10_000;

/**
 * `curl [-i|-s|-v] http://localhost:PORT/PATH` on the Services machine: the container publishing PORT answers
 * its health path (the seeds' "Health of Service" table) with 200 while it runs, another path with 404; a stopped
 * container's port refuses the connection and a hung one's times out.
 */
export function curlAnswer(url: string, containers: readonly Container[], state: (name: string) => ServiceState, showHeaders: boolean): CurlAnswer {
  const m = /^(?:https?:\/\/)?(localhost|127\.0\.0\.1|0\.0\.0\.0|services)(?::(\d+))?(\/[^\s]*)?$/.exec(url);
  if (m === null) return { output: `curl: (6) Could not resolve host: ${url.replace(/^https?:\/\//, '').split(/[/:]/)[0]}`, exit: 6 };
  const port = m[2] === undefined ? (url.startsWith('https') ? 443 : 80) : Number(m[2]);
  const path = m[3] ?? '/';
  const owner = containers.find((c) => c.ports.some((p) => p.host === port && p.protocol === 'tcp'));
  const refused = { output: `curl: (7) Failed to connect to ${m[1]} port ${port}: Connection refused`, exit: 7 };
  if (owner === undefined) return refused;
  const s = state(owner.name);
  if (s === 'stopped' || s === 'failed') return refused;
  if (s === 'paused') return { output: `curl: (28) Operation timed out after ${CURL_TIMEOUT_MS + 1} milliseconds with 0 bytes received`, exit: 28 };
  // A port that does not speak HTTP: SMTP greets first (curl refuses the banner); the stores answer nothing.
  const mapping = owner.ports.find((p) => p.host === port)!;
  if (mapping.container === 25) return { output: 'curl: (1) Received HTTP/0.9 when not allowed', exit: 1 };
  if (NOT_HTTP.has(mapping.container)) return { output: 'curl: (52) Empty reply from server', exit: 52 };
  // ready-agent answers 5XX until every container is healthy, then 200 (the seeds' "Health Checks").
  if (owner.name === 'ready-agent' && path === '/') {
    const waiting = containers.filter((c) => c.name !== 'ready-agent' && state(c.name) !== 'running').map((c) => c.name);
    const ready = waiting.length === 0;
    const body = JSON.stringify({ ready, waiting });
    return { output: showHeaders ? `HTTP/1.1 ${ready ? '200 OK' : '503 Service Unavailable'}\nContent-Type: application/json\nContent-Length: ${body.length}\n\n${body}` : body, exit: 0, status: ready ? 200 : 503 };
  }
  const healthy = owner.health !== undefined && owner.health.port === port && owner.health.path === path.split('?')[0];
  const status = healthy ? 200 : 404;
  const body = healthy ? '{"status":"ok"}' : 'Not Found';
  const head = `HTTP/1.1 ${status} ${healthy ? 'OK' : 'Not Found'}\nContent-Type: ${healthy ? 'application/json' : 'text/plain'}\nContent-Length: ${body.length}\n\n`;
  return { output: showHeaders ? head + body : body, exit: 0, status };
}

/** The health endpoints a trainee may check, as URLs (the `help` text and the drills' pointers). */
export function healthUrls(containers: readonly Container[]): string[] {
  return containers.filter((c) => c.health !== undefined).map((c) => `http://localhost:${c.health!.port}${c.health!.path}  (${c.name})`);
}
