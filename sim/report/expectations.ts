import { parseDurationMs } from '../util/duration.ts';
import { getPath, isDurationMetric, leafPaths, normalizePath } from './paths.ts';
import type { ExpectationResult } from './types.ts';

/**
 * The `expect` part of a scenario, checked against a finished run's report.
 *
 * An expectation that cannot be checked (a path that does not exist, a word where a number is needed) fails
 * with an `error` rather than throwing: scenario outcomes are data, and the report must still be written.
 */

export type ExpectationOp = ExpectationResult['op'];
export type ExpectedValue = ExpectationResult['expected'];

/** One settled `expect` entry: `{ metric: builds.lost, max: 0 }` becomes `{ metric, op: 'max', expected: 0 }`. */
export interface Expectation {
  metric: string;
  op: ExpectationOp;
  expected: ExpectedValue;
}

/** Fields whose value depends on the expectations themselves; naming them in `expect` is circular. */
export const SELF_REFERENTIAL = ['passed', 'expectations'];

/** Checks every expectation against a report, in order. */
export function evaluateExpectations(report: object, expectations: readonly Expectation[]): ExpectationResult[] {
  return expectations.map((expectation) => evaluateExpectation(report, expectation));
}

/**
 * Checks one expectation: `max` passes when actual ≤ expected, `min` when actual ≥ expected, `equals` on
 * strict equality (numbers exactly). For `*_ms` metrics a duration text (`1s`, `5m`) stands for its ms.
 */
export function evaluateExpectation(report: object, expectation: Expectation): ExpectationResult {
  const { metric, op, expected } = expectation;
  const fail = (actual: ExpectedValue, error: string): ExpectationResult => ({ metric, op, expected, actual, passed: false, error });

  const root = normalizePath(metric).split('.')[0] ?? '';
  if (SELF_REFERENTIAL.includes(root)) {
    return fail(null, `\`${metric}\` is decided by the expectations themselves; name a measured field instead`);
  }

  const lookup = getPath(report, metric);
  if (!lookup.found) return fail(null, lookup.error);
  const actual = lookup.value;
  if (!isScalar(actual)) {
    const fields = leafPaths(actual).slice(0, 3).map((leaf) => `\`${normalizePath(metric)}.${leaf}\``);
    const example = fields.length > 0 ? ` such as ${fields.join(', ')}` : '';
    return fail(null, `\`${metric}\` is ${Array.isArray(actual) ? 'a list' : 'a group of fields'}, not a value: name one of its fields${example}`);
  }

  const bound = expectedNumber(metric, expected);
  if (op === 'equals') {
    const passed = typeof actual === 'number' && bound.ok ? actual === bound.value : actual === expected;
    return { metric, op, expected, actual, passed };
  }

  if (typeof actual !== 'number' || Number.isNaN(actual)) {
    return fail(actual, `\`${metric}\` is ${describe(actual)}, not a number: use \`equals\` for it, not \`${op}\``);
  }
  if (!bound.ok) return fail(actual, bound.error);
  const passed = op === 'max' ? actual <= bound.value : actual >= bound.value;
  return { metric, op, expected, actual, passed };
}

type Bound = { ok: true; value: number } | { ok: false; error: string };

/** The expected value as a number: itself, or a duration text in ms for `*_ms` metrics. */
function expectedNumber(metric: string, expected: ExpectedValue): Bound {
  if (typeof expected === 'number') {
    return Number.isNaN(expected) ? { ok: false, error: 'the expected value is NaN' } : { ok: true, value: expected };
  }
  if (typeof expected === 'string' && isDurationMetric(metric)) {
    try {
      return { ok: true, value: parseDurationMs(expected) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }
  const durations = isDurationMetric(metric) ? ' or a duration such as 1s' : '';
  return { ok: false, error: `a bound must be a number${durations}, got ${describe(expected)}` };
}

function isScalar(value: unknown): value is ExpectedValue {
  return value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

function describe(value: ExpectedValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return `${typeof value === 'boolean' ? 'the boolean' : 'the number'} ${String(value)}`;
}

/** The comparison in symbols, for messages and tables: `≤ 0`, `≥ 10`, `= severe`. */
export function comparisonText(op: ExpectationOp, expected: ExpectedValue): string {
  const symbol = op === 'max' ? '≤' : op === 'min' ? '≥' : '=';
  return `${symbol} ${valueText(expected)}`;
}

/** A scalar as a person would write it in a scenario file: numbers and words bare, `null` for null. */
export function valueText(value: ExpectedValue): string {
  return value === null ? 'null' : String(value);
}
