import { describe, expect, it } from 'vitest';
import { FOLLOW_BACKLOG_LINES, MAX_KEPT_LINES, SERVICE_LOG_RING_LINES, ServiceLogs, stampOfEpoch } from './service-logs.ts';
import { ServiceLog } from './service-logs-writer.ts';
import { LOG_LINES, serviceStamp } from '../../sim/symptoms/log-lines.ts';
import { serviceLogTime, virtualStamp } from '../../sim/symptoms/clock-text.ts';

/** 9 January 2026 19:32:33.629 UTC: the seeds' `Jan 9 19:32:33.629:+0000 INFO picard-dispatcher.init Still running...`. */
const SEEDS_MS = Date.UTC(2026, 0, 9, 19, 32, 33, 629);

describe('the live services\' logs', () => {
  it('print a line as the seeds show it, with the same prefix the simulation uses', () => {
    const logs = new ServiceLogs();
    logs.write('picard-dispatcher', LOG_LINES.stillRunning, SEEDS_MS);
    expect(logs.logs('picard-dispatcher')).toEqual(['Jan 9 19:32:33.629:+0000 INFO picard-dispatcher.init Still running...']);
    // The simulation's virtual 0 is Monday 5 January 08:00 UTC: the same instant prints the same prefix.
    expect(serviceStamp(stampOfEpoch(Date.UTC(2026, 0, 5, 9, 40, 12, 345)))).toBe(serviceLogTime(100 * 60_000 + 12_345));
    logs.write('exim', 'Completed', SEEDS_MS);
    expect(logs.logs('exim')).toEqual(['2026-01-09 19:32:33 Completed']);
  });

  it('keep each container\'s last lines in a ring of its own, oldest first, and cut to --tail', () => {
    const logs = new ServiceLogs({ capacity: 3 });
    for (let i = 1; i <= 5; i++) logs.write('schedulerer', `line ${i}`, SEEDS_MS + i);
    logs.write('frontend', 'other', SEEDS_MS);
    expect(logs.logs('schedulerer').map((l) => l.slice(-6))).toEqual(['line 3', 'line 4', 'line 5']);
    expect(logs.logs('schedulerer', { tail: 2 }).map((l) => l.slice(-6))).toEqual(['line 4', 'line 5']);
    expect(logs.logs('schedulerer', { tail: 0 })).toEqual([]);
    expect(logs.logs('schedulerer', { tail: 10 })).toHaveLength(3);
    expect(logs.logs('frontend')).toHaveLength(1);
    expect(logs.logs('nobody-wrote')).toEqual([]);
  });

  it('hold SERVICE_LOG_RING_LINES lines by default, and refuse a --tail that is not a count', () => {
    const logs = new ServiceLogs();
    for (let i = 0; i <= SERVICE_LOG_RING_LINES; i++) logs.write('frontend', `n${i}`, SEEDS_MS);
    const all = logs.logs('frontend');
    expect(all).toHaveLength(SERVICE_LOG_RING_LINES);
    expect(all[0]!.endsWith(' n1')).toBe(true);
    expect(() => logs.logs('frontend', { tail: -1 })).toThrow(/--tail/);
    expect(() => logs.logs('frontend', { tail: 1.5 })).toThrow(/--tail/);
    expect(() => new ServiceLogs({ capacity: 0 })).toThrow(/capacity/);
  });

  it('keep apart the lines a run\'s symptoms read, out of a turned-over ring\'s reach, up to MAX_KEPT_LINES', () => {
    const logs = new ServiceLogs({ capacity: 2, keep: (t) => t.startsWith('ERROR') });
    logs.write('picard-dispatcher', 'ERROR one', SEEDS_MS);
    for (let i = 0; i < 5; i++) logs.write('picard-dispatcher', 'INFO busy', SEEDS_MS + i);
    logs.write('schedulerer', 'ERROR two', SEEDS_MS + 9);
    expect(logs.logs('picard-dispatcher').some((l) => l.includes('ERROR one'))).toBe(false);
    expect(logs.kept().map((k) => [k.container, k.entry.text, k.entry.atEpochMs])).toEqual([['picard-dispatcher', 'ERROR one', SEEDS_MS], ['schedulerer', 'ERROR two', SEEDS_MS + 9]]);
    const full = new ServiceLogs({ keep: () => true });
    for (let i = 0; i <= MAX_KEPT_LINES; i++) full.write(`c${i % 7}`, 'x', SEEDS_MS);
    expect(full.kept()).toHaveLength(MAX_KEPT_LINES);
    expect(full.keptDropped).toBe(1);
    expect(new ServiceLogs().kept()).toEqual([]);
  });

  it('follow: every line written after it began, until aborted; a reader that does not read keeps the newest', async () => {
    const logs = new ServiceLogs();
    logs.write('frontend', 'before', SEEDS_MS);
    const stop = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const l of logs.follow('frontend', stop.signal)) {
        seen.push(l.slice(-5));
        if (seen.length === 2) stop.abort();
      }
    })();
    logs.write('schedulerer', 'not mine', SEEDS_MS);
    logs.write('frontend', 'one 1', SEEDS_MS);
    logs.write('frontend', 'two 2', SEEDS_MS);
    await reading;
    expect(seen).toEqual(['one 1', 'two 2']);

    const slow = logs.follow('frontend');
    const first = slow.next();
    for (let i = 0; i < FOLLOW_BACKLOG_LINES + 5; i++) logs.write('frontend', `b${i}`, SEEDS_MS);
    // Written before the reader ran again: b0 .. b4 dropped, the newest FOLLOW_BACKLOG_LINES waiting.
    expect((await first).value).toMatch(/ b5$/);
    expect((await slow.next()).value).toMatch(/ b6$/);
    await slow.return();
  });
});

