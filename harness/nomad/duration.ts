/**
 * Nomad's `?wait=` values and the blocking-query time limits.
 *
 * Nomad reads `wait` with Go's `time.ParseDuration` ("10s", "1m", "1.5h", "1m30s", "250ms") and bounds the
 * time a query may block: no wait (or a non-positive one) means the default, anything longer than the
 * maximum is cut to it (`structs.MaxBlockingRPCQueryTime` and `DefaultBlockingRPCQueryTime`, both 300 s). It then
 * adds up to wait/16 of jitter so that many waiting clients do not wake up together.
 */

/** The longest a blocking query may wait (Nomad's `MaxBlockingRPCQueryTime`). */
export const MAX_BLOCKING_QUERY_MS = 300_000;
/** How long a blocking query waits when the request names no `wait` (Nomad's `DefaultBlockingRPCQueryTime`). */
export const DEFAULT_BLOCKING_QUERY_MS = 300_000;
/** The jitter Nomad adds is at most wait / JITTER_FRACTION. */
export const JITTER_FRACTION = 16;

/** Nanoseconds per unit, as Go's `time` package names them (µ in both of its Unicode spellings). */
const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3,
  '\u03bcs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A duration Go's `time.ParseDuration` would reject, with the reason. */
export class DurationSyntaxError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`time: invalid duration "${input}": ${reason}`);
    this.name = 'DurationSyntaxError';
  }
}

/**
 * Parses a Go duration string into milliseconds (fractional below 1 ms), as `time.ParseDuration` does:
 * an optional sign, then one or more decimal numbers each followed by a unit (`ns`, `us`/`µs`, `ms`, `s`,
 * `m`, `h`); a bare `0` is allowed. Throws `DurationSyntaxError` for anything else.
 */
export function parseGoDuration(input: string): number {
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationSyntaxError(input, 'empty');
  let totalNs = 0;
  // Each loop consumes one "<number><unit>" pair; the input is bounded, so is the loop.
  const pair = /^(\d*)(?:\.(\d*))?([a-zA-Z\u00b5\u03bc]+)/;
  for (let guard = 0; s.length > 0; guard++) {
    if (guard > input.length) throw new DurationSyntaxError(input, 'malformed');
    const m = pair.exec(s);
    if (m === null) throw new DurationSyntaxError(input, s[0] !== undefined && /[0-9.]/.test(s[0]) ? 'missing unit' : 'malformed');
    const whole = m[1] ?? '';
    const frac = m[2];
    const unit = m[3] ?? '';
    if (whole === '' && (frac === undefined || frac === '')) throw new DurationSyntaxError(input, 'missing number');
    const factor = UNIT_NS[unit];
    if (factor === undefined) throw new DurationSyntaxError(input, `unknown unit "${unit}"`);
    const value = Number(`${whole === '' ? '0' : whole}.${frac ?? '0'}`);
    totalNs += value * factor;
    s = s.slice(m[0].length);
  }
  if (!Number.isFinite(totalNs)) throw new DurationSyntaxError(input, 'overflow');
  return (sign * totalNs) / 1e6;
}

/**
 * The time a blocking query may wait, from the request's `wait` (already parsed, in ms; undefined when
 * absent): the default when absent or not positive, else the value cut to the maximum, rounded up to whole ms.
 */
export function blockingWaitMs(requestedMs: number | undefined): number {
  if (requestedMs === undefined || !(requestedMs > 0)) return DEFAULT_BLOCKING_QUERY_MS;
  return Math.min(MAX_BLOCKING_QUERY_MS, Math.ceil(requestedMs));
}

/** The jitter Nomad adds to a wait: up to wait/16, from a draw `u` in [0, 1). */
export function waitJitterMs(waitMs: number, u: number): number {
  return Math.floor((waitMs / JITTER_FRACTION) * u);
}

/** Formats milliseconds the way Go prints a `time.Duration` for whole seconds and minutes ("1m30s", "250ms"). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const totalS = ms / 1000;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS - h * 3600 - m * 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
}
