import { columnize } from '../../sim/models/nomad/status-text.ts';
import type { LiveRow } from './stack.ts';

/** The width `renderStackTable` keeps to (a terminal's 100 columns); the full rows are in `twin status --json`. */
export const STACK_TABLE_COLUMNS = 100;

/**
 * A `docker ps`-like table of the stack, at most STACK_TABLE_COLUMNS wide: BACKEND is where it runs in one word
 * (local, embedded, testcontainers, external, worker, stage, migrator), PORTS drop the `127.0.0.1:` every listener
 * has, HEALTH is cut at the edge, and the reason of each failed or unhealthy row follows the table on a line of its own.
 */
export function renderStackTable(rows: readonly LiveRow[]): string {
  const header = ['NAME', 'BACKEND', 'PID', 'PORTS', 'HEALTH'];
  const body = rows.map((r) => [r.name, shortBackend(r), r.pid === undefined ? '-' : String(r.pid), r.ports.map((p) => p.replace(/^127\.0\.0\.1:/, '')).join(',') || '-', r.reason ? `${r.state} (${r.reason})` : r.state]);
  const table = columnize([header, ...body]).split('\n').map(fit);
  const notes = rows
    .filter((r) => (r.reason || r.health) && (r.state === 'failed' || r.state === 'unhealthy'))
    .map((r) => fit(`${r.name}: ${r.state}: ${[r.reason, r.health && `its health endpoint answered ${r.health}`].filter(Boolean).join('; ')}`));
  return [...table, ...notes].join('\n');
}

function fit(line: string): string {
  return line.length <= STACK_TABLE_COLUMNS ? line : `${line.slice(0, STACK_TABLE_COLUMNS - 1)}…`;
}

function shortBackend(r: LiveRow): string {
  if (r.kind === 'migrator') return 'migrator';
  if (r.kind === 'service') return /pipeline stage/.test(r.backend) ? 'stage' : 'worker';
  return r.via ?? r.backend;
}