describe('a live service\'s own log', () => {
  it('says a dependency it cannot reach at once, then once per interval while it stays unreachable, and at once after it was reached', () => {
    let now = 0;
    const lines: [string, number][] = [];
    const log = new ServiceLog('picard-dispatcher', (text, at) => lines.push([text, at]), 60_000, () => now);
    for (now = 0; now <= 150_000; now += 250) log.cannotReach('rabbitmq');
    expect(lines).toEqual([0, 60_000, 120_000].map((t) => [LOG_LINES.cannotReach('picard-dispatcher', 'rabbitmq'), t]));
    log.reached('rabbitmq');
    now = 150_250;
    log.cannotReach('rabbitmq');
    log.cannotReach('redis');
    expect(lines.slice(3).map(([t]) => t)).toEqual(['ERROR picard-dispatcher.deps cannot reach rabbitmq: connection refused, retrying', 'ERROR picard-dispatcher.deps cannot reach redis: connection refused, retrying']);
  });
});

describe('the live services\' logs on an installation\'s clock', () => {
  it('print every line, those written before too and those followed, at the clock given (a drill\'s installation time, not the wall\'s)', async () => {
    const logs = new ServiceLogs();
    logs.write('picard-dispatcher', LOG_LINES.stillRunning, SEEDS_MS);
    logs.write('exim', 'Completed', SEEDS_MS);
    // An installation started at virtual 40 min (Jan 5 08:40) at 60×, from the wall instant SEEDS_MS.
    logs.useClock((epochMs) => virtualStamp(40 * 60_000 + (epochMs - SEEDS_MS) * 60));
    expect(logs.logs('picard-dispatcher')).toEqual(['Jan 5 08:40:00.000:+0000 INFO picard-dispatcher.init Still running...']);
    expect(logs.logs('exim')).toEqual(['2026-01-05 08:40:00 Completed']);
    const abort = new AbortController();
    const followed = logs.follow('picard-dispatcher', abort.signal);
    const next = followed.next();
    // Two wall seconds later: two minutes of the installation's time.
    logs.write('picard-dispatcher', LOG_LINES.taking('gh/twin/app/7'), SEEDS_MS + 2_000);
    expect((await next).value).toBe('Jan 5 08:42:00.000:+0000 INFO picard-dispatcher.core taking build=gh/twin/app/7');
    abort.abort();
    await followed.next();
    // Read again, the ring prints the line at the same clock.
    expect(logs.logs('picard-dispatcher', { tail: 1 })[0]).toMatch(/^Jan 5 08:42:00\.000/);
  });
});
