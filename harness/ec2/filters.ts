import { AwsApiError } from './errors.ts';

/** One `Filter.N` of a Describe call: a name and the values any of which may match. */
export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/**
 * Compiles an EC2 filter value to a whole-string regular expression. As EC2 documents it: `*` matches zero or
 * more characters, `?` exactly one, and a backslash escapes either (`\*`, `\?`, `\\`). Matching is
 * case-sensitive.
 */
export function wildcardToRegExp(pattern: string): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1]!)) {
      src += escapeRegExp(pattern[++i]!);
    } else if (c === '*') {
      src += '[\\s\\S]*';
    } else if (c === '?') {
      src += '[\\s\\S]';
    } else {
      src += escapeRegExp(c);
    }
  }
  return new RegExp(`^${src}$`, 'u');
}

function escapeRegExp(c: string): string {
  // Only the syntax characters: in a `u` regular expression escaping anything else (`\-`, `\/`) is an error.
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `value` matches the EC2 wildcard `pattern`. */
export function matchesWildcard(value: string, pattern: string): boolean {
  return wildcardToRegExp(pattern).test(value);
}

/** What a filter name reads from a resource: one value, several (any may match), or none. */
export type FilterField<T> = (item: T) => string | readonly string[] | undefined;

/** The filters a resource type supports, by name; `tag:<key>`, `tag-key` and `tag-value` come from `tags`. */
export interface FilterTable<T> {
  readonly resource: string;
  readonly fields: Readonly<Record<string, FilterField<T>>>;
  readonly tags?: (item: T) => ReadonlyMap<string, string>;
}

/** Throws `InvalidParameterValue` for a filter the resource type does not know, as EC2 does. */
export function checkFilters<T>(filters: readonly Filter[], table: FilterTable<T>): void {
  for (const f of filters) {
    const known =
      Object.hasOwn(table.fields, f.name) ||
      (table.tags !== undefined && (f.name.startsWith('tag:') || f.name === 'tag-key' || f.name === 'tag-value'));
    if (!known) throw new AwsApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    if (f.values.length === 0) {
      throw new AwsApiError('InvalidParameterValue', `The filter '${f.name}' requires at least one value`);
    }
  }
}

/** Values of one filter name for one item. */
function fieldValues<T>(item: T, name: string, table: FilterTable<T>): readonly string[] {
  if (table.tags !== undefined) {
    const tags = table.tags(item);
    if (name.startsWith('tag:')) {
      const v = tags.get(name.slice(4));
      return v === undefined ? [] : [v];
    }
    if (name === 'tag-key') return [...tags.keys()];
    if (name === 'tag-value') return [...tags.values()];
  }
  const field = table.fields[name];
  if (field === undefined) return [];
  const v = field(item);
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** Filters AND together; the values of one filter OR together; each value may hold wildcards. */
export function matchesFilters<T>(item: T, filters: readonly Filter[], table: FilterTable<T>): boolean {
  return filters.every((f) => {
    const have = fieldValues(item, f.name, table);
    return f.values.some((pattern) => {
      const re = wildcardToRegExp(pattern);
      return have.some((v) => re.test(v));
    });
  });
}

/** Checks the filter names, then keeps the items every filter matches. */
export function applyFilters<T>(items: Iterable<T>, filters: readonly Filter[], table: FilterTable<T>): T[] {
  checkFilters(filters, table);
  const out: T[] = [];
  for (const item of items) if (matchesFilters(item, filters, table)) out.push(item);
  return out;
}
