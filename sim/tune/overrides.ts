import { isMap, isSeq, parseDocument } from 'yaml';
import { scenarioJsonSchema } from '../scenario/schema.ts';
import type { ScenarioIssue } from '../scenario/parse.ts';
import { suggest } from '../util/suggest.ts';
import { TuneInputError } from './tune-input-error.ts';
import type { CellParams } from './sweep.ts';

type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; oneOf?: JsonSchema[] };

/** Keys that a sweep must not set: what they would do is done otherwise. */
const NOT_SWEPT: Record<string, string> = {
  name: 'the name identifies the scenario, not a configuration',
  seed: 'replications draw their own seeds: use --replications N (and --seed for the sweep)',
  mode: 'twin tune runs the simulation',
  time_scale: 'twin tune runs the simulation; time_scale is for live runs',
  expect: 'the scenario\'s expectations are checked in each run; sweep targets are --targets',
  tune: 'the tune section describes the sweep itself; the cells run without it',
};

/** Every settable path of the scenario schema, `N` standing for a list index (`autoscaling.policies.N.desired`). */
let cachedKeys: string[] | undefined;
export function scenarioKeys(): string[] {
  if (cachedKeys) return cachedKeys;
  const out: string[] = [];
  const walk = (s: JsonSchema, prefix: string, depth: number) => {
    if (depth > 8) return;
    const variants = [s, ...(s.anyOf ?? []), ...(s.oneOf ?? [])];
    for (const v of variants) {
      for (const [k, child] of Object.entries(v.properties ?? {})) {
        const key = prefix === '' ? k : `${prefix}.${k}`;
        if (!out.includes(key)) out.push(key);
        walk(child, key, depth + 1);
      }
      if (v.items) {
        const key = `${prefix}.N`;
        if (!out.includes(key)) out.push(key);
        walk(v.items, key, depth + 1);
      }
    }
  };
  walk(scenarioJsonSchema() as JsonSchema, '', 0);
  cachedKeys = out;
  return out;
}

/** A key with its list indices written as `N`, to compare with `scenarioKeys()`. */
function schemaForm(key: string): string {
  return key.replace(/\.\d+(?=\.|$)/g, '.N');
}

/**
 * Checks that `key` names a field of the scenario schema; otherwise a TuneInputError naming it, with the closest
 * key and the keys beside it (the children of its longest valid prefix) as the hint.
 */
export function checkSweepKey(key: string): void {
  const root = key.split('.')[0]!;
  if (NOT_SWEPT[root] !== undefined) throw new TuneInputError(`--sweep ${key}: \`${root}\` cannot be swept: ${NOT_SWEPT[root]}`, 'sweep a field of topology, workload, autoscaling or cost');
  const keys = scenarioKeys();
  const form = schemaForm(key);
  if (keys.includes(form)) return;
  const segments = form.split('.');
  let prefix = '';
  for (let i = segments.length - 1; i > 0; i--) {
    const p = segments.slice(0, i).join('.');
    if (keys.includes(p)) {
      prefix = p;
      break;
    }
  }
  const depth = prefix === '' ? 1 : prefix.split('.').length + 1;
  const near = keys.filter((k) => k.split('.').length === depth && (prefix === '' || k.startsWith(`${prefix}.`)));
  const close = suggest(form, keys.filter((k) => !NOT_SWEPT[k]));
  const topologyAlias = keys.includes(`topology.${form}`) ? `topology.${key}` : undefined;
  const mean = topologyAlias ?? close?.replace(/\.N(?=\.|$)/g, '.0');
  throw new TuneInputError(
    `--sweep ${key}: the scenario has no field \`${key}\`${mean ? `; did you mean \`${mean}\`?` : ''}`,
    `keys ${prefix === '' ? 'at the top' : `under ${prefix}`}: ${near.filter((k) => !NOT_SWEPT[k]).join(', ')}`,
  );
}

/** A dotted key as YAML path segments (list indices as numbers). */
function pathOf(key: string): (string | number)[] {
  return key.split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * Keys that replace others when set: an instance type sets cpus, memory and the price, so the scenario's own
 * values of those would contradict it (the schema refuses both) and are removed for the cell.
 */
const REPLACES: Record<string, string[]> = {
  'topology.nomad_clients.instance_type': ['topology.nomad_clients.cpus', 'topology.nomad_clients.memory_gb', 'topology.nomad_clients.hour_usd'],
};

/**
 * The scenario text with each override set at its path (missing mappings are created); comments and the rest of
 * the file are kept. Text that is not valid YAML is returned unchanged (its parse reports it).
 */
export function applyOverrides(text: string, overrides: CellParams): string {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return text;
  // A cell is the scenario without its sweep: `twin run` refuses `tune`.
  doc.delete('tune');
  for (const [key, value] of Object.entries(overrides)) {
    const path = pathOf(key);
    const replaced = REPLACES[key] ?? [];
    for (const r of replaced) if (!(r in overrides)) doc.deleteIn(pathOf(r));
    // A list index must exist: setIn would otherwise grow the list with empty items the schema then refuses.
    for (let i = 1; i < path.length; i++) {
      if (typeof path[i] !== 'number') continue;
      const list = doc.getIn(path.slice(0, i), true);
      const n = isSeq(list) ? list.items.length : 0;
      if ((path[i] as number) >= n) throw new TuneInputError(`--sweep ${key}: ${path.slice(0, i).join('.')} has ${n} item${n === 1 ? '' : 's'} in the scenario, so there is no item ${String(path[i])}`, n > 0 ? `items are numbered 0 to ${n - 1}` : `the scenario has no ${path.slice(0, i).join('.')}: add it to the file first`);
    }
    doc.setIn(path, doc.createNode(value, { flow: true }));
  }
  return doc.toString({ lineWidth: 0 });
}

/**
 * Issues of a cell's scenario, in the words of the sweep: an issue on a swept field (or inside or around one)
 * names `--sweep key=value` instead of a line of the rewritten text, which the user never saw.
 */
export function sweepIssues(issues: readonly ScenarioIssue[], params: CellParams): ScenarioIssue[] {
  return issues.map((i) => {
    const field = i.field.replace(/\[(\d+)\]/g, '.$1');
    const key = Object.keys(params).find((k) => field === k || field.startsWith(`${k}.`) || (field !== '' && k.startsWith(`${field}.`)));
    if (key === undefined) return i;
    const shown = `--sweep ${key}=${JSON.stringify(params[key])}`;
    return { ...i, file: shown, line: 1, column: 1, message: `${i.message} (in the cell ${cellText(params)})` };
  });
}

/** `key=value, key=value` of a cell, for messages and tables. */
export function cellText(params: CellParams): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}
