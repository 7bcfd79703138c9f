/**
 * Duration text as scenario files write it: `250ms`, `90s`, `15m`, `4h`, `2d`, compounds such as `1h10m` or
 * `1h 10m 30s`, decimals that land on a whole millisecond (`1.5h`), and bare integers meaning milliseconds.
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** Largest first: compounds must name each unit at most once, in this order (`1h10m`, not `10m1h`). */
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

/** Fraction digits accepted; six keep `fraction × unit` well inside the safe-integer range. */
const MAX_FRACTION_DIGITS = 6;

const COMPONENT = /(\d+)(?:\.(\d+))?\s*(ms|s|m|h|d)\s*/y;

const EXAMPLES = 'use forms such as 250ms, 90s, 15m, 4h, 2d, 1h10m or a whole number of milliseconds';

/**
 * Parses a duration into integer milliseconds.
 *
 * Throws a `RangeError` that quotes the text and says what was wrong, because the callers (the scenario
 * loader, the trace parser) pass the message on to the user with their own file, line and field.
 */
export function parseDurationMs(text: string): number {
  const source = text.trim();
  if (source === '') throw new RangeError(`empty duration: ${EXAMPLES}`);
  if (/^\d+$/.test(source)) {
    const ms = Number(source);
    if (!Number.isSafeInteger(ms)) throw new RangeError(`duration "${text}" is too large`);
    return ms;
  }
  if (source.startsWith('-')) throw new RangeError(`duration "${text}" is negative: durations are never below 0`);

  let total = 0;
  let lastRank = -1;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < source.length) {
    const at = COMPONENT.lastIndex;
    const match = COMPONENT.exec(source);
    if (match === null) {
      throw new RangeError(`duration "${text}" is not understood at "${source.slice(at)}": ${EXAMPLES}`);
    }
    const [, whole = '', fraction = '', unitText = ''] = match;
    const unit = unitText as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) {
      throw new RangeError(
        `duration "${text}" repeats or misorders the unit "${unit}": write each unit once, largest first (1h10m30s)`,
      );
    }
    lastRank = rank;
    total += componentMs(text, whole, fraction, UNIT_MS[unit]);
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`duration "${text}" is too large`);
  return total;
}

function componentMs(text: string, whole: string, fraction: string, unitMs: number): number {
  const wholeMs = Number(whole) * unitMs;
  if (fraction === '') return wholeMs;
  if (fraction.length > MAX_FRACTION_DIGITS) {
    throw new RangeError(`duration "${text}" has more than ${MAX_FRACTION_DIGITS} decimal places`);
  }
  // Integer arithmetic on the digits, so that `1.15s` is exactly 1150 ms and not 1149.9999999999998.
  const scale = 10 ** fraction.length;
  const scaled = Number(fraction) * unitMs;
  if (scaled % scale !== 0) {
    throw new RangeError(`duration "${text}" is not a whole number of milliseconds`);
  }
  return wholeMs + scaled / scale;
}

/**
 * Formats integer milliseconds as the shortest compound text (`4_200_000` → `1h10m`, `0` → `0ms`).
 *
 * The output always parses back to the same number, so reports can print durations that users paste into
 * scenario files.
 */
export function formatDurationMs(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`formatDurationMs needs a non-negative integer number of ms, got ${ms}`);
  }
  if (ms === 0) return '0ms';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
