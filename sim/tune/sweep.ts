import { parse as parseYaml } from 'yaml';
import { Rng, deriveSeed } from '../engine/rng.ts';
import { TUNE_LIMITS, TuneInputError } from './tune-input-error.ts';

/** One swept parameter: a dotted path into the scenario and the values it takes, in the order given. */
export interface SweepAxis {
  key: string;
  values: unknown[];
}

/** One cell of a sweep: a value for every swept key (keys in the order of the `--sweep` flags). */
export type CellParams = Record<string, unknown>;

/**
 * Splits `v1,v2,...` on the commas outside brackets and quotes, so a value may be a YAML flow mapping or list
 * (`{median: 3m, p95: 5m}`) or a quoted text holding a comma.
 */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (const c of text) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  out.push(current.trim());
  return out;
}

/** A value as YAML reads it (`5` a number, `binpack` a text, `{median: 3m}` a mapping); never a YAML error. */
function valueOf(text: string, spec: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 0 }) as unknown;
  } catch (e) {
    throw new TuneInputError(`--sweep ${spec}: the value \`${text}\` is not a YAML value (${(e as Error).message.split('\n')[0]})`, 'write values as in the scenario file: 12, m5.2xlarge, "0 8 * * 1-5", {median: 3m, p95: 5m}');
  }
}

/** Parses one `--sweep key=v1,v2,...`; the key is checked against the scenario later (`checkSweepKey`). */
export function parseSweep(spec: string): SweepAxis {
  const eq = spec.indexOf('=');
  const hint = 'write --sweep key=v1,v2,..., e.g. --sweep topology.nomad_clients.count=8,12,16';
  if (eq <= 0) throw new TuneInputError(`--sweep ${spec}: expected key=v1,v2,...`, hint);
  const key = spec.slice(0, eq).trim();
  if (!/^[a-z_][a-z0-9_]*(\.([a-z_][a-z0-9_]*|\d+))*$/.test(key)) throw new TuneInputError(`--sweep ${spec}: \`${key}\` is not a dotted path into the scenario`, hint);
  const texts = splitValues(spec.slice(eq + 1));
  if (texts.some((t) => t === '')) throw new TuneInputError(`--sweep ${spec}: an empty value`, hint);
  const values = texts.map((t) => valueOf(t, spec));
  checkValues(key, values);
  return { key, values };
}

/** Checks one key's values: within `max_sweep_values`, each given once. */
export function checkValues(key: string, values: readonly unknown[]): void {
  if (values.length > TUNE_LIMITS.valuesPerSweep.value) throw new TuneInputError(`--sweep ${key}: ${values.length} values, more than ${TUNE_LIMITS.valuesPerSweep.name} (${TUNE_LIMITS.valuesPerSweep.value})`, TUNE_LIMITS.valuesPerSweep.hint);
  const seen = new Set<string>();
  for (const v of values) {
    const canonical = JSON.stringify(v);
    if (seen.has(canonical)) throw new TuneInputError(`--sweep ${key}: the value ${canonical} is given twice`, 'list each value once');
    seen.add(canonical);
  }
}

/** Checks the axes together: each key swept once, and the grid within `max_tune_cells`. */
export function checkAxes(axes: readonly SweepAxis[]): void {
  if (axes.length === 0) throw new TuneInputError('nothing to sweep', 'give at least one --sweep key=v1,v2,..., e.g. --sweep topology.nomad_clients.count=8,12,16');
  const keys = axes.map((a) => a.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined) throw new TuneInputError(`--sweep ${twice} is given twice`, 'give all its values in one --sweep');
  const nested = keys.find((k) => keys.some((o) => o !== k && k.startsWith(`${o}.`)));
  if (nested !== undefined) throw new TuneInputError(`--sweep ${nested} lies inside another swept key (${keys.find((o) => nested.startsWith(`${o}.`))})`, 'sweep one of them');
}

/** How many cells the full grid has (the product of the axes' lengths). */
export function gridSize(axes: readonly SweepAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The cell at `index` of the grid: the last axis varies fastest (like nested loops in the flags' order). */
function gridCell(axes: readonly SweepAxis[], index: number): CellParams {
  const params: CellParams = {};
  let rest = index;
  const picks: number[] = [];
  for (let a = axes.length - 1; a >= 0; a--) {
    const n = axes[a]!.values.length;
    picks[a] = rest % n;
    rest = Math.floor(rest / n);
  }
  axes.forEach((axis, a) => (params[axis.key] = axis.values[picks[a]!]));
  return params;
}

/** Every combination of the axes' values; at most `max_tune_cells`. */
export function gridCells(axes: readonly SweepAxis[]): CellParams[] {
  const n = gridSize(axes);
  const limit = TUNE_LIMITS.cells;
  if (n > limit.value) throw new TuneInputError(`the grid has ${n} cells, more than ${limit.name} (${limit.value})`, `${limit.hint}, or draw some of them with --sample random --samples N`);
  return Array.from({ length: n }, (_, i) => gridCell(axes, i));
}

/**
 * `samples` distinct cells of the grid drawn uniformly without replacement from a stream of `seed` (a partial
 * Fisher–Yates shuffle over cell numbers), listed in grid order so that the table reads like the grid.
 */
export function randomCells(axes: readonly SweepAxis[], samples: number, seed: number): CellParams[] {
  const n = gridSize(axes);
  const limit = TUNE_LIMITS.cells;
  if (samples > limit.value) throw new TuneInputError(`--samples ${samples} is more than ${limit.name} (${limit.value})`, limit.hint);
  if (samples >= n) return gridCells(axes);
  const rng = new Rng(deriveSeed(seed, 'tune:sample'));
  // A sparse shuffle: only the swapped positions are stored, so a grid of billions costs `samples` entries.
  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const picked: number[] = [];
  for (let i = 0; i < samples; i++) {
    const j = i + rng.nextInt(n - i);
    const vi = at(i);
    const vj = at(j);
    swapped.set(i, vj);
    swapped.set(j, vi);
    picked.push(vj);
  }
  return picked.sort((a, b) => a - b).map((i) => gridCell(axes, i));
}

/** Checks that cells × replications stays within `max_tune_runs`. */
export function checkRuns(cells: number, replications: number): void {
  const runs = cells * replications;
  const limit = TUNE_LIMITS.runs;
  if (runs > limit.value) throw new TuneInputError(`${cells} cells × ${replications} replications = ${runs} runs, more than ${limit.name} (${limit.value})`, limit.hint);
}
