import { AwsApiError } from './errors.ts';
import type { Filter } from './filters.ts';

/**
 * How a Query protocol flattens lists: EC2 writes `InstanceId.1`, `Filter.1.Value.1`; Auto Scaling (plain
 * awsQuery) writes `AvailabilityZones.member.1`, `Tags.member.1.Key`.
 */
export type ListStyle = 'ec2' | 'member';

const MAX_LIST_ITEMS = 1000;

/**
 * The form parameters of one Query request, read through typed getters. A view may be scoped to a prefix
 * (`Filter.1.`), so that nested structures read the same way as the top level. Malformed values become the
 * error each service answers with: EC2 `InvalidParameterValue` / `MissingParameter`, Auto Scaling
 * `ValidationError`.
 */
export class QueryParams {
  private constructor(
    private readonly map: ReadonlyMap<string, string>,
    readonly style: ListStyle,
    private readonly base: string,
  ) {}

  /** Parses a form-encoded body or query string (`+` is a space, as in HTML forms). */
  static parse(body: string, style: ListStyle): QueryParams {
    const map = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(body)) map.set(k, v);
    return new QueryParams(map, style, '');
  }

  static fromEntries(entries: Iterable<readonly [string, string]>, style: ListStyle): QueryParams {
    return new QueryParams(new Map(entries), style, '');
  }

  /** Every raw parameter (for logs and errors). */
  entries(): [string, string][] {
    return [...this.map].filter(([k]) => k.startsWith(this.base)).map(([k, v]) => [k.slice(this.base.length), v]);
  }

  withStyle(style: ListStyle): QueryParams {
    return new QueryParams(this.map, style, this.base);
  }

  has(name: string): boolean {
    return this.map.has(this.base + name) || this.sub(name) !== undefined;
  }

  str(name: string): string | undefined {
    return this.map.get(this.base + name);
  }

  required(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw this.missing(name);
    return v;
  }

  int(name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === '') return undefined;
    if (!/^-?\d+$/.test(raw.trim())) throw this.invalid(name, raw, 'Member must be an integer');
    const n = Number(raw.trim());
    if (bounds.min !== undefined && n < bounds.min) {
      throw this.invalid(name, raw, `Member must have value greater than or equal to ${bounds.min}`);
    }
    if (bounds.max !== undefined && n > bounds.max) {
      throw this.invalid(name, raw, `Member must have value less than or equal to ${bounds.max}`);
    }
    return n;
  }

  requiredInt(name: string, bounds: { min?: number; max?: number } = {}): number {
    const n = this.int(name, bounds);
    if (n === undefined) throw this.missing(name);
    return n;
  }

  /** A decimal (Auto Scaling's MetricValue, step bounds). */
  num(name: string): number | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw this.invalid(name, raw, 'Member must be a number');
    return n;
  }

  bool(name: string): boolean | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === '') return undefined;
    const lower = raw.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    throw this.invalid(name, raw, 'Member must be a boolean');
  }

  /** An ISO 8601 timestamp (the SDK and the CLI both send `2020-01-21T14:00:00Z`), as epoch ms. */
  time(name: string): number | undefined {
    const raw = this.str(name);
    if (raw === undefined || raw === '') return undefined;
    const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
    if (!Number.isFinite(ms)) throw this.invalid(name, raw, 'Member must be a timestamp');
    return Math.floor(ms);
  }

  /** The indexes present under `name` (`Name.1`, `Name.3` → [1, 3]), in order, bounded. */
  private indexes(name: string): number[] {
    const prefix = this.listPrefix(name);
    const seen = new Set<number>();
    for (const key of this.map.keys()) {
      if (!key.startsWith(prefix)) continue;
      const m = /^(\d+)(?:\.|$)/.exec(key.slice(prefix.length));
      if (m !== null) seen.add(Number(m[1]));
    }
    if (seen.size > MAX_LIST_ITEMS) throw this.invalid(name, `${seen.size} items`, `Member must have at most ${MAX_LIST_ITEMS} items`);
    return [...seen].sort((a, b) => a - b);
  }

  private listPrefix(name: string): string {
    return this.style === 'member' ? `${this.base}${name}.member.` : `${this.base}${name}.`;
  }

  /** A list of strings (`InstanceId.N` or `InstanceIds.member.N`). */
  list(name: string): string[] {
    const prefix = this.listPrefix(name);
    const out: string[] = [];
    for (const i of this.indexes(name)) {
      const v = this.map.get(prefix + i);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** A list of structures, each read through its own scoped view. */
  structs(name: string): QueryParams[] {
    const prefix = this.listPrefix(name);
    return this.indexes(name).map((i) => new QueryParams(this.map, this.style, `${prefix}${i}.`));
  }

  /** A nested structure (`Ebs.` of a block device mapping), or undefined when none of its members is set. */
  sub(name: string): QueryParams | undefined {
    const prefix = `${this.base}${name}.`;
    for (const key of this.map.keys()) if (key.startsWith(prefix)) return new QueryParams(this.map, this.style, prefix);
    return undefined;
  }

  /** `Filter.N.Name` + `Filter.N.Value.M` (EC2) or `Filters.member.N.Values.member.M` (Auto Scaling). */
  filters(name = this.style === 'member' ? 'Filters' : 'Filter'): Filter[] {
    const valuesName = this.style === 'member' ? 'Values' : 'Value';
    return this.structs(name).map((f) => ({ name: f.required('Name'), values: f.list(valuesName) }));
  }

  private fullName(name: string): string {
    return this.base + name;
  }

  missing(name: string): AwsApiError {
    if (this.style === 'member') {
      return new AwsApiError(
        'ValidationError',
        `1 validation error detected: Value null at '${lowerFirst(this.fullName(name))}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return new AwsApiError('MissingParameter', `The request must contain the parameter ${this.fullName(name)}`);
  }

  invalid(name: string, value: string, constraint: string): AwsApiError {
    if (this.style === 'member') {
      return new AwsApiError(
        'ValidationError',
        `1 validation error detected: Value '${value}' at '${lowerFirst(this.fullName(name))}' failed to satisfy constraint: ${constraint}`,
      );
    }
    return new AwsApiError('InvalidParameterValue', `Invalid value '${value}' for ${this.fullName(name)}. ${constraint}`);
  }
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1);
}
