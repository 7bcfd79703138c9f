import { suggest } from '../util/suggest.ts';
import type { Report } from './types.ts';

/**
 * Paths into a report, as scenario files write them in `expect: [{ metric: ... }]`.
 *
 * A path is a dotted walk from the report's root: `builds.lost`, `queue_time_ms.p95`, `faults.0.at_ms`
 * (`faults[0].at_ms` is the same path). Some keys contain dots themselves (the `metrics` record is keyed by
 * statsd names such as `circle.nomad.server_agent.jobs.pending`), so at each level the longest key that is
 * a prefix of the rest of the path is tried first, then shorter ones.
 */

export type PathLookup = { found: true; value: unknown } | { found: false; error: string };

/** Keys listed in an error message before it says "…". */
const MAX_KEYS_IN_ERROR = 12;

/** Depth bound for walking a value: reports are a few levels deep; anything deeper is a cycle or a bug. */
const MAX_DEPTH = 32;

/** Rewrites bracketed indices to dotted ones: `faults[0].at_ms` → `faults.0.at_ms`. */
export function normalizePath(path: string): string {
  return path.trim().replace(/\[(\d+)\]/g, '.$1').replace(/^\./, '');
}

/**
 * Resolves a path in a report (or any JSON-like value); `found: false` carries an error naming what is
 * missing and, when one is close, the existing path the user probably meant.
 */
export function getPath(report: unknown, path: string): PathLookup {
  const wanted = normalizePath(path);
  if (wanted === '') return { found: false, error: 'empty metric path: name a field of report.json, e.g. builds.lost' };
  const walk = resolve(report, wanted, '', 0);
  if (walk.found) return walk;
  return { found: false, error: `${walk.error}${hint(report, wanted)}` };
}

type Walk = { found: true; value: unknown } | { found: false; error: string; depth: number };

/** Walks `rest` from `value` (reached through `at`); on failure reports how far it got, for the best message. */
function resolve(value: unknown, rest: string, at: string, depth: number): Walk {
  if (rest === '') return { found: true, value };
  if (depth >= MAX_DEPTH) return { found: false, error: `path \`${at}\` is nested too deeply`, depth };
  const where = at === '' ? 'the report' : `\`${at}\``;

  if (Array.isArray(value)) {
    const dot = rest.indexOf('.');
    const segment = dot === -1 ? rest : rest.slice(0, dot);
    const after = dot === -1 ? '' : rest.slice(dot + 1);
    if (!/^\d+$/.test(segment)) {
      return { found: false, error: `${where} is a list: index it with a number (\`${join(at, '0')}\`), not \`${segment}\``, depth };
    }
    const index = Number(segment);
    if (index >= value.length) {
      return { found: false, error: `${where} has ${value.length} ${value.length === 1 ? 'entry' : 'entries'}, so no index ${index}`, depth };
    }
    return resolve(value[index], after, join(at, segment), depth + 1);
  }

  if (isRecord(value)) {
    const candidates = Object.keys(value)
      .filter((key) => value[key] !== undefined && (rest === key || rest.startsWith(`${key}.`)))
      .sort((a, b) => b.length - a.length);
    let deepest: Extract<Walk, { found: false }> | undefined;
    for (const key of candidates) {
      const walk = resolve(value[key], rest.slice(key.length + 1), join(at, key), depth + 1);
      if (walk.found) return walk;
      if (deepest === undefined || walk.depth > deepest.depth) deepest = walk;
    }
    if (deepest !== undefined) return deepest;
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    // With dotted keys (metric names) the first segment says little: name the whole rest instead.
    const missing = keys.some((key) => key.includes('.')) ? rest : (rest.split('.')[0] ?? rest);
    return { found: false, error: `${where} has no field \`${missing}\` (fields: ${listKeys(keys)})`, depth };
  }

  const kind = value === null ? 'null' : `${article(typeof value)} ${typeof value}`;
  return { found: false, error: `${where} is ${kind}, not an object: nothing at \`${rest}\` under it`, depth };
}

/** "; did you mean `x`?" from the closest leaf path, or a leaf path that ends with what was written. */
function hint(report: unknown, wanted: string): string {
  const leaves = leafPaths(report);
  const close = suggest(wanted, leaves) ?? leaves.find((leaf) => leaf.endsWith(`.${wanted}`));
  return close === undefined ? '' : `; did you mean \`${close}\`?`;
}

/** Every leaf path of a report, in field order: what `expect` can name (for hints and the docs). */
export function reportPaths(sample: Report): string[] {
  return leafPaths(sample);
}

/**
 * Every leaf path of a JSON-like value: scalars and null are leaves; empty objects and lists have none.
 * Array elements appear by index (`faults.0.at_ms`).
 */
export function leafPaths(value: unknown): string[] {
  const out: string[] = [];
  collect(value, '', 0, out);
  return out;
}

function collect(value: unknown, at: string, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => collect(item, join(at, String(index)), depth + 1, out));
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) collect(item, join(at, key), depth + 1, out);
    }
  } else if (value !== undefined && typeof value !== 'function' && at !== '') {
    out.push(at);
  }
}

/**
 * Whether a path names a duration in milliseconds: its leaf, or the last object key before it, ends in
 * `_ms` (`queue_time_ms.p95`, `rto_ms`, `faults.0.at_ms`). Expectations on these may be written as
 * durations (`max: 1s`).
 */
export function isDurationMetric(path: string): boolean {
  const segments = normalizePath(path).split('.');
  const leaf = segments.pop() ?? '';
  if (leaf.endsWith('_ms')) return true;
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] ?? '';
    if (!/^\d+$/.test(segment)) return segment.endsWith('_ms');
  }
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function listKeys(keys: readonly string[]): string {
  if (keys.length === 0) return 'none';
  const shown = keys.slice(0, MAX_KEYS_IN_ERROR).join(', ');
  return keys.length > MAX_KEYS_IN_ERROR ? `${shown}, … ${keys.length - MAX_KEYS_IN_ERROR} more` : shown;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/**
 * Paths only `twin dr`'s report has (`dr-report.json`): the DR measures and each runbook step (any index stands
 * for all, as in `faults.0.at_ms`). `twin run` does not know them; `twin dr` accepts them beside the report's.
 */
export const DR_REPORT_PATHS: readonly string[] = [
  'rto_ms',
  'rpo_ms',
  'webhooks_dropped',
  'runbook.0.step',
  'runbook.0.status',
  'runbook.0.consequence',
  'runbook.0.started_at_ms',
  'runbook.0.duration_ms',
  'dr.target_rto_ms',
  'dr.meets_target',
  'dr.backups_taken',
  'dr.restored_from_ms',
  'dr.records_written_after_backup',
  'dr.stuck_from_snapshot',
  'dr.stale_allocations_restored',
  'dr.stale_allocations_at_end',
  'dr.builders_reach_services',
  'dr.hostname_matches',
  'dr.services_up_ms',
  'dr.skipped_steps',
  'dr.records_lost_at_restore',
  'dr.builders_rotated',
  'dr.builders_reconnected',
  'dr.backups.list.0.at_ms',
  'dr.backups.list.0.size_bytes',
  'dr.backups.list.0.duration_ms',
  'dr.backups.list.0.age_ms',
  'dr.backups.list.0.usable',
  'dr.recommendation.every_ms',
  'dr.recommendation.worst_rpo_ms',
  'dr.recommendation.current_meets',
  'dr.settings.builds_failed',
  'dr.settings.restored',
];
