import { isoStamp, serviceStamp, type LogStamp } from './log-lines.ts';

/**
 * Virtual time as the Services machine's logs and `docker ps` print it. Virtual 0 is Monday 5 January, 08:00:00
 * UTC (a working morning, and a Monday as the diurnal arrivals assume); the machine booted `BOOTED_BEFORE_MS`
 * earlier, so every container reads "26 hours" old at virtual 0, as in the seeds' `docker ps` listing.
 */
export const EPOCH_DAY = 5;
export const EPOCH_HOUR = 8;
export const BOOTED_BEFORE_MS = 26 * 3_600_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** The wall-clock parts of a virtual instant (no Date: sim/ is pure). */
export function clockParts(virtualMs: number): { day: number; hour: number; minute: number; second: number; ms: number } {
  const t = Math.max(0, virtualMs) + EPOCH_HOUR * 3_600_000;
  const day = EPOCH_DAY + Math.floor(t / 86_400_000);
  const inDay = t % 86_400_000;
  return { day, hour: Math.floor(inDay / 3_600_000), minute: Math.floor((inDay % 3_600_000) / 60_000), second: Math.floor((inDay % 60_000) / 1000), ms: inDay % 1000 };
}

/** The log stamp of a virtual instant (January 2026; a run past the month keeps counting its days). */
export function virtualStamp(virtualMs: number): LogStamp {
  return { year: 2026, month: 0, ...clockParts(virtualMs) };
}

/** `Jan 5 09:40:12.345:+0000`: the CircleCI services' log prefix (the seeds' dispatcher and picard-dispatcher lines). */
export function serviceLogTime(virtualMs: number): string {
  return serviceStamp(virtualStamp(virtualMs));
}

/** `2026-01-05 09:40:12`: exim's main log and Nomad's prefix. */
export function isoLogTime(virtualMs: number, sep = '-'): string {
  return isoStamp(virtualStamp(virtualMs), sep);
}

/** `HH:MM` of a virtual instant (tickets, transcripts). */
export function clockTime(virtualMs: number): string {
  const c = clockParts(virtualMs);
  return `${pad(c.hour)}:${pad(c.minute)}`;
}

/**
 * A span as Docker words it (`units.HumanDuration`): "Less than a second", "5 seconds", "About a minute",
 * "12 minutes", "About an hour", "26 hours", "3 days", "2 weeks".
 */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  return `${Math.floor(h / 24 / 7)} weeks`;
}
